package bpf

import (
	"bytes"
	"net/netip"
	"strings"
	"time"
)

// The fixture table: scenarios of frames with the verdict each must get.
// filter_test.go runs every scenario through the XDP program
// (BPF_PROG_TEST_RUN) and through (*Userspace).CheckFrame, from fresh state,
// and requires the same reason from both, and exactly that reason's counter
// to move. One table, two implementations: the proof they are one policy.

// fixtureConfig is the policy every scenario runs under.
func fixtureConfig() Config {
	return Config{
		Ports: []uint16{5060, 5080},
		Rate:  Rate{Packets: 5, Window: time.Second, Ban: 10 * time.Second},
		Allow: []netip.Prefix{
			netip.MustParsePrefix("192.0.2.0/24"),
			netip.MustParsePrefix("2001:db8:a::/48"),
			netip.MustParsePrefix("203.0.113.77/32"), // also inside the banned /24 below
		},
		Ban: []netip.Prefix{
			netip.MustParsePrefix("203.0.113.0/24"),
			netip.MustParsePrefix("2001:db8:bad::/48"),
		},
		UserAgents: []string{"friendly-scanner", "sipvicious", "SIPcli", "VaxSIPUserAgent"},
		MaxSources: 4096,
	}
}

type step struct {
	name    string
	frame   []byte
	advance time.Duration // moves both clocks forward before this frame
	want    Reason
}

type scenario struct {
	name  string
	steps []step
}

func a(s string) netip.Addr { return netip.MustParseAddr(s) }

// udp4 / udp6 are the common frames: a datagram to 5060 from src.
func udp4(src string, payload []byte) []byte {
	return frame(pkt{src: a(src), payload: payload})
}

func udp6(src string, payload []byte) []byte {
	return frame(pkt{src: a(src), payload: payload})
}

func repeat(name string, n int, f []byte, want Reason) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = step{name: name, frame: f, want: want}
	}
	return out
}

func concat(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var (
	invite      = sipRequest("INVITE", "Linphone/5.2 (belle-sip/5.2)")
	registerReq = sipRequest("REGISTER", "Yealink SIP-T46S 66.86.0.15")
	options     = sipRequest("OPTIONS", "")
	ok200       = []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nUser-Agent: Asterisk PBX 20.5.0\r\nContent-Length: 0\r\n\r\n")
	junk        = []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}
)

