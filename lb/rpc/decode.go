package rpc

import (
	"bytes"
	"encoding/json"

	"github.com/valyala/fastjson"
)

// request is one decoded call. It borrows from the fastjson.Parser it was
// decoded with and is valid until that parser parses again.
type request struct {
	method string
	// id is the JSON text to echo in the reply: the number as written, the
	// string re-encoded, or null. nil means the request had no id, and then
	// the reply has none either (Kamailio still replies).
	id []byte
	// params holds the positional parameters; badParams records params that
	// are neither array, object nor null, reported only once the method is
	// known to exist (Kamailio's order: Method Not Found comes first).
	params    Params
	badParams bool
}

// errBatch marks a JSON array request. Kamailio does not run batches and
// answers them with an empty success; the handler copies that.
var errBatch = &Error{Code: 200, Message: "batch", HTTPStatus: 200}

// nullID is the id of replies to requests whose own id is unknown or invalid.
var nullID = []byte("null")

// decodeRequest decodes one JSON-RPC 2.0 request. On failure it returns the
// error to answer with, and req.id holds the id to answer it with (nullID when
// unknown). It never panics on any input.
//
// encoding/json's validator runs first because fastjson's parser is lenient
// (it reads NaN, 1..2 and --1 as numbers, and raw control characters in
// strings), and so is its own validator for a string holding an escape; a
// number id is echoed as written, so it must be a JSON number.
func decodeRequest(p *fastjson.Parser, body []byte) (req request, err *Error) {
	req.id = nullID
	if len(bytes.TrimSpace(body)) == 0 || !json.Valid(body) {
		return req, ErrParse
	}
	v, perr := p.ParseBytes(body)
	if perr != nil {
		return req, ErrParse
	}
	switch v.Type() {
	case fastjson.TypeObject:
	case fastjson.TypeArray:
		return req, errBatch
	default:
		return req, ErrInvalidRequest
	}
	o, _ := v.Object() // cannot fail: the type is object

	// The id first, so that later errors can echo it. Object.Get returns the
	// first of duplicate keys, as Kamailio's srjson does.
	req.id = nil
	if idv := o.Get("id"); idv != nil {
		switch idv.Type() {
		case fastjson.TypeNumber, fastjson.TypeNull:
			req.id = idv.MarshalTo(nil)
		case fastjson.TypeString:
			s, _ := idv.StringBytes()
			req.id = appendJSONString(nil, s)
		default: // object, array, boolean: JSON-RPC 2.0 allows none of them
			req.id = nullID
			return req, ErrInvalidRequest
		}
	}

	ver := o.Get("jsonrpc")
	if ver == nil || ver.Type() != fastjson.TypeString {
		return req, ErrInvalidRequest
	}
	if s, _ := ver.StringBytes(); string(s) != "2.0" {
		return req, ErrInvalidRequest
	}
	m := o.Get("method")
	if m == nil || m.Type() != fastjson.TypeString {
		return req, ErrInvalidRequest
	}
	mb, _ := m.StringBytes()
	req.method = string(mb)

	if pv := o.Get("params"); pv != nil {
		switch pv.Type() {
		case fastjson.TypeArray:
			req.params.vals, _ = pv.Array()
		case fastjson.TypeObject:
			po, _ := pv.Object()
			vals := make([]*fastjson.Value, 0, po.Len())
			po.Visit(func(_ []byte, v *fastjson.Value) { vals = append(vals, v) })
			req.params.vals = vals
		case fastjson.TypeNull:
			// Go clients marshal a nil slice as null: read it as no params.
		default:
			req.badParams = true
		}
	}
	return req, nil
}
