// Package lb is sipfront's proxy engine: it wires the sockets (lb/sock), the
// parser, the destination table (dispatcher) and, later, health probing, the
// flood filter and the control API into a stateless SIP load balancer.
//
// The data path of one UDP datagram (DESIGN.md): a worker goroutine per core
// reads a batch with recvmmsg on its own SO_REUSEPORT socket; proc.handle
// parses each datagram in place, checks it (version, syntax, Max-Forwards,
// loops, Proxy-Require), routes it (our Route and its cookie, loose routing,
// or a pick from the destination set), rewrites it with a parser.Editor into
// the worker's send slot, and the batch leaves with one sendmmsg. Responses
// are checked against the branch MAC in our Via and sent to the next Via.
//
// What it never does per message: allocate, take a lock, use a map, send on a
// channel, start a goroutine, call through an interface, format with fmt, or
// keep state about a call. Everything a message needs lives in the worker's
// proc, reused for the next message.
//
// Memory: received datagrams live in the worker's receive batch until the
// next read; the outgoing bytes are written into the worker's send batch.
// Nothing from a message outlives the batch it arrived in.
package lb
