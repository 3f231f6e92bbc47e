// Package dispatcher holds sipfront's destination sets: it reads Kamailio's
// dispatcher.list format, picks a destination for a request, keeps the state
// of every destination, and swaps whole tables atomically on reload.
//
// # What it does
//
//   - Load and LoadFile read a dispatcher.list file the way Kamailio 5.6 does
//     (see kamailio-compat.md), improving where Kamailio misreads: hex flags,
//     negative or overflowing numbers, long lines, a byte order mark, tokens
//     that are not URIs. Every skipped or differently read line is reported as
//     a Warning naming file, line, token and what Kamailio would have done.
//   - Set.Select picks a destination with weighted rendezvous hashing: the
//     choice is a pure function of the key, the destinations' identities and
//     their weights, never of list order, so every sipfront copy and every
//     reload picks the same destination for the same key, and a destination
//     that leaves moves only its own keys.
//   - Dispatcher holds the current Table behind an atomic pointer. Swap and
//     Reload carry the Runtime (state word, counters, latency) of every
//     destination that stays into the new table.
//   - A destination named by host name keeps its URI and gets the targets
//     DNS gives (RFC 3263: NAPTR, SRV with priority and weight, A/AAAA).
//     Dest.Target picks one per key, Table.ByAddr and ByIP find the
//     destination by any of them, and Dest.DNS tells their age and the last
//     DNS error; on a DNS failure the last good targets stay in use.
//
// # What it never does
//
// It sends no packets and parses no SIP: callers hash the request fields they
// route by (Hash, HashFold) and pass the hash to Select. It speaks no DNS:
// host names go through the func in Options.DNS (or Options.Resolve), at
// load and, once Dispatcher.StartDNS runs, again when their TTL runs out; a
// name becomes a destination with several targets (Dest.Target), and a
// change of targets is a new table, swapped in like a reload (dns.go). It
// never locks, allocates, or calls through an interface on the lookup paths
// (Dispatcher.Current, Table.Set, Set.Select, Dest.Target, Table.ByAddr,
// Table.ByIP).
//
// # Who owns memory
//
// A Table and its Sets and Dests are immutable once returned by Load; callers
// may keep pointers to them for as long as they like and must not modify
// them. The only mutable part of a destination is its *Runtime, which is
// shared by pointer between table versions and written only with atomic
// operations (state changes only through Dest.Transition). Load copies what
// it keeps from the input bytes; the caller may reuse data afterwards.
package dispatcher
