package resolve

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/sipfront/sipfront/lb/resolve/dnstest"
)

// FuzzResolvConf: any input reads into a Config within glibc's limits, and
// the Config's rendering reads back into the same Config.
func FuzzResolvConf(f *testing.F) {
	f.Add([]byte("nameserver 10.0.0.53\nsearch corp.test\noptions ndots:2 timeout:1 attempts:3 rotate\n"))
	f.Add([]byte("nameserver fe80::1%eth0\nnameserver ::ffff:1.2.3.4\ndomain x.test\noptions use-vc\r\n"))
	f.Add([]byte("; c\n#c\nsearch a b c d e f g\noptions ndots:99 timeout:99 attempts:0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := ParseResolvConf(b)
		if len(c.Servers) == 0 || len(c.Servers) > maxServers {
			t.Fatalf("%d servers", len(c.Servers))
		}
		for _, s := range c.Servers {
			if !s.IsValid() || s.Port() != 53 || s.Addr().Is4In6() {
				t.Fatalf("server %v", s)
			}
		}
		if len(c.Search) > maxSearch {
			t.Fatalf("%d search names", len(c.Search))
		}
		for _, s := range c.Search {
			if !strings.HasSuffix(s, ".") || checkName(strings.TrimSuffix(s, ".")) != nil {
				t.Fatalf("search name %q", s)
			}
		}
		if c.Ndots < 0 || c.Ndots > maxNdots || c.Attempts < 1 || c.Attempts > maxAttempts ||
			c.Timeout < 1e9 || c.Timeout > maxTimeout*1e9 || c.Timeout%1e9 != 0 {
			t.Fatalf("options out of range: %+v", c)
		}
		if again := ParseResolvConf([]byte(c.String())); !reflect.DeepEqual(again, c) {
			t.Fatalf("rendering reads back differently:\n%s\n%+v\n%+v", c.String(), c, again)
		}
	})
}

// FuzzNAPTR: a record body that parses is exactly the encoding of what was
// read (nothing skipped, nothing invented), and its replacement is a name
// sipfront could ask for.
func FuzzNAPTR(f *testing.F) {
	f.Add(dnstest.NAPTRData(10, 20, "S", "SIP+D2U", "", "_sip._udp.example.com"))
	f.Add(dnstest.NAPTRData(0, 0, "", "", "", "."))
	f.Add(dnstest.NAPTRData(65535, 1, "U", "E2U+sip", "!^.*$!sip:info@example.com!", "."))
	f.Add([]byte{0, 1, 0, 2, 1, 'S', 0, 0, 0xc0, 0x0c}) // compressed: refused
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ok := parseNAPTR(b)
		if !ok {
			return
		}
		if !strings.HasSuffix(n.replace, ".") {
			t.Fatalf("replacement %q without trailing dot", n.replace)
		}
		name := strings.TrimSuffix(n.replace, ".")
		if _, err := netip.ParseAddr(name); n.replace != "." && err != nil && checkName(name) != nil {
			t.Fatalf("replacement %q is not a name", n.replace)
		}
		enc := dnstest.NAPTRData(n.order, n.pref, n.flags, n.services, n.regexp, n.replace)
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, enc)
		}
	})
}

