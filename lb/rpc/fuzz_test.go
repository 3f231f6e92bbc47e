package rpc

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/valyala/fastjson"
)

// FuzzDecodeRequest feeds arbitrary bodies to the decoder and to the whole
// handler. Invariants:
//   - nothing panics;
//   - the decoder accepts only valid JSON (encoding/json agrees), and decodes
//     the same bytes the same way twice with one reused parser;
//   - a decoded request has a method that re-encodes to a JSON string, an id
//     that is absent or the JSON text of a number, string or null, and params
//     that each re-encode to valid JSON;
//   - the handler's reply to any body is a JSON-RPC 2.0 object with exactly
//     one of result and error (an error with an integer code and a string
//     message), HTTP 200 exactly when it is a result, and the request's id
//     echoed byte for byte (absent when the request had none).
func FuzzDecodeRequest(f *testing.F) {
	for _, tc := range kamCases {
		if len(tc.body) < 4096 {
			f.Add([]byte(tc.body))
		}
	}
	h := NewHandler(testRegistry(), HandlerOptions{Logger: discardLogger()})
	var parser fastjson.Parser

	f.Fuzz(func(t *testing.T, body []byte) {
		req, e := decodeRequest(&parser, body)
		if e != ErrParse && !json.Valid(body) {
			t.Fatalf("decoder accepted invalid JSON (err %v)", e)
		}
		if !knownDecodeError(e) {
			t.Fatalf("unexpected decode error %v", e)
		}
		if req.id != nil && !validID(req.id) {
			t.Fatalf("id %q is not the JSON text of a number, string or null", req.id)
		}
		if e == ErrParse && json.Valid(body) && !tooDeep(body) {
			t.Fatalf("decoder refused valid JSON")
		}
		wantID := bytes.Clone(req.id)
		var method string
		var params [][]byte
		if e == nil {
			method = req.method
			if !json.Valid(appendJSONString(nil, []byte(method))) {
				t.Fatalf("method %q does not re-encode", method)
			}
			for i := range req.params.Len() {
				raw := req.params.Raw(i)
				if !json.Valid(raw) {
					t.Fatalf("param %d re-encodes to invalid JSON %q", i, raw)
				}
				params = append(params, raw)
			}
			again, e2 := decodeRequest(&parser, body)
			if e2 != nil || again.method != method || !bytes.Equal(again.id, wantID) || again.params.Len() != len(params) {
				t.Fatalf("second decode differs: %v %q %q", e2, again.method, again.id)
			}
			for i := range params {
				if !bytes.Equal(again.params.Raw(i), params[i]) {
					t.Fatalf("param %d differs on second decode", i)
				}
			}
		}

		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/RPC", bytes.NewReader(body)))
		if e == errBatch {
			wantID = nil // Kamailio's empty answer carries no id
		}
		checkReply(t, rec.Code, rec.Body.Bytes(), wantID)
	})
}

func knownDecodeError(e *Error) bool {
	return e == nil || e == ErrParse || e == ErrInvalidRequest || e == errBatch
}

func validID(id []byte) bool {
	if !json.Valid(id) {
		return false
	}
	switch id[0] {
	case '"', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

// tooDeep reports JSON nested deeper than fastjson.MaxDepth, which fastjson
// refuses on purpose.
func tooDeep(b []byte) bool {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			depth++
			if depth > fastjson.MaxDepth {
				return true
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return false
}

// checkReply asserts the JSON-RPC 2.0 shape of a reply and that it carries the
// id the decoder found (nil: no id member).
func checkReply(t *testing.T, status int, body []byte, id []byte) {
	t.Helper()
	var rep map[string]json.RawMessage
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("reply %q is not a JSON object: %v", body, err)
	}
	if string(rep["jsonrpc"]) != `"2.0"` {
		t.Fatalf("reply %q lacks jsonrpc 2.0", body)
	}
	res, hasRes := rep["result"]
	errv, hasErr := rep["error"]
	if hasRes == hasErr {
		t.Fatalf("reply %q must have exactly one of result and error", body)
	}
	if hasRes != (status == http.StatusOK) {
		t.Fatalf("status %d with reply %q", status, body)
	}
	if hasRes && string(res) == "null" {
		t.Fatalf("null result in %q (Kamailio never sends one)", body)
	}
	if hasErr {
		var e struct {
			Code    *int    `json:"code"`
			Message *string `json:"message"`
		}
		if err := json.Unmarshal(errv, &e); err != nil || e.Code == nil || e.Message == nil {
			t.Fatalf("error member %q needs an integer code and a string message", errv)
		}
	}
	gotID, hasID := rep["id"]
	if (id == nil) == hasID || (hasID && !bytes.Equal(gotID, id)) {
		t.Fatalf("reply id %q (present %v), want %q", gotID, hasID, id)
	}
	if len(rep) != 3 && !(len(rep) == 2 && !hasID) {
		t.Fatalf("reply %q has extra members", body)
	}
}
