package parser

import "bytes"

// Stream framing (RFC 3261 §18.3). On TCP and TLS a message ends where its
// Content-Length says, so Content-Length is mandatory there; CRLFs between
// messages are keep-alives (RFC 5626 §3.5.1: a double CRLF "ping" is
// answered with a single CRLF "pong").

// FrameKind says what Frame found at the start of a stream buffer.
type FrameKind uint8

const (
	// FrameIncomplete: more bytes are needed.
	FrameIncomplete FrameKind = iota
	// FrameMessage: a whole message of n bytes.
	FrameMessage
	// FramePing: a double CRLF keep-alive of n bytes; answer with "\r\n".
	FramePing
	// FramePong: a single CRLF (a pong, or stray line end) of n bytes; ignore.
	FramePong
)

// Frame finds the first message or keep-alive at the start of a stream
// buffer b and returns what it found and its length n (b[:n]). It reads only
// the header section (to find Content-Length) and never allocates.
//
// It fails when framing is lost and the connection must be closed: a header
// section longer than MaxMessageSize without its end, a missing, malformed,
// negative or conflicting Content-Length, or a message over MaxMessageSize.
func Frame(b []byte) (kind FrameKind, n int, err error) {
	// Keep-alives: "\r\n\r\n" is a ping. A shorter prefix of it at the end of
	// what has arrived may still become one, so it waits. Any other run of
	// CR and LF is a pong (or stray line ends) and is consumed.
	run := 0
	for run < len(b) && (b[run] == '\r' || b[run] == '\n') {
		run++
	}
	if run > 0 {
		const ping = "\r\n\r\n"
		switch {
		case run >= 4 && string(b[:4]) == ping:
			return FramePing, 4, nil
		case run == len(b) && run < 4 && string(b[:run]) == ping[:run]:
			return FrameIncomplete, 0, nil
		}
		return FramePong, run, nil
	}
	// The header section ends at the first empty line, found as Parse finds
	// it: lines end at LF, a CR before the LF belongs to the line end, so the
	// empty line is "\n" or "\r\n" whatever ended the line before it (a
	// search for "\r\n\r\n" or "\n\n" misses "\n\r\n"). The start line is
	// skipped; folded continuation lines cannot be a Content-Length.
	cl := int64(-1)
	head := -1
	pos := bytes.IndexByte(b, '\n') + 1
	for pos > 0 {
		le := bytes.IndexByte(b[pos:], '\n')
		if le < 0 {
			break
		}
		line := b[pos : pos+le]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			head = pos + le + 1
			break
		}
		if v, ok := contentLengthLine(line); ok {
			n, valid := parseUint(v, Span{0, int32(len(v))}, MaxMessageSize)
			if !valid {
				return FrameIncomplete, 0, ErrContentLength
			}
			if cl >= 0 && cl != int64(n) {
				return FrameIncomplete, 0, ErrContentLengthTwice
			}
			cl = int64(n)
		}
		pos += le + 1
	}
	if head < 0 {
		if len(b) > MaxMessageSize {
			return FrameIncomplete, 0, ErrTooLarge
		}
		return FrameIncomplete, 0, nil
	}
	if cl < 0 {
		return FrameIncomplete, 0, ErrContentLength
	}
	total := int64(head) + cl
	if total > MaxMessageSize {
		return FrameIncomplete, 0, ErrTooLarge
	}
	if int64(len(b)) < total {
		return FrameIncomplete, 0, nil
	}
	return FrameMessage, int(total), nil
}

// contentLengthLine returns the trimmed value of a "Content-Length:" or "l:"
// header line (any case, blanks before the colon allowed).
func contentLengthLine(line []byte) ([]byte, bool) {
	if len(line) == 0 || isWS(line[0]) {
		return nil, false
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return nil, false
	}
	name := bytes.TrimRight(line[:colon], " \t")
	if !equalFold(name, "content-length") && !equalFold(name, "l") {
		return nil, false
	}
	return bytes.Trim(line[colon+1:], " \t\r"), true
}
