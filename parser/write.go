package parser

import "strconv"

// The Editor describes the bytes a proxy sends as a small list of edits
// (replace a span of the received message with new text; an insertion is an
// empty span, a deletion empty text) and writes the result into a buffer the
// caller supplies. Everything the edits do not touch is copied byte for byte:
// header order, case, compact names, unknown headers and the body. Inserted
// text lives in the Editor's fixed scratch array, so building a message
// allocates nothing.

const (
	// MaxEdits bounds the edits of one message.
	MaxEdits = 16
	// EditorScratch is the room for inserted text (header lines the proxy
	// adds), per message.
	EditorScratch = 4096
)

type edit struct {
	start, end int32 // replaced range of the source
	text       Span  // into Editor.text
	seq        uint8 // order of insertion, for edits at the same offset
}

// Editor collects edits against one parsed Message and applies them. The zero
// value is ready; call Reset before describing the next message. An Editor is
// not safe for concurrent use; give each worker its own.
type Editor struct {
	edits [MaxEdits]edit
	n     int
	text  [EditorScratch]byte
	tn    int32
	err   error
}

// Reset forgets all edits.
func (e *Editor) Reset() {
	e.n, e.tn, e.err = 0, 0, nil
}

// Err returns the first error met while adding edits (too many edits, text
// over EditorScratch, a header to edit that is absent).
func (e *Editor) Err() error { return e.err }

func (e *Editor) setErr(err error) {
	if e.err == nil {
		e.err = err
	}
}

// add records an edit whose text is e.text[ts:e.tn].
func (e *Editor) add(start, end, ts int32) {
	if e.n == MaxEdits {
		e.setErr(ErrTooManyEdits)
		return
	}
	e.edits[e.n] = edit{start: start, end: end, text: Span{ts, e.tn}, seq: uint8(e.n)}
	e.n++
}

func (e *Editor) appendText(parts ...[]byte) bool {
	for _, p := range parts {
		if int(e.tn)+len(p) > len(e.text) {
			e.setErr(ErrEditText)
			return false
		}
		e.tn += int32(copy(e.text[e.tn:], p))
	}
	return true
}

func (e *Editor) appendString(s string) bool {
	if int(e.tn)+len(s) > len(e.text) {
		e.setErr(ErrEditText)
		return false
	}
	e.tn += int32(copy(e.text[e.tn:], s))
	return true
}

// Replace replaces the source bytes in s with text (copied).
func (e *Editor) Replace(s Span, text []byte) {
	ts := e.tn
	if e.appendText(text) {
		e.add(s.Start, s.End, ts)
	}
}

// Insert inserts text (copied) at source offset at.
func (e *Editor) Insert(at int32, text []byte) { e.Replace(Span{at, at}, text) }

// Delete removes the source bytes in s.
func (e *Editor) Delete(s Span) { e.add(s.Start, s.End, e.tn) }

// InsertHeader inserts the line "name: value\r\n" at source offset at, which
// must be the start of a header line or the end of the header section.
func (e *Editor) InsertHeader(at int32, name string, value []byte) {
	ts := e.tn
	if n := int(ts); n+len(name)+len(value)+4 <= len(e.text) {
		// The line fits: written in one go (the pieces below would check
		// the room four times).
		n += copy(e.text[n:], name)
		e.text[n], e.text[n+1] = ':', ' '
		n += 2 + copy(e.text[n+2:], value)
		e.text[n], e.text[n+1] = '\r', '\n'
		e.tn = int32(n + 2)
		e.add(at, at, ts)
		return
	}
	if e.appendString(name) && e.appendString(": ") && e.appendText(value) && e.appendString("\r\n") {
		e.add(at, at, ts)
	}
}

// PrependVia adds value as the topmost Via (a line of its own before every
// other header, RFC 3261 §16.6 step 8).
func (e *Editor) PrependVia(m *Message, value []byte) {
	e.InsertHeader(m.headStart, "Via", value)
}

