package parser

import "bytes"

// Header values are split on commas outside quoted strings and angle brackets
// (RFC 3261 §7.3.1: "Contact: "Doe, J" <sip:j@h>, <sip:k@h>" is two values).
// The functions here return spans; none allocates.

// nextValue returns the first value in b[pos:end] (trimmed) and the offset
// where the next one starts (past the comma and its LWS), or end.
func nextValue(b []byte, pos, end int32) (val Span, next int32) {
	start := skipLWS(b, pos, end)
	// Most values stand alone on their line: without a comma there is
	// nothing to split, whatever quotes or brackets hold. IndexByte is
	// vectorised; the careful scan below runs only when a comma is there.
	if bytes.IndexByte(b[start:end], ',') < 0 {
		return trimLWS(b, Span{start, end}), end
	}
	i := start
	inQuote, inAngle := false, false
	for ; i < end; i++ {
		c := b[i]
		switch {
		case inQuote:
			if c == '\\' && i+1 < end {
				i++
			} else if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '<':
			inAngle = true
		case c == '>':
			inAngle = false
		case c == ',' && !inAngle:
			return trimLWS(b, Span{start, i}), skipLWS(b, i+1, end)
		}
	}
	return trimLWS(b, Span{start, end}), end
}

// ValueIter walks the comma-separated values of every header of one kind, in
// message order:
//
//	for it := m.Values(parser.KindVia); it.Next(); {
//		v := it.Value() // span of one via-parm
//	}
type ValueIter struct {
	m     *Message
	hi    int   // index of the current header, -1 when done
	pos   int32 // where the next value of the current header starts
	val   Span
	index int // header index of val
}

// Values returns an iterator over the values of headers of kind k. Empty
// values (", ,") are skipped.
func (m *Message) Values(k Kind) ValueIter {
	it := ValueIter{m: m, hi: int(m.first[k]), index: -1}
	if it.hi >= 0 {
		it.pos = m.hdr[it.hi].Value.Start
	}
	return it
}

// Next advances to the next value and reports whether there is one.
func (it *ValueIter) Next() bool {
	for it.hi >= 0 {
		h := &it.m.hdr[it.hi]
		if it.pos < h.Value.End {
			v, next := nextValue(it.m.buf, it.pos, h.Value.End)
			it.pos = next
			if v.Empty() {
				continue
			}
			it.val, it.index = v, it.hi
			return true
		}
		it.hi = int(h.next)
		if it.hi >= 0 {
			it.pos = it.m.hdr[it.hi].Value.Start
		}
	}
	return false
}

// Value returns the current value's span.
func (it *ValueIter) Value() Span { return it.val }

// HeaderIndex returns the index (in Message.Headers) of the header line the
// current value belongs to.
func (it *ValueIter) HeaderIndex() int { return it.index }

// FirstValue returns the first value of the first header of kind k.
func (m *Message) FirstValue(k Kind) (Span, bool) {
	it := m.Values(k)
	if !it.Next() {
		return Span{}, false
	}
	return it.Value(), true
}

// topValue returns the first non-empty value of header i, and where the value
// after it starts (Value.End when it is the only one).
func (m *Message) topValue(i int) (val Span, next int32, ok bool) {
	h := &m.hdr[i]
	pos := h.Value.Start
	for pos < h.Value.End {
		v, n := nextValue(m.buf, pos, h.Value.End)
		if !v.Empty() {
			return v, n, true
		}
		pos = n
	}
	return Span{}, h.Value.End, false
}
