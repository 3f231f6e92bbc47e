//go:build linux

// Package sock is the batched UDP socket layer shared by the proxy (lb) and the
// load generator (cmd/sipbench).
//
// A [Conn] is one UDP socket, usually one of several bound to the same address
// with SO_REUSEPORT so the kernel spreads datagrams over one worker goroutine per
// core. A [Batch] is a fixed array of message slots with the kernel structures
// (mmsghdr, iovec, sockaddr and control buffers) preallocated behind it.
// [Conn.ReadBatch] fills slots with one recvmmsg; [Conn.WriteBatch] sends slots
// with sendmmsg, retrying after a partial send and skipping (and recording) a
// message the kernel refuses instead of giving up on the rest of the batch.
//
// With [Options.PktInfo] every received datagram carries the local address it
// arrived on ([Msg.Local]); setting that same address on an outgoing message
// makes the reply leave from it, which matters when listening on 0.0.0.0 or [::]
// on a host with several addresses. With [Options.RecvErr] ICMP errors (port or
// host unreachable) are read from the socket's error queue and reported per
// destination through [Options.OnICMP]; without it the kernel drops them
// silently for an unconnected socket.
//
// Addresses are [netip.AddrPort] values. IPv4 traffic on a dual-stack IPv6
// socket comes out as plain IPv4 (unmapped), so callers compare addresses with
// ==. Zones are not used: the interface of a link-local peer travels in
// [Msg.IfIndex].
//
// The data-path system calls (recvmmsg, recvmsg, recvfrom, sendmmsg, sendmsg,
// sendto) are made with RawSyscall, without telling the Go scheduler: the
// socket is non-blocking, so each call returns in microseconds (EAGAIN when
// there is nothing to read or no room), and a blocking wait happens only in
// the netpoller. The scheduler's bookkeeping around an ordinary Syscall (the
// P handed off when the call outlasts a sysmon tick, sysmon woken from its
// sleep, the P taken back afterwards) cost more than the calls on a busy host:
// sipfront's CPU per call under load fell by about a fifth without it.
//
// What the package never does:
//   - It knows nothing about SIP or any payload format.
//   - It starts no goroutine. Blocking happens in the caller's goroutine, parked
//     on the Go netpoller; [Conn.Close] wakes it with [net.ErrClosed].
//   - It allocates nothing after setup: [ListenUDP] and [NewBatch] allocate,
//     ReadBatch, WriteBatch and WriteTo do not (proved by the AllocsPerRun tests).
//     Only their rare unexpected-error paths build an error value.
//
// Who owns memory: a Batch owns its slot buffers and kernel structures; the
// caller owns the Batch and must not use it in two calls at once. The bytes of a
// received message, Msgs[i].Buf[:N], stay valid until the next ReadBatch into the
// same Batch (the kernel overwrites them); copy what must live longer. A Conn
// keeps no reference to a Batch or to a WriteTo buffer after the call returns.
// One Conn may be used from several goroutines: reads are serialised with one
// another, and writes with one another.
//
// Linux only: recvmmsg, sendmmsg, IP_PKTINFO and MSG_ERRQUEUE are Linux
// interfaces (golang.org/x/sys/unix provides the constants and structures).
package sock
