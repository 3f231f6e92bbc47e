package parser

import (
	"encoding/binary"
	"math/bits"
)

// ParamIter walks ";"-separated parameters (name[=value]) in a span: URI
// parameters, Via parameters, header parameters. LWS around ";" and "=" is
// allowed; a value may be a quoted string (which may contain ";"). Every ";"
// must be followed by a parameter: ";;" and a trailing ";" are errors.
//
//	for it := parser.Params(b, u.Params); it.Next(); {
//		name, value := it.Name(), it.Value()
//	}
type ParamIter struct {
	b         []byte
	pos, end  int32
	name, val Span
	whole     Span
	hasValue  bool
	err       error
}

// Params returns an iterator over the parameters in b[s]; a leading ";" is
// optional.
func Params(b []byte, s Span) ParamIter {
	return ParamIter{b: b, pos: s.Start, end: s.End}
}

// Next advances to the next parameter. It returns false at the end or on a
// syntax error (see Err).
func (it *ParamIter) Next() bool {
	// The bytes up to the end as a slice, and offsets as ints, so that the
	// loops below index without bounds checks; fields are stored once.
	p := it.b[:it.end]
	i := lwsEnd(p, int(it.pos))
	semi := i < len(p) && p[i] == ';'
	if semi {
		i = lwsEnd(p, i+1)
	}
	if i >= len(p) {
		if semi {
			it.err = ErrParam // a ";" with no parameter after it
		}
		it.pos = it.end
		return false
	}
	start := i
	for i < len(p) && stopClass[p[i]]&sNameStop == 0 {
		i++
	}
	it.name = Span{int32(start), int32(i)}
	if i == start {
		it.err = ErrParam
		it.pos = it.end
		return false
	}
	j := lwsEnd(p, i)
	it.hasValue = false
	val := Span{int32(i), int32(i)}
	if j < len(p) && p[j] == '=' {
		it.hasValue = true
		j = lwsEnd(p, j+1)
		vs := j
		if j < len(p) && p[j] == '"' {
			j++
			for j < len(p) && p[j] != '"' {
				if p[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(p) {
				it.val = val
				it.err = ErrQuoted
				it.pos = it.end
				return false
			}
			j++
		} else {
			j = int(valueEnd(p, int32(j), it.end))
		}
		val = Span{int32(vs), int32(j)}
		i = j
	}
	it.val = val
	it.whole = Span{int32(start), int32(i)}
	// Anything but LWS before the next ';' is a syntax error ("a b;c").
	k := lwsEnd(p, i)
	if k < len(p) && p[k] != ';' {
		it.err = ErrParam
		it.pos = it.end
		return false
	}
	it.pos = int32(k)
	return true
}

// lwsEnd returns the first offset at or after i that is not LWS, or len(p).
func lwsEnd(p []byte, i int) int {
	for i < len(p) && isLWS(p[i]) {
		i++
	}
	return i
}

// Name returns the current parameter's name as written.
func (it *ParamIter) Name() Span { return it.name }

// Value returns the current parameter's value (empty for a flag parameter;
// a quoted value keeps its quotes).
func (it *ParamIter) Value() Span { return it.val }

// HasValue reports whether the current parameter had "=".
func (it *ParamIter) HasValue() bool { return it.hasValue }

// Whole returns the span of the current "name[=value]".
func (it *ParamIter) Whole() Span { return it.whole }

// Err returns the syntax error that stopped the iteration, if any.
func (it *ParamIter) Err() error { return it.err }

// Param finds the parameter called name (ASCII case-insensitive) in b[s] and
// returns its value; ok is false when it is absent.
func Param(b []byte, s Span, name string) (value Span, ok bool) {
	for it := Params(b, s); it.Next(); {
		if equalFold(it.name.In(b), name) {
			return it.val, true
		}
	}
	return Span{}, false
}

// valueEnd returns the first offset in [j, end) whose byte ends an unquoted
// parameter value (";", DQUOTE, SP, HTAB, CR or LF: sValueStop), or end.
// Values such as branches and cookies are long, so it looks eight bytes at a
// time for candidates: bytes under 0x23 ((x - 0x23…) & ^x & 0x80…, which
// takes in '"') and ";" (the same test for zero on x ^ ";"…). The lowest flag
// is exact; a candidate that is not a stop (another control character, "!")
// is stepped over.
func valueEnd(b []byte, j, end int32) int32 {
	p, i := b[:end], int(j)
	for i+8 <= len(p) {
		x := binary.LittleEndian.Uint64(p[i : i+8])
		s := x ^ 0x3b3b3b3b3b3b3b3b
		f := ((x-0x2323232323232323)&^x | (s-0x0101010101010101)&^s) & 0x8080808080808080
		if f == 0 {
			i += 8
			continue
		}
		k := i + bits.TrailingZeros64(f)>>3
		if stopClass[p[k]]&sValueStop != 0 {
			return int32(k)
		}
		i = k + 1
	}
	for i < len(p) && stopClass[p[i]]&sValueStop == 0 {
		i++
	}
	return int32(i)
}
