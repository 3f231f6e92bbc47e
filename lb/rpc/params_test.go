package rpc

import (
	"errors"
	"testing"

	"github.com/valyala/fastjson"
)

func paramsOf(t *testing.T, params string) Params {
	t.Helper()
	var p fastjson.Parser
	req, e := decodeRequest(&p, []byte(`{"jsonrpc":"2.0","method":"m","params":`+params+`}`))
	if e != nil {
		t.Fatalf("decode: %v", e)
	}
	return req.params
}

func TestParams(t *testing.T) {
	const all = `[7, -3, 1.7, 1e3, "s", "", 9223372036854775808, null, true, {"a":[1, 2]}, "\u00e9\"", 0]`
	type intRes struct {
		n   int
		err error
	}
	type strRes struct {
		s   string
		err error
	}
	cases := []struct {
		i      int
		int    intRes
		str    strRes
		auto   strRes
		raw    string // "" means nil
		length int
	}{
		{0, intRes{7, nil}, strRes{"", ErrInvalidParams}, strRes{"7", nil}, "7", 12},
		{1, intRes{-3, nil}, strRes{"", ErrInvalidParams}, strRes{"-3", nil}, "-3", 12},
		{2, intRes{0, ErrInvalidParams}, strRes{"", ErrInvalidParams}, strRes{"1.7", nil}, "1.7", 12},
		{3, intRes{0, ErrInvalidParams}, strRes{"", ErrInvalidParams}, strRes{"1e3", nil}, "1e3", 12},
		{4, intRes{0, ErrInvalidParams}, strRes{"s", nil}, strRes{"s", nil}, `"s"`, 12},
		{5, intRes{0, ErrInvalidParams}, strRes{"", nil}, strRes{"", nil}, `""`, 12},
		{6, intRes{0, ErrInvalidParams}, strRes{"", ErrInvalidParams}, strRes{"9223372036854775808", nil}, "9223372036854775808", 12},
		{7, intRes{0, ErrInvalidParams}, strRes{"", ErrInvalidParams}, strRes{"", ErrInvalidParams}, "null", 12},
		{8, intRes{0, ErrInvalidParams}, strRes{"", ErrInvalidParams}, strRes{"", ErrInvalidParams}, "true", 12},
		{9, intRes{0, ErrInvalidParams}, strRes{"", ErrInvalidParams}, strRes{"", ErrInvalidParams}, `{"a":[1,2]}`, 12},
		{10, intRes{0, ErrInvalidParams}, strRes{`é"`, nil}, strRes{`é"`, nil}, `"é\""`, 12},
		{11, intRes{0, nil}, strRes{"", ErrInvalidParams}, strRes{"0", nil}, "0", 12},
		{12, intRes{0, ErrInvalidParams}, strRes{"", ErrInvalidParams}, strRes{"", ErrInvalidParams}, "", 12},
		{-1, intRes{0, ErrInvalidParams}, strRes{"", ErrInvalidParams}, strRes{"", ErrInvalidParams}, "", 12},
	}
	p := paramsOf(t, all)
	for _, tc := range cases {
		t.Run(string(rune('a'+tc.i+1)), func(t *testing.T) {
			if p.Len() != tc.length {
				t.Fatalf("Len = %d", p.Len())
			}
			if n, err := p.Int(tc.i); n != tc.int.n || !errors.Is(err, tc.int.err) || (err == nil) != (tc.int.err == nil) {
				t.Errorf("Int(%d) = %d, %v; want %d, %v", tc.i, n, err, tc.int.n, tc.int.err)
			}
			if s, err := p.String(tc.i); s != tc.str.s || (err == nil) != (tc.str.err == nil) {
				t.Errorf("String(%d) = %q, %v; want %q, %v", tc.i, s, err, tc.str.s, tc.str.err)
			}
			if s, err := p.StringAuto(tc.i); s != tc.auto.s || (err == nil) != (tc.auto.err == nil) {
				t.Errorf("StringAuto(%d) = %q, %v; want %q, %v", tc.i, s, err, tc.auto.s, tc.auto.err)
			}
			raw := p.Raw(tc.i)
			if string(raw) != tc.raw || (raw == nil) != (tc.raw == "") {
				t.Errorf("Raw(%d) = %q, want %q", tc.i, raw, tc.raw)
			}
		})
	}
}

func TestParamsObjectOrder(t *testing.T) {
	p := paramsOf(t, `{"state":"ip","group":2,"address":"sip:a"}`)
	s, _ := p.String(0)
	g, _ := p.Int(1)
	a, _ := p.String(2)
	if p.Len() != 3 || s != "ip" || g != 2 || a != "sip:a" {
		t.Errorf("got %d params: %q %d %q", p.Len(), s, g, a)
	}
}

func TestParamsEmpty(t *testing.T) {
	var p Params // what a method sees for a call without params
	if _, err := p.Int(0); err != ErrInvalidParams {
		t.Errorf("Int on no params: %v", err)
	}
	if p.Len() != 0 || p.Raw(0) != nil {
		t.Errorf("Len %d, Raw %q", p.Len(), p.Raw(0))
	}
}

// TestParamsCopies checks that what accessors return outlives the parser.
func TestParamsCopies(t *testing.T) {
	var parser fastjson.Parser
	req, _ := decodeRequest(&parser, []byte(`{"jsonrpc":"2.0","method":"m","params":["keep me",[1]]}`))
	s, _ := req.params.String(0)
	raw := req.params.Raw(1)
	decodeRequest(&parser, []byte(`{"jsonrpc":"2.0","method":"xxxxxxxxxxxxxxxxxxxxxxxxxxx","params":["overwritten!",[9]]}`))
	if s != "keep me" || string(raw) != "[1]" {
		t.Errorf("after reuse of the parser: %q %q", s, raw)
	}
}