func fixtures() []scenario {
	long := strings.Repeat("X-Filler: "+strings.Repeat("f", 60)+"\r\n", 16) // 1152 bytes of headers
	return []scenario{
		{"valid SIP passes", []step{
			{name: "INVITE v4", frame: udp4("198.51.100.1", invite), want: Passed},
			{name: "REGISTER v4", frame: udp4("198.51.100.2", registerReq), want: Passed},
			{name: "OPTIONS v6", frame: udp6("2001:db8:1::1", options), want: Passed},
			{name: "200 OK response", frame: udp4("198.51.100.3", ok200), want: Passed},
			{name: "lower-case status line", frame: udp4("198.51.100.3", []byte("sip/2.0 180 Ringing\r\n\r\n")), want: Passed},
			{name: "CRLFCRLF keep-alive", frame: udp4("198.51.100.4", []byte("\r\n\r\n")), want: Passed},
			{name: "single CRLF keep-alive", frame: udp6("2001:db8:1::4", []byte("\r\n")), want: Passed},
			{name: "keep-alive in a padded minimum frame", frame: frame(pkt{src: a("198.51.100.5"), payload: []byte("\r\n\r\n"), pad: 60}), want: Passed},
			{name: "leading CRLFs before a request", frame: udp4("198.51.100.6", append([]byte("\r\n\r\n\r\n"), invite...)), want: Passed},
			{name: "extension method", frame: udp4("198.51.100.7", sipRequest("X-CUSTOM.1", "")), want: Passed},
			{name: "32-byte method", frame: udp4("198.51.100.8", []byte(strings.Repeat("M", 32)+" sip:x SIP/2.0\r\n\r\n")), want: Passed},
			{name: "second port 5080", frame: frame(pkt{src: a("198.51.100.9"), dport: 5080, payload: invite}), want: Passed},
			{name: "tel URI", frame: udp4("198.51.100.10", []byte("INVITE tel:+15551234 SIP/2.0\r\n\r\n")), want: Passed},
		}},
		{"non-SIP payloads drop", []step{
			{name: "empty datagram", frame: udp4("198.51.100.20", nil), want: DroppedNotSIP},
			{name: "TLS bytes", frame: udp4("198.51.100.21", junk), want: DroppedNotSIP},
			{name: "HTTP GET", frame: udp4("198.51.100.22", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")), want: DroppedNotSIP},
			{name: "method without SP", frame: udp4("198.51.100.23", []byte("INVITE")), want: DroppedNotSIP},
			{name: "method then CRLF", frame: udp4("198.51.100.24", []byte("INVITE\r\nsip:x SIP/2.0\r\n\r\n")), want: DroppedNotSIP},
			{name: "33-byte method", frame: udp4("198.51.100.25", []byte(strings.Repeat("M", 33)+" sip:x SIP/2.0\r\n\r\n")), want: DroppedNotSIP},
			{name: "status line without code", frame: udp4("198.51.100.26", []byte("SIP/2.0 OK\r\n\r\n")), want: DroppedNotSIP},
			{name: "nine CRLFs then a request", frame: udp4("198.51.100.27", append([]byte(strings.Repeat("\n", 9)), invite...)), want: DroppedNotSIP},
			{name: "STUN binding request", frame: udp4("198.51.100.28", []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}), want: DroppedNotSIP},
			{name: "SP then digit", frame: udp6("2001:db8:1::29", []byte("INVITE 1sip:x SIP/2.0\r\n\r\n")), want: DroppedNotSIP},
			{name: "NUL bytes", frame: udp6("2001:db8:1::30", make([]byte, 4)), want: DroppedNotSIP},
			{name: "method and SP at payload end", frame: udp4("198.51.100.31", []byte("INVITE ")), want: DroppedNotSIP},
		}},
		{"scanner User-Agents drop", []step{
			{name: "friendly-scanner OPTIONS", frame: udp4("198.51.100.40", sipRequest("OPTIONS", "friendly-scanner")), want: DroppedUserAgent},
			{name: "sipvicious REGISTER v6", frame: udp6("2001:db8:1::41", sipRequest("REGISTER", "sipvicious 0.3.4")), want: DroppedUserAgent},
			{name: "any case name and value", frame: udp4("198.51.100.42", withHeaders("Via: x\r\nUSER-AGENT: SIPVicious\r\n")), want: DroppedUserAgent},
			{name: "prefix configured in upper case", frame: udp4("198.51.100.43", withHeaders("user-agent: sipcli/v1.8\r\n")), want: DroppedUserAgent},
			{name: "no space after colon", frame: udp4("198.51.100.44", withHeaders("User-Agent:friendly-scanner\r\n")), want: DroppedUserAgent},
			{name: "space before colon and tab after", frame: udp4("198.51.100.45", withHeaders("User-Agent  :\tfriendly-scanner\r\n")), want: DroppedUserAgent},
			{name: "separator of exactly 16 bytes", frame: udp4("198.51.100.46", withHeaders("User-Agent:"+strings.Repeat(" ", 15)+"friendly-scanner\r\n")), want: DroppedUserAgent},
			{name: "separator of 17 bytes is not checked", frame: udp4("198.51.100.47", withHeaders("User-Agent:"+strings.Repeat(" ", 16)+"friendly-scanner\r\n")), want: Passed},
			{name: "scanner in a response", frame: udp4("198.51.100.48", []byte("SIP/2.0 404 Not Found\r\nUser-Agent: friendly-scanner\r\n\r\n")), want: DroppedUserAgent},
			{name: "other User-Agent", frame: udp4("198.51.100.49", sipRequest("OPTIONS", "Grandstream GXP2170")), want: Passed},
			{name: "value shorter than the prefix", frame: udp4("198.51.100.50", withHeaders("User-Agent: friendly-scan\r\n")), want: Passed},
			{name: "prefix mid-value does not count", frame: udp4("198.51.100.51", withHeaders("User-Agent: my friendly-scanner\r\n")), want: Passed},
			{name: "User-Agent in the body", frame: udp4("198.51.100.52", []byte("MESSAGE sip:x SIP/2.0\r\nContent-Length: 30\r\n\r\nUser-Agent: friendly-scanner\r\n")), want: Passed},
			{name: "User-Agent line beyond 1024 bytes", frame: udp4("198.51.100.53", withHeaders(long+"User-Agent: friendly-scanner\r\n")), want: Passed},
			{name: "User-Agent line just inside 1024 bytes", frame: udp4("198.51.100.54", withHeaders(long[:1024-len("OPTIONS sip:100@10.0.0.1 SIP/2.0\r\n")-2]+"\r\nUser-Agent: friendly-scanner\r\n")), want: DroppedUserAgent},
			{name: "User-Agentx is not User-Agent", frame: udp4("198.51.100.55", withHeaders("User-Agentx: friendly-scanner\r\n")), want: Passed},
			{name: "first User-Age line decides", frame: udp4("198.51.100.56", withHeaders("User-Age: x\r\nUser-Agent: friendly-scanner\r\n")), want: Passed},
			{name: "User-Agent at the very end", frame: udp4("198.51.100.57", []byte("OPTIONS sip:x SIP/2.0\r\nUser-Agent: sipvicious")), want: DroppedUserAgent},
			{name: "User-Agent cut before the value", frame: udp4("198.51.100.58", []byte("OPTIONS sip:x SIP/2.0\r\nUser-Agent: ")), want: Passed},
			{name: "LF-only line ends", frame: udp4("198.51.100.59", []byte("OPTIONS sip:x SIP/2.0\nVia: y\nUser-Agent: VaxSIPUserAgent/3.1\n\n")), want: DroppedUserAgent},
			{name: "scanner behind leading CRLFs", frame: udp4("198.51.100.60", append([]byte("\r\n"), sipRequest("INVITE", "friendly-scanner")...)), want: DroppedUserAgent},
		}},
		{"allow list is never limited", concat(
			repeat("allowed v4 over the rate", 8, udp4("192.0.2.10", invite), Allowed),
			repeat("allowed v4 junk", 2, udp4("192.0.2.10", junk), Allowed),
			repeat("allowed v6", 7, udp6("2001:db8:a:1::5", sipRequest("OPTIONS", "friendly-scanner")), Allowed),
			[]step{{name: "allow wins over a ban", frame: udp4("203.0.113.77", invite), want: Allowed}},
		)},
		{"operator bans drop", []step{
			{name: "banned v4 prefix", frame: udp4("203.0.113.5", invite), want: DroppedOperatorBan},
			{name: "banned v6 prefix", frame: udp6("2001:db8:bad:7::1", invite), want: DroppedOperatorBan},
			{name: "banned source, junk", frame: udp4("203.0.113.200", junk), want: DroppedOperatorBan},
			{name: "v4-mapped v6 source in a v4 ban", frame: udp6("::ffff:203.0.113.9", invite), want: DroppedOperatorBan},
			{name: "neighbour prefix passes", frame: udp4("203.0.114.5", invite), want: Passed},
		}},
		{"rate limit crossing and ban expiry", concat(
			repeat("within the limit", 5, udp4("198.51.100.70", invite), Passed),
			[]step{{name: "sixth packet bans", frame: udp4("198.51.100.70", invite), want: DroppedRate}},
			repeat("banned", 3, udp4("198.51.100.70", invite), DroppedBanned),
			[]step{{name: "banned TCP SYN", frame: frame(pkt{src: a("198.51.100.70"), proto: 6, tcpFlags: 0x02}), want: DroppedBanned}},
			[]step{{name: "still banned after 9s", frame: udp4("198.51.100.70", invite), advance: 9 * time.Second, want: DroppedBanned}},
			[]step{{name: "ban over after 10s: a fresh window", frame: udp4("198.51.100.70", invite), advance: 2 * time.Second, want: Passed}},
			repeat("fresh window", 4, udp4("198.51.100.70", invite), Passed),
			[]step{{name: "and the limit again", frame: udp4("198.51.100.70", invite), want: DroppedRate}},
			[]step{{name: "other sources unaffected", frame: udp4("198.51.100.71", invite), want: Passed}},
		)},
		{"rate window restarts", concat(
			repeat("first window", 5, udp6("2001:db8:2::1", registerReq), Passed),
			[]step{{name: "next window", frame: udp6("2001:db8:2::1", registerReq), advance: time.Second, want: Passed}},
			repeat("next window", 4, udp6("2001:db8:2::1", registerReq), Passed),
			[]step{{name: "past the limit", frame: udp6("2001:db8:2::1", registerReq), want: DroppedRate}},
		)},
		{"every packet to a SIP port counts", concat(
			repeat("junk first", 3, udp4("198.51.100.80", junk), DroppedNotSIP),
			repeat("scanner", 2, udp4("198.51.100.80", sipRequest("OPTIONS", "friendly-scanner")), DroppedUserAgent),
			[]step{{name: "a valid request over the limit", frame: udp4("198.51.100.80", invite), want: DroppedRate}},
			[]step{{name: "banned", frame: udp4("198.51.100.80", junk), want: DroppedBanned}},
			[]step{{name: "other ports are not counted", frame: frame(pkt{src: a("198.51.100.81"), dport: 53, payload: junk}), want: Ignored}},
		)},
		{"v4 and v4-mapped v6 are one source", concat(
			repeat("v4", 3, udp4("198.51.100.90", invite), Passed),
			repeat("mapped v6", 2, udp6("::ffff:198.51.100.90", invite), Passed),
			[]step{{name: "sixth over both", frame: udp6("::ffff:198.51.100.90", invite), want: DroppedRate}},
			[]step{{name: "banned as v4", frame: udp4("198.51.100.90", invite), want: DroppedBanned}},
		)},
		{"TCP SYNs get the source rules", concat(
			[]step{{name: "SYN from a banned prefix", frame: frame(pkt{src: a("203.0.113.8"), proto: 6, tcpFlags: 0x02}), want: DroppedOperatorBan}},
			[]step{{name: "SYN from an allowed source", frame: frame(pkt{src: a("192.0.2.1"), proto: 6, tcpFlags: 0x02}), want: Allowed}},
			repeat("SYN", 5, frame(pkt{src: a("198.51.100.100"), proto: 6, tcpFlags: 0x02}), Passed),
			[]step{{name: "sixth SYN", frame: frame(pkt{src: a("198.51.100.100"), proto: 6, tcpFlags: 0x02}), want: DroppedRate}},
			[]step{{name: "ACK segments pass untouched", frame: frame(pkt{src: a("198.51.100.100"), proto: 6, tcpFlags: 0x10, payload: junk}), want: Ignored}},
			[]step{{name: "SYN+ACK passes untouched", frame: frame(pkt{src: a("198.51.100.101"), proto: 6, tcpFlags: 0x12}), want: Ignored}},
			[]step{{name: "SYN to another port", frame: frame(pkt{src: a("203.0.113.8"), proto: 6, tcpFlags: 0x02, dport: 22}), want: Ignored}},
			[]step{{name: "SYN over IPv6", frame: frame(pkt{src: a("2001:db8:bad::1"), proto: 6, tcpFlags: 0x02}), want: DroppedOperatorBan}},
		)},
		{"traffic the filter ignores", []step{
			{name: "other UDP port", frame: frame(pkt{src: a("203.0.113.1"), dport: 5070, payload: junk}), want: Ignored},
			{name: "ICMP", frame: frame(pkt{src: a("203.0.113.1"), proto: 1}), want: Ignored},
			{name: "IPv4 first fragment", frame: frame(pkt{src: a("203.0.113.1"), fragOff: 0x2000, payload: junk}), want: Ignored},
			{name: "IPv4 later fragment", frame: frame(pkt{src: a("203.0.113.1"), fragOff: 0x00b9, payload: junk}), want: Ignored},
			{name: "IPv6 fragment header", frame: frame(pkt{src: a("2001:db8:bad::1"), v6frag: true, fragOff: 0x0001, payload: junk}), want: Ignored},
			{name: "ARP", frame: frame(pkt{src: a("203.0.113.1"), ethType: 0x0806}), want: Ignored},
			{name: "Ethernet header only", frame: frame(pkt{src: a("203.0.113.1"), truncate: 14}), want: Ignored},
			{name: "IPv4 header cut", frame: frame(pkt{src: a("203.0.113.1"), payload: invite, truncate: 30}), want: Ignored},
			{name: "IPv6 header cut", frame: frame(pkt{src: a("2001:db8:bad::1"), payload: invite, truncate: 50}), want: Ignored},
			{name: "UDP header cut", frame: frame(pkt{src: a("203.0.113.1"), payload: invite, truncate: 14 + 20 + 6}), want: Ignored},
			{name: "IPv4 options run past the frame", frame: frame(pkt{src: a("203.0.113.1"), ihl: 15, truncate: 14 + 40}), want: Ignored},
			{name: "UDP length beyond the frame", frame: frame(pkt{src: a("203.0.113.1"), payload: invite, udpLen: 9000}), want: Ignored},
			{name: "UDP length below 8", frame: frame(pkt{src: a("203.0.113.1"), payload: invite, udpLen: 7}), want: Ignored},
			{name: "UDP payload cut (length says more)", frame: frame(pkt{src: a("203.0.113.1"), payload: invite, truncate: 14 + 20 + 8 + 10}), want: Ignored},
			{name: "IP version 5 in an IPv4 frame", frame: frame(pkt{src: a("203.0.113.1"), ipVer: 5, payload: invite}), want: Ignored},
			{name: "IHL below 5", frame: frame(pkt{src: a("203.0.113.1"), ihl: 4, payload: invite}), want: Ignored},
			{name: "TCP header cut", frame: frame(pkt{src: a("203.0.113.1"), proto: 6, tcpFlags: 0x02, truncate: 14 + 20 + 10}), want: Ignored},
			{name: "three VLAN tags", frame: frame(pkt{src: a("203.0.113.1"), vlans: []uint16{0x88a8, 0x8100, 0x8100}, payload: invite}), want: Ignored},
			{name: "VLAN tag cut", frame: frame(pkt{src: a("203.0.113.1"), vlans: []uint16{0x8100}, truncate: 16}), want: Ignored},
			{name: "five IPv6 extension headers", frame: frame(pkt{src: a("2001:db8:bad::1"), v6ext: []byte{0, 60, 43, 60, 60}, payload: invite}), want: Ignored},
			{name: "IPv6 extension header cut", frame: frame(pkt{src: a("2001:db8:bad::1"), v6ext: []byte{0}, payload: invite, truncate: 14 + 40 + 1}), want: Ignored},
		}},
		{"header variants reach the rules", []step{
			{name: "IPv4 options, valid", frame: frame(pkt{src: a("198.51.100.110"), ipOpts: 3, payload: invite}), want: Passed},
			{name: "IPv4 40 bytes of options, junk", frame: frame(pkt{src: a("198.51.100.111"), ipOpts: 10, payload: junk}), want: DroppedNotSIP},
			{name: "IPv4 options, banned", frame: frame(pkt{src: a("203.0.113.3"), ipOpts: 1, payload: invite}), want: DroppedOperatorBan},
			{name: "802.1Q", frame: frame(pkt{src: a("198.51.100.112"), vlans: []uint16{0x8100}, payload: invite}), want: Passed},
			{name: "QinQ, scanner", frame: frame(pkt{src: a("198.51.100.113"), vlans: []uint16{0x88a8, 0x8100}, payload: sipRequest("INVITE", "friendly-scanner")}), want: DroppedUserAgent},
			{name: "QinQ IPv6, junk", frame: frame(pkt{src: a("2001:db8:3::1"), vlans: []uint16{0x88a8, 0x8100}, payload: junk}), want: DroppedNotSIP},
			{name: "IPv6 hop-by-hop and destination options", frame: frame(pkt{src: a("2001:db8:3::2"), v6ext: []byte{0, 60}, payload: invite}), want: Passed},
			{name: "IPv6 four extension headers, scanner", frame: frame(pkt{src: a("2001:db8:3::3"), v6ext: []byte{0, 43, 60, 60}, payload: sipRequest("OPTIONS", "sipvicious")}), want: DroppedUserAgent},
			{name: "IPv6 routing header, banned", frame: frame(pkt{src: a("2001:db8:bad::3"), v6ext: []byte{43}, payload: invite}), want: DroppedOperatorBan},
			{name: "IPv4 UDP length shorter than the frame", frame: frame(pkt{src: a("198.51.100.114"), payload: append([]byte("\r\n\r\n"), junk...), udpLen: 12}), want: Passed},
		}},
	}
}

// fixtureFrames returns every distinct frame of the table (fuzz seeds).
func fixtureFrames() [][]byte {
	var out [][]byte
	for _, sc := range fixtures() {
		for _, st := range sc.steps {
			dup := false
			for _, f := range out {
				if bytes.Equal(f, st.frame) {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, st.frame)
			}
		}
	}
	return out
}
