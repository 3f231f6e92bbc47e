package rpc

import (
	"strconv"

	"github.com/valyala/fastjson"
)

// Params are the positional parameters of one call: the elements of a "params"
// array, or the values of a "params" object in document order (names ignored,
// as Kamailio's jsonrpcs reads them).
//
// Params is a view into the parsed request, valid only until the method
// returns. Every accessor returns ErrInvalidParams for an index out of range or
// a value of the wrong JSON type, so a method can hand that error straight
// back; what they return is copied and may be kept.
type Params struct {
	vals []*fastjson.Value
}

// Len is the number of parameters.
func (p Params) Len() int { return len(p.vals) }

func (p Params) at(i int) *fastjson.Value {
	if i < 0 || i >= len(p.vals) {
		return nil
	}
	return p.vals[i]
}

// Int returns parameter i, which must be a JSON number holding an integer that
// fits an int, written without fraction or exponent. Kamailio truncates 1.7 to
// 1 and reads "1" as 0; both are ErrInvalidParams here.
func (p Params) Int(i int) (int, error) {
	v := p.at(i)
	if v == nil || v.Type() != fastjson.TypeNumber {
		return 0, ErrInvalidParams
	}
	n, err := strconv.Atoi(string(v.MarshalTo(nil)))
	if err != nil {
		return 0, ErrInvalidParams
	}
	return n, nil
}

// String returns parameter i, which must be a JSON string.
func (p Params) String(i int) (string, error) {
	v := p.at(i)
	if v == nil || v.Type() != fastjson.TypeString {
		return "", ErrInvalidParams
	}
	b, _ := v.StringBytes() // cannot fail: the type is string
	return string(b), nil
}

// StringAuto returns parameter i as a string when it is a JSON string, and the
// text of the number as written when it is a JSON number: Kamailio's "."
// (auto-convert) scan modifier, which dispatcher.set_state uses for its state
// so that kamcmd-style clients may send the digit 0 as a number.
func (p Params) StringAuto(i int) (string, error) {
	v := p.at(i)
	if v != nil && v.Type() == fastjson.TypeNumber {
		return string(v.MarshalTo(nil)), nil
	}
	return p.String(i)
}

// Raw returns the JSON text of parameter i (re-encoded, so whitespace is not
// preserved), or nil when there is no such parameter. Use it for parameters of
// any other shape.
func (p Params) Raw(i int) []byte {
	v := p.at(i)
	if v == nil {
		return nil
	}
	return v.MarshalTo(nil)
}