// AddRecordRoute adds value as the first Record-Route value, before any
// existing one (RFC 3261 §16.6 step 4); at the top of the header section when
// there is none.
func (e *Editor) AddRecordRoute(m *Message, value []byte) {
	e.insertBefore(m, KindRecordRoute, "Record-Route", value)
}

// AddPath adds value as the first Path value (RFC 3327 §5.1).
func (e *Editor) AddPath(m *Message, value []byte) {
	e.insertBefore(m, KindPath, "Path", value)
}

func (e *Editor) insertBefore(m *Message, k Kind, name string, value []byte) {
	at := m.headStart
	if i := m.first[k]; i >= 0 {
		at = m.hdr[i].Name.Start
	}
	e.InsertHeader(at, name, value)
}

// RemoveTopVia removes the topmost Via value: the whole line when it is the
// only value on it, else just that value and its comma.
func (e *Editor) RemoveTopVia(m *Message) { e.removeTop(m, KindVia) }

// RemoveTopRoute removes the topmost Route value likewise.
func (e *Editor) RemoveTopRoute(m *Message) { e.removeTop(m, KindRoute) }

// RemoveTopRoutes removes the n topmost Route values (a proxy that
// Record-Routed twice, RFC 5658, finds two of its own on top): whole lines
// whose every value goes, and the leading values (with their commas) of a
// line that keeps some.
func (e *Editor) RemoveTopRoutes(m *Message, n int) {
	left := n
	for i := m.first[KindRoute]; i >= 0 && left > 0; i = m.hdr[i].next {
		h := &m.hdr[i]
		pos := h.Value.Start
		start := int32(-1)
		for pos < h.Value.End && left > 0 {
			v, next := nextValue(m.buf, pos, h.Value.End)
			if !v.Empty() {
				if start < 0 {
					start = v.Start
				}
				left--
			}
			pos = next
		}
		if start < 0 {
			continue // a line of empty values: nothing of ours on it
		}
		// Is anything left on this line?
		rest := skipLWS(m.buf, pos, h.Value.End)
		if rest >= h.Value.End {
			e.Delete(Span{h.Name.Start, h.End})
		} else {
			e.Delete(Span{start, rest})
		}
	}
	if left > 0 {
		e.setErr(ErrNoSuchHeader)
	}
}

func (e *Editor) removeTop(m *Message, k Kind) {
	i := m.first[k]
	for i >= 0 {
		val, next, ok := m.topValue(int(i))
		if ok {
			h := &m.hdr[i]
			if next >= h.Value.End {
				e.Delete(Span{h.Name.Start, h.End})
			} else {
				e.Delete(Span{val.Start, next})
			}
			return
		}
		i = m.hdr[i].next // a line with only empty values: look further
	}
	e.setErr(ErrNoSuchHeader)
}

// SetMaxForwards sets Max-Forwards to n: the value is replaced in place, or a
// header is added at the end of the header section when there is none.
func (e *Editor) SetMaxForwards(m *Message, n int) {
	var buf [20]byte
	v := strconv.AppendInt(buf[:0], int64(n), 10)
	if i := m.first[KindMaxForwards]; i >= 0 {
		e.Replace(m.hdr[i].Value, v)
		return
	}
	e.InsertHeader(m.headEnd, "Max-Forwards", v)
}

// SetReceived records where a request really came from in its top Via
// (RFC 3261 §18.2.1, RFC 3581 §4): received=ip and rport=port are set,
// replacing values already there (an empty "rport" is filled in) and
// appending the ones that are missing. v must be the top Via of m, parsed.
func (e *Editor) SetReceived(m *Message, v *Via, ip []byte, port int) {
	var pbuf [8]byte
	p := strconv.AppendInt(pbuf[:0], int64(port), 10)
	if v.HasRPort {
		ts := e.tn
		if e.appendString("rport=") && e.appendText(p) {
			e.add(v.RPortParam.Start, v.RPortParam.End, ts)
		}
	}
	if v.HasReceived {
		ts := e.tn
		if e.appendString("received=") && e.appendText(ip) {
			e.add(v.ReceivedParam.Start, v.ReceivedParam.End, ts)
		}
	}
	if v.HasRPort && v.HasReceived {
		return
	}
	end := v.Value.End
	ts := e.tn
	if !v.HasReceived && !(e.appendString(";received=") && e.appendText(ip)) {
		return
	}
	if !v.HasRPort && !(e.appendString(";rport=") && e.appendText(p)) {
		return
	}
	e.add(end, end, ts)
}