// FuzzParseAnswer: any reply parses or fails with a sentinel, never panics;
// what it keeps has the type asked, stays within maxRecords, and has a TTL
// no larger than the record's own.
func FuzzParseAnswer(f *testing.F) {
	q := dnsmessage.MustNewName("pbx.example.com.")
	for _, typ := range []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA, dnsmessage.TypeSRV, typeNAPTR} {
		f.Add(seedReply(f, 7, q, typ), uint16(typ))
	}
	f.Add([]byte{0, 7, 0x82, 0, 0, 1, 0, 0, 0, 0, 0, 0}, uint16(dnsmessage.TypeA))
	f.Fuzz(func(t *testing.T, msg []byte, typ uint16) {
		qt := dnsmessage.Type(typ)
		a, err := parseAnswer(msg, 7, q, qt)
		if err != nil {
			if err != ErrBadAnswer && err != errMismatch {
				t.Fatalf("error %v is not a sentinel", err)
			}
			return
		}
		if len(a.addrs) > maxRecords || len(a.srvs) > maxRecords || len(a.naptrs) > maxRecords {
			t.Fatalf("too many records: %d %d %d", len(a.addrs), len(a.srvs), len(a.naptrs))
		}
		for _, ip := range a.addrs {
			if qt == dnsmessage.TypeA && !ip.Is4() || qt == dnsmessage.TypeAAAA && !ip.Is6() || qt != dnsmessage.TypeA && qt != dnsmessage.TypeAAAA {
				t.Fatalf("address %v for type %v", ip, qt)
			}
		}
		if len(a.srvs) > 0 && qt != dnsmessage.TypeSRV || len(a.naptrs) > 0 && qt != typeNAPTR {
			t.Fatalf("records of another type kept for %v", qt)
		}
		if !a.empty() && !a.hasTTL {
			t.Fatal("records without a TTL")
		}
		if len(msg) >= 4 && binary.BigEndian.Uint16(msg) != 7 {
			t.Fatal("accepted another ID")
		}
	})
}

// seedReply builds a reply with records of every kind, a CNAME and an SOA.
func seedReply(tb testing.TB, id uint16, q dnsmessage.Name, typ dnsmessage.Type) []byte {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: true})
	b.EnableCompression()
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(b.StartQuestions())
	must(b.Question(dnsmessage.Question{Name: q, Type: typ, Class: dnsmessage.ClassINET}))
	must(b.StartAnswers())
	alias := dnsmessage.MustNewName("real.example.com.")
	hdr := func(n dnsmessage.Name, t dnsmessage.Type, ttl uint32) dnsmessage.ResourceHeader {
		return dnsmessage.ResourceHeader{Name: n, Type: t, Class: dnsmessage.ClassINET, TTL: ttl}
	}
	must(b.CNAMEResource(hdr(q, dnsmessage.TypeCNAME, 30), dnsmessage.CNAMEResource{CNAME: alias}))
	must(b.AResource(hdr(alias, dnsmessage.TypeA, 60), dnsmessage.AResource{A: [4]byte{10, 0, 0, 1}}))
	must(b.AAAAResource(hdr(alias, dnsmessage.TypeAAAA, 60), dnsmessage.AAAAResource{AAAA: [16]byte{0x20, 1, 0xd, 0xb8, 15: 1}}))
	must(b.SRVResource(hdr(alias, dnsmessage.TypeSRV, 60), dnsmessage.SRVResource{Priority: 1, Weight: 2, Port: 5060, Target: q}))
	must(b.UnknownResource(hdr(alias, typeNAPTR, 60), dnsmessage.UnknownResource{Type: typeNAPTR,
		Data: dnstest.NAPTRData(10, 10, "S", "SIP+D2U", "", "_sip._udp.example.com")}))
	must(b.StartAuthorities())
	must(b.SOAResource(hdr(dnsmessage.MustNewName("example.com."), dnsmessage.TypeSOA, 300), dnsmessage.SOAResource{
		NS: alias, MBox: alias, MinTTL: 20}))
	msg, err := b.Finish()
	must(err)
	return msg
}

// TestParseAnswerSeeds checks the seed replies decode as meant: the CNAME
// is followed and its TTL is the smallest.
func TestParseAnswerSeeds(t *testing.T) {
	q := dnsmessage.MustNewName("pbx.example.com.")
	for _, typ := range []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA, dnsmessage.TypeSRV, typeNAPTR} {
		t.Run(typeName(typ), func(t *testing.T) {
			a, err := parseAnswer(seedReply(t, 7, q, typ), 7, q, typ)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(a.addrs) + len(a.srvs) + len(a.naptrs); n != 1 || a.ttl != 30 {
				t.Errorf("got %d records, TTL %d; want 1 record, the CNAME's TTL 30", n, a.ttl)
			}
			if _, err := parseAnswer(seedReply(t, 8, q, typ), 7, q, typ); err != errMismatch {
				t.Errorf("another ID: %v, want errMismatch", err)
			}
		})
	}
}
