// Package health is sipfront's destination prober: it sends SIP OPTIONS
// keepalives to every destination of the dispatcher's current table, watches
// the real traffic for signs of a dead or overloaded back end, and takes
// destinations out and puts them back through dispatcher.Dest.Transition,
// which logs every change once with its reason.
//
// # Active probing
//
// One goroutine per Prober probes each destination address every Interval
// (shortened at random by up to Jitter, never lengthened), one probe in
// flight per address, from the engine's listening socket (Sender). The
// engine hands back the responses whose top Via branch starts with
// BranchPrefix (Deliver). A probe succeeds on any 2xx or a code of
// AcceptCodes; it fails on any other final reply, on Timeout, on an ICMP
// unreachable while it is out, or when it cannot be sent.
//
//   - FailThreshold failures in a row make a destination inactive; the
//     first ones make it trying (still used), and each failure is retried at
//     once, so a destination that dies is out within Interval +
//     FailThreshold×Timeout, which is two intervals with the default
//     Timeout (at most Interval/2) and threshold.
//   - OKThreshold successes in a row, one per interval, make an inactive
//     destination active again; a success clears trying at once.
//   - Each reply's round trip feeds Runtime.LatencyEWMA and LatencyMax (see
//     latency for the averaging and the window), which dispatcher's
//     algorithm 13 reads.
//   - Mode ProbeAll (the default) probes every destination and sets its
//     Probing bit, so FLAGS read "AP" and "IP" as in Kamailio; ProbeFlagged
//     probes only destinations that carry it.
//   - Destinations sharing an address (one back end in several sets) are
//     probed once; each follows the outcome with its own counters.
//   - Every destination is probed over its own transport: the engine sends
//     UDP probes from its UDP listener and TCP/TLS probes over its
//     connection to the back end (a connection that cannot be made fails
//     the probe, through NoteUnreachable).
//
// # Passive detection
//
//   - A 503 with Retry-After on real traffic (NoteReply) or on a probe
//     takes the destination out at once, reason "reply 503 Retry-After N",
//     for min(N, RetryAfterCap), without probing it meanwhile; then it is
//     probed, and one accepted reply brings it back.
//   - Requests sent to a destination (NoteSent) with no response from it
//     (NoteReply) for longer than Timeout, or an ICMP unreachable for it
//     (NoteUnreachable), mark it trying and probe it at once. Passive
//     evidence never takes a destination out by itself: only failed probes
//     do, so one lost packet or a stray ICMP error cannot. The silence alarm
//     arms only for a destination seen answering traffic, and re-arms only
//     after it answers again.
//
// # The operator's word
//
// A disabled destination (dispatcher.set_state "d", list flag 4) is neither
// probed nor changed by any probe or passive signal. Draining is never set
// or cleared by the prober: a draining destination is probed, may become
// inactive and active again, and stays draining until the operator says
// otherwise. Inactive, trying and active set by the operator are starting
// points that the next probes move, as in Kamailio. SetPingActive(0)
// (Kamailio's dispatcher.ping_active) pauses probing without touching any
// state.
//
// # Reloads
//
// The prober follows dispatcher.Current: at every wake (at least every
// Timeout/2, or at once after Refresh) a new table adds and removes peers.
// Destinations that stay keep their Runtime (state, latency) and their
// counters; new ones are first probed within Jitter×Interval and take calls
// meanwhile.
//
// # What it never does
//
// It never routes, never sends anything but OPTIONS, and never allocates,
// blocks or calls through an interface in Deliver and the Note methods,
// which run on the engine's workers: they do atomic loads, store only when a
// value changes, and wake the prober (a non-blocking send on a channel of
// one) only for a probe reply or when a passive flag goes up, never per
// data message. A reply is matched by a 64-bit random nonce in its branch,
// so replies cannot be forged by anyone who has not seen the probe.
//
// # Who owns memory
//
// Deliver reads m during the call only and keeps nothing from it. The
// Sender gets a buffer that the prober reuses for the next probe: Send must
// not retain it. The Prober keeps pointers to the dispatcher's Dests of the
// current table (and, until the next wake, of the previous one); it writes
// only their Runtime, through atomics and Transition.
package health