// sorted orders the edits by source offset; at one offset insertions come
// before a replacement, and edits added earlier come first. n is at most
// MaxEdits, so insertion sort is the cheapest.
func (e *Editor) sorted() []edit {
	ed := e.edits[:e.n]
	for i := 1; i < len(ed); i++ {
		if !editLess(&ed[i], &ed[i-1]) {
			continue // in place already
		}
		x, j := ed[i], i
		for ; j > 0 && editLess(&x, &ed[j-1]); j-- {
			ed[j] = ed[j-1]
		}
		ed[j] = x
	}
	return ed
}

func editLess(a, b *edit) bool {
	if a.start != b.start {
		return a.start < b.start
	}
	ai, bi := a.end == a.start, b.end == b.start
	if ai != bi {
		return ai
	}
	return a.seq < b.seq
}

// Size returns the length of the message Apply would write.
func (e *Editor) Size(m *Message) int {
	n := m.Len()
	for _, ed := range e.edits[:e.n] {
		n += ed.text.Len() - int(ed.end-ed.start)
	}
	return n
}

// AppendTo appends the edited message to dst and returns the extended
// buffer. It allocates only if dst lacks capacity (give it Size(m) bytes of
// room). The source is m's framed message: leading CRLFs and bytes after the
// body are not copied.
func (e *Editor) AppendTo(dst []byte, m *Message) ([]byte, error) {
	if e.err != nil {
		return dst, e.err
	}
	src := m.buf
	pos := m.start
	eds := e.sorted()
	for i := range eds {
		ed := &eds[i]
		if ed.start < pos || ed.end > m.end {
			return dst, ErrEditOverlap
		}
		dst = append(dst, src[pos:ed.start]...)
		dst = append(dst, e.text[ed.text.Start:ed.text.End]...)
		pos = ed.end
	}
	dst = append(dst, src[pos:m.end]...)
	return dst, nil
}

// AppendViaReceived appends the via-parm v (a value in b) with received=ip
// and rport=port set as SetReceived sets them: existing values replaced, an
// empty rport filled in, missing parameters appended. It serves writers that
// build a message from pieces, such as a locally generated response.
func AppendViaReceived(dst, b []byte, v *Via, ip []byte, port int) []byte {
	pos := v.Value.Start
	// The two parameters may appear in either order; replace in text order.
	first, second := v.ReceivedParam, v.RPortParam
	firstIsRPort := false
	if v.HasRPort && (!v.HasReceived || v.RPortParam.Start < v.ReceivedParam.Start) {
		first, second, firstIsRPort = v.RPortParam, v.ReceivedParam, true
	}
	hasFirst := (firstIsRPort && v.HasRPort) || (!firstIsRPort && v.HasReceived)
	hasSecond := (firstIsRPort && v.HasReceived) || (!firstIsRPort && v.HasRPort)
	put := func(dst []byte, rport bool) []byte {
		if rport {
			dst = append(dst, "rport="...)
			return strconv.AppendInt(dst, int64(port), 10)
		}
		dst = append(dst, "received="...)
		return append(dst, ip...)
	}
	if hasFirst {
		dst = append(dst, b[pos:first.Start]...)
		dst = put(dst, firstIsRPort)
		pos = first.End
	}
	if hasSecond {
		dst = append(dst, b[pos:second.Start]...)
		dst = put(dst, !firstIsRPort)
		pos = second.End
	}
	dst = append(dst, b[pos:v.Value.End]...)
	if !v.HasReceived {
		dst = append(dst, ';')
		dst = put(dst, false)
	}
	if !v.HasRPort {
		dst = append(dst, ';')
		dst = put(dst, true)
	}
	return dst
}
