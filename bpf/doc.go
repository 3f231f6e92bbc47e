// Package bpf is sipfront's flood filter: an XDP program that drops scanner
// and flood traffic on the SIP ports before it costs a system call, and the
// same policy in Go for hosts that cannot run XDP. It is what Kamailio does
// with pike, an htable ban list and a User-Agent check in the script, moved
// in front of the socket.
//
// # Policy
//
// For each UDP datagram (and, for the source rules, each TCP SYN or accepted
// connection) addressed to a configured SIP port, in order:
//
//  1. a source on the allow list passes, no other rule applies (Allowed);
//  2. a source on the operator ban list is dropped (DroppedOperatorBan);
//  3. a source under an automatic ban is dropped (DroppedBanned);
//  4. rate limit: past Rate.Packets packets in a Rate.Window, the packet is
//     dropped (DroppedRate) and the source banned for Rate.Ban;
//  5. the payload must be a CRLF keep-alive (1 to 8 bytes of CR and LF), or
//     start (after at most 8 CR/LF) with a status line ("SIP/2.0 " and a
//     digit) or a request line (a method token of 1 to 32 RFC 3261 token
//     characters, a space, a letter), else it is dropped (DroppedNotSIP);
//  6. the first header line that begins with "User-Age" (any case) among
//     the lines following the LFs in the first 1024 bytes from the start
//     line, before an empty line, is checked: if it is "User-Agent", a
//     separator of at most 16 bytes of spaces, tabs and one colon, and a
//     value that starts with a configured prefix (ASCII case-insensitive),
//     the packet is dropped (DroppedUserAgent);
//  7. anything else passes (Passed).
//
// Traffic to other ports, other protocols, IP fragments, TCP segments other
// than a SYN and frames too short to parse pass untouched (Ignored):
// fragments are not reassembled in XDP, so a fragmented datagram reaches the
// socket unfiltered. TCP connections get rules 1 to 4 only, once per
// connection (the SYN); established connections are never cut. Addresses
// are IPv4 or IPv6; an IPv4-mapped IPv6 source is treated as IPv4. Frames
// may carry up to two VLAN tags, and IPv6 up to four hop-by-hop, routing or
// destination options headers.
//
// # Two implementations, one policy
//
// filter.c is the XDP program (compiled by bpf2go into the committed
// filter_bpfel/filter_bpfeb files, see gen.go). *Userspace is the same
// policy in Go: Check for datagrams, CheckConn for accepted connections,
// CheckFrame for whole Ethernet frames. The tests run one fixture table of
// frames through the program (BPF_PROG_TEST_RUN) and through CheckFrame and
// require identical verdicts and counters. Open picks one: ModeXDP, ModeUser,
// ModeOff, or ModeAuto (XDP when the host can run it, else user space).
//
// Run-time management (the Filter interface) lists and edits the operator
// ban list and the allow list, lists and lifts automatic bans, reads the
// counters, and applies a new Config. A prefix added to either list (by
// AddAllow, AddBan or Update) lifts the automatic bans of the sources it
// covers: no automatic ban is ever in force for a listed source, which lets
// the XDP program look up automatic bans first (one hash lookup for a packet
// from a banned source, the common case under a flood) and still apply the
// rules in the order above. Counters are exported as
// sipfront_filter_packets_total{reason,path} (metrics.go).
//
// # What it never does
//
// It never changes a packet, never answers one, never keeps per-call state,
// and never blocks a source on the allow list. It does not parse SIP beyond
// the start line and one header, and it does not reassemble fragments. It
// imports no other package of sipfront.
//
// # Memory
//
// Check, CheckConn and CheckFrame read the caller's buffer during the call
// and keep nothing of it; they allocate nothing. Per-source state is bounded
// by Config.MaxSources: in the kernel, two LRU hash maps of that many
// entries; in user space, a table of MaxSources (rounded up to a power of
// two) slots of 48 bytes, where a new source replaces the least useful entry
// of its probe run when full. The allow and ban lists hold at most
// MaxPrefixes entries each. Lists returned by the management methods are the
// caller's.
//
// # Requirements
//
// The XDP program needs Linux 5.17 or later (bpf_loop), XDP links (5.9),
// CAP_BPF plus CAP_NET_ADMIN (or root), and an architecture with efficient
// unaligned loads (x86-64, arm64, ppc64, s390x). Anything less is an
// *UnsupportedError, which Is ErrNotSupported, and ModeAuto falls back to
// user space. Both byte orders are compiled (filter_bpfel, filter_bpfeb);
// only the little-endian object is exercised by the tests here.
package bpf
