package parser

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
	b := it.b
	i := skipLWS(b, it.pos, it.end)
	semi := i < it.end && b[i] == ';'
	if semi {
		i = skipLWS(b, i+1, it.end)
	}
	if i >= it.end {
		if semi {
			it.err = ErrParam // a ";" with no parameter after it
		}
		it.pos = it.end
		return false
	}
	start := i
	for _, c := range b[i:it.end] {
		if stopClass[c]&sNameStop != 0 {
			break
		}
		i++
	}
	it.name = Span{start, i}
	if it.name.Empty() {
		it.err = ErrParam
		it.pos = it.end
		return false
	}
	j := skipLWS(b, i, it.end)
	it.hasValue = false
	it.val = Span{i, i}
	if j < it.end && b[j] == '=' {
		it.hasValue = true
		j = skipLWS(b, j+1, it.end)
		vs := j
		if j < it.end && b[j] == '"' {
			j++
			for j < it.end && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			if j >= it.end {
				it.err = ErrQuoted
				it.pos = it.end
				return false
			}
			j++
		} else {
			for _, c := range b[j:it.end] {
				if stopClass[c]&sValueStop != 0 {
					break
				}
				j++
			}
		}
		it.val = Span{vs, j}
		i = j
	}
	it.whole = Span{start, i}
	// Anything but LWS before the next ';' is a syntax error ("a b;c").
	k := skipLWS(b, i, it.end)
	if k < it.end && b[k] != ';' {
		it.err = ErrParam
		it.pos = it.end
		return false
	}
	it.pos = k
	return true
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
