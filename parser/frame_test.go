package parser

import (
	"bytes"
	"errors"
	"testing"
)

func TestFrame(t *testing.T) {
	msg := string(sip("hello", "MESSAGE sip:h SIP/2.0", "Via: SIP/2.0/TCP h;branch=z9hG4bK1", "l: 5"))
	for _, tc := range []struct {
		name string
		in   string
		kind FrameKind
		n    int
		err  error
	}{
		{"whole message", msg, FrameMessage, len(msg), nil},
		{"message then more", msg + "OPTIONS", FrameMessage, len(msg), nil},
		{"partial body", msg[:len(msg)-1], FrameIncomplete, 0, nil},
		{"partial headers", msg[:20], FrameIncomplete, 0, nil},
		{"ping", "\r\n\r\n" + msg, FramePing, 4, nil},
		{"pong", "\r\nOPTIONS", FramePong, 2, nil},
		{"ping then pong run", "\r\n\r\n\r\n", FramePing, 4, nil},
		{"lone CR waits", "\r", FrameIncomplete, 0, nil},
		{"half ping waits", "\r\n", FrameIncomplete, 0, nil},
		{"three bytes wait", "\r\n\r", FrameIncomplete, 0, nil},
		{"bare LFs", "\n\nX", FramePong, 2, nil},
		{"no content-length", "OPTIONS sip:h SIP/2.0\r\nVia: x\r\n\r\n", FrameIncomplete, 0, ErrContentLength},
		{"negative", "OPTIONS sip:h SIP/2.0\r\nContent-Length: -1\r\n\r\n", FrameIncomplete, 0, ErrContentLength},
		{"conflicting", "OPTIONS sip:h SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab", FrameIncomplete, 0, ErrContentLengthTwice},
		{"same twice", "OPTIONS sip:h SIP/2.0\r\nl: 2\r\nContent-Length: 2\r\n\r\nab", FrameMessage, 52, nil},
		{"huge length", "OPTIONS sip:h SIP/2.0\r\nl: 99999999\r\n\r\n", FrameIncomplete, 0, ErrContentLength},
		{"LF only", "OPTIONS sip:h SIP/2.0\nl: 2\n\nab", FrameMessage, 30, nil},
		// Mixed line ends: the empty line is "\r\n" after a line ended by
		// "\n" (FuzzFrame: the old search for "\n\n" found one in the body).
		{"LF then CRLF empty line", "OPTIONS sip:h SIP/2.0\nl: 1\n\r\n\n", FrameMessage, 30, nil},
		{"CRLF then LF empty line", "OPTIONS sip:h SIP/2.0\r\nl: 0\r\n\n", FrameMessage, 30, nil},
		{"header named like it", "OPTIONS sip:h SIP/2.0\r\nX-Content-Length: 5\r\nl: 0\r\n\r\n", FrameMessage, 52, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kind, n, err := Frame([]byte(tc.in))
			if kind != tc.kind || n != tc.n || !errors.Is(err, tc.err) {
				t.Errorf("got %v n %d err %v; want %v %d %v", kind, n, err, tc.kind, tc.n, tc.err)
			}
		})
	}
	t.Run("header section too long", func(t *testing.T) {
		b := append([]byte("OPTIONS sip:h SIP/2.0\r\nX: "), bytes.Repeat([]byte("a"), MaxMessageSize)...)
		if _, _, err := Frame(b); !errors.Is(err, ErrTooLarge) {
			t.Errorf("err = %v", err)
		}
	})
}

// TestFrameEverySplit feeds two messages split at every byte boundary, as a
// TCP stream may deliver them, and checks both come out whole.
func TestFrameEverySplit(t *testing.T) {
	one := sip("v=0\r\n", "INVITE sip:bob@h SIP/2.0", "Via: SIP/2.0/TCP h;branch=z9hG4bK1", "Content-Length: 5")
	two := sip("", "BYE sip:bob@h SIP/2.0", "Via: SIP/2.0/TCP h;branch=z9hG4bK2", "l: 0")
	stream := append(append(append([]byte{}, one...), "\r\n\r\n"...), two...)
	for cut := 0; cut <= len(stream); cut++ {
		var buf []byte
		var got [][]byte
		pings := 0
		for _, part := range [][]byte{stream[:cut], stream[cut:]} {
			buf = append(buf, part...)
			for {
				kind, n, err := Frame(buf)
				if err != nil {
					t.Fatalf("cut %d: %v", cut, err)
				}
				if kind == FrameIncomplete {
					break
				}
				switch kind {
				case FrameMessage:
					got = append(got, append([]byte(nil), buf[:n]...))
				case FramePing:
					pings++
				}
				buf = buf[n:]
			}
		}
		if len(got) != 2 || !bytes.Equal(got[0], one) || !bytes.Equal(got[1], two) || pings != 1 || len(buf) != 0 {
			t.Fatalf("cut %d: %d messages, %d pings, %d left", cut, len(got), pings, len(buf))
		}
	}
}

func FuzzFrame(f *testing.F) {
	f.Add([]byte(inviteHead + "Content-Length: 0\r\n\r\n"))
	f.Add([]byte("\r\n\r\nOPTIONS sip:h SIP/2.0\r\nl: 1\r\n\r\nx"))
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, n, err := Frame(b)
		if err != nil {
			return
		}
		if n < 0 || n > len(b) {
			t.Fatalf("frame of %d bytes outside %d bytes", n, len(b))
		}
		switch kind {
		case FrameIncomplete:
			if n != 0 {
				t.Fatal("incomplete with a length")
			}
		case FrameMessage:
			// A framed message has its declared body: Parse must agree on
			// where it ends (or reject it for another reason).
			var m Message
			if Parse(b[:n], &m) == nil && m.Len() != n {
				t.Fatalf("Frame says %d bytes, Parse says %d", n, m.Len())
			}
		default:
			if n == 0 {
				t.Fatal("keep-alive of length 0")
			}
		}
	})
}

func TestFrameAllocs(t *testing.T) {
	b := sip("hello", "MESSAGE sip:h SIP/2.0", "l: 5")
	if n := testing.AllocsPerRun(100, func() { Frame(b) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
