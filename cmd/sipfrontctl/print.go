package main

// The printer reproduces kamcmd's layout from a JSON result. kamcmd reads
// BINRPC, where a Kamailio structure is a list of named members that may
// repeat; jsonrpcs sends the same data as JSON arrays of one-member objects
// ({"RECORDS":[{"SET":{...}}]}). Printing an array's one-member objects as
// plain members therefore gives kamcmd's output byte for byte (checked against
// kamcmd 5.6.3 in testdata/kamcmd). Objects with several members inside an
// array get their own "{ }" block, so their boundaries stay visible.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// value is a JSON value that keeps the order of object members.
type value struct {
	kind   byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' boolean, 'z' null
	text   string
	keys   []string // object member names, in order
	values []*value // object member values, or array items
}

func decodeOrdered(dec *json.Decoder) (*value, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		v := &value{kind: 'a'}
		if t == '{' {
			v.kind = 'o'
		}
		for dec.More() {
			if v.kind == 'o' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v.keys = append(v.keys, k.(string)) // the decoder guarantees a string key
			}
			item, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			v.values = append(v.values, item)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return v, nil
	case string:
		return &value{kind: 's', text: t}, nil
	case json.Number:
		return &value{kind: 'n', text: t.String()}, nil
	case bool:
		return &value{kind: 'b', text: fmt.Sprint(t)}, nil
	default:
		return &value{kind: 'z'}, nil
	}
}

// printResult writes a result the way kamcmd prints it.
func printResult(w io.Writer, result json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(result))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	p := printer{w: bw}
	p.top(v)
	return bw.Flush()
}

type printer struct{ w *bufio.Writer }

func (p printer) indent(depth int) { p.w.WriteString(strings.Repeat("\t", depth)) }

// scalar is kamcmd's text for a value: strings unquoted, null as kamcmd
// prints a null string.
func scalar(v *value) string {
	if v.kind == 'z' {
		return "<null string>"
	}
	return v.text
}

func (p printer) top(v *value) {
	switch v.kind {
	case 'o':
		p.block(0, func() { p.members(v, 1) })
	case 'a':
		if len(v.values) > 0 && allSingleMember(v.values) {
			// core.sockets_list: [{"socket":{..}},{"socket":{..}}] is one
			// structure with a repeated member for kamcmd.
			p.block(0, func() { p.items(v, 1) })
			return
		}
		for _, item := range v.values {
			p.top(item)
		}
	default:
		p.w.WriteString(scalar(v))
		p.w.WriteByte('\n')
	}
}

func (p printer) block(depth int, body func()) {
	p.w.WriteString("{\n")
	body()
	p.indent(depth)
	p.w.WriteString("}\n")
}

func (p printer) members(obj *value, depth int) {
	for i, k := range obj.keys {
		p.member(k, obj.values[i], depth)
	}
}

func (p printer) member(key string, v *value, depth int) {
	p.indent(depth)
	p.w.WriteString(key)
	p.w.WriteString(": ")
	switch v.kind {
	case 'o':
		p.block(depth, func() { p.members(v, depth+1) })
	case 'a':
		p.block(depth, func() { p.items(v, depth+1) })
	default:
		p.w.WriteString(scalar(v))
		p.w.WriteByte('\n')
	}
}

func (p printer) items(arr *value, depth int) {
	for _, item := range arr.values {
		switch {
		case item.kind == 'o' && len(item.keys) == 1:
			p.member(item.keys[0], item.values[0], depth)
		case item.kind == 'o' || item.kind == 'a':
			p.indent(depth)
			p.block(depth, func() {
				if item.kind == 'o' {
					p.members(item, depth+1)
				} else {
					p.items(item, depth+1)
				}
			})
		default:
			p.indent(depth)
			p.w.WriteString(scalar(item))
			p.w.WriteByte('\n')
		}
	}
}

func allSingleMember(vs []*value) bool {
	for _, v := range vs {
		if v.kind != 'o' || len(v.keys) != 1 {
			return false
		}
	}
	return true
}
