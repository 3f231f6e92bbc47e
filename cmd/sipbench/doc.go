// Command sipbench is sipfront's load generator and test back end:
//
//	sipbench uac   -target IP:PORT [-rate N] [-duration D] [-count N] [-flows call=1,register=0,options=0] ...
//	sipbench uas   -listen IP:PORT [-listen ...] [-delay D] [-fail F] [-drop F] ...
//	sipbench flood -target IP:PORT -rate PPS [-sources N] [-kind junk|malformed|scan|register|invite|mix] ...
//	sipbench relay -listen IP:PORT -backends IP:PORT,... (a forwarder without SIP parsing: the benchmark floor)
//
// `uac` places calls (INVITE → 100/180/200 → ACK → hold → BYE → 200) and
// REGISTER and OPTIONS transactions at a target rate, retransmits on RFC 3261
// timers, and ends with a JSON summary on stdout (outcomes, status codes,
// retransmissions, latency percentiles). `uas` answers those flows, optionally
// late, with failures or not at all. `flood` sends unwanted traffic from many
// loopback source addresses. `relay` forwards datagrams between clients and
// back ends without reading them.
//
// Everything is built on lb/sock's recvmmsg/sendmmsg batches and the zero-copy
// parser, so one core of sipbench outpaces one core of the proxy under test.
// flood accepts only loopback targets, and 10.0.0.0/8 ones when it runs in a
// network namespace other than the host's (a flood across a veth pair between
// two namespaces made for the test, as bench/ does for the XDP filter); run
// every mode on loopback or in a private network namespace.
//
// Memory: every worker allocates its sockets, batches, call or answer table
// and timing wheel at start; the per-message path (parse, match, write,
// retransmit) allocates nothing (TestUACCallAllocs, TestUASCallAllocs). A
// received message is only valid until the worker's next read: what a call
// needs later (To tag, remote target, route set, a final answer to
// retransmit) is copied into fixed slots of those tables.
package main
