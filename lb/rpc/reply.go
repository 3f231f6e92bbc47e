package rpc

// Replies are assembled by appending into a byte slice, member by member, in
// Kamailio's order: jsonrpc, result or error, id. Only the result itself goes
// through encoding/json.

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

const replyHead = `{"jsonrpc":"2.0",`

// emptyResult is what Kamailio sends for a method that added nothing.
var emptyResult = []byte("{}")

// encodeResult encodes a method's result. nil becomes {} as in Kamailio. HTML
// characters are not escaped (Kamailio sends '<' as is, and so must a URI).
func encodeResult(v any) ([]byte, error) {
	if v == nil {
		return emptyResult, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// appendResultReply appends {"jsonrpc":"2.0","result":RESULT,"id":ID}; the id
// member is left out when id is nil.
func appendResultReply(dst, result, id []byte) []byte {
	dst = append(dst, replyHead...)
	dst = append(dst, `"result":`...)
	dst = append(dst, result...)
	return appendID(dst, id)
}

// appendErrorReply appends
// {"jsonrpc":"2.0","error":{"code":C,"message":"M"},"id":ID}.
func appendErrorReply(dst []byte, e *Error, id []byte) []byte {
	dst = append(dst, replyHead...)
	dst = append(dst, `"error":{"code":`...)
	dst = strconv.AppendInt(dst, int64(e.Code), 10)
	dst = append(dst, `,"message":`...)
	dst = appendJSONString(dst, []byte(e.Message))
	dst = append(dst, '}')
	return appendID(dst, id)
}

func appendID(dst, id []byte) []byte {
	if id != nil {
		dst = append(dst, `,"id":`...)
		dst = append(dst, id...)
	}
	return append(dst, '}')
}

// appendJSONString appends s as a JSON string: quote, backslash and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, everything else as is.
func appendJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// reasonPhrase makes an error message safe for the HTTP status line: control
// characters become spaces (no header injection from a method's error text)
// and it is cut at 127 bytes, Kamailio's limit.
func reasonPhrase(msg string) string {
	const max = 127
	if len(msg) > max {
		msg = msg[:max]
	}
	clean := true
	for i := 0; i < len(msg); i++ {
		if msg[i] < 0x20 || msg[i] == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return msg
	}
	b := []byte(msg)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = ' '
		}
	}
	return string(b)
}
