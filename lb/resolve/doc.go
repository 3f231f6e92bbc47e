// Package resolve finds where a SIP destination named by a host name lives:
// the RFC 3263 chain of NAPTR, SRV and A/AAAA lookups, with the TTL of every
// answer, so that the dispatcher can refresh what it resolved when the DNS
// data expires.
//
// # What it does
//
//   - Lookup runs RFC 3263 §4 for a sip: or sips: URI host: with an explicit
//     port, A and AAAA only; with a transport parameter, SRV for that
//     transport, then A/AAAA on the default port; with neither, NAPTR
//     (services SIP+D2U, SIP+D2T, SIPS+D2T by order and preference), then
//     SRV (_sip._udp, _sip._tcp, _sips._tcp), then A/AAAA. The Result lists
//     every address found, each with its transport, port and SRV priority
//     and weight, and the smallest TTL met on the way (negative answers
//     included, RFC 2308), so a refresh at that time sees any change.
//   - It is its own stub resolver: it answers from the hosts file first
//     (ParseHosts; a listed name gets A/AAAA targets only), reads the name
//     servers, search list and options from resolv.conf (ParseResolvConf),
//     sends queries over UDP
//     with EDNS0 from a fresh random port and a random ID, ignores answers
//     that do not match the question, retries over TCP when an answer is
//     truncated, and walks the servers and attempts within the timeout.
//
// # What it never does
//
// It caches nothing (the caller keeps the last good answer and its age, and
// asks again when the TTL runs out; the recursive server caches). It never
// runs on the data path: a Lookup costs several round trips and allocates.
// It does not validate DNSSEC, follow NAPTR regular expressions (RFC 3263
// uses only the replacement field; records with a regexp are skipped), nor
// support SCTP (SIP+D2S) or WebSocket services. Errors wrap the sentinels in
// errors.go and carry the name asked and the server, never bytes of an
// answer.
//
// # Who owns memory
//
// A Result and its Targets belong to the caller. A Resolver is safe for
// concurrent use; its Config is copied by New.
//
// # Why its own client
//
// net.Resolver hides TTLs and has no NAPTR. Of the two libraries that could
// fill the gap, golang.org/x/net/dns/dnsmessage is the message codec the Go
// standard library's resolver itself runs, maintained with Go; github.com/
// miekg/dns v1 is frozen (its README announces fixes only and an archive,
// with v2 elsewhere) and brings a whole server and DNSSEC with it. What
// dnsmessage leaves to us is small and specific: a UDP/TCP exchange (about
// 200 lines, tested against a loopback server, see package dnstest), and
// readers for resolv.conf, the hosts file and the NAPTR record body (all
// fuzzed).
package resolve
