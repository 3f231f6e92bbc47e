package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultAddr is the address sipfront serves RPC on by default, and where
// sipfrontctl calls it.
const DefaultAddr = "127.0.0.1:9060"

// maxReply bounds the reply a Client reads: dispatcher.list of a large farm is
// big, but not this big.
const maxReply = 32 << 20

// Client calls a JSON-RPC server: sipfront, or Kamailio's jsonrpcs (same
// framing). The zero value calls DefaultAddr. A Client is safe for concurrent
// use once its fields are set.
type Client struct {
	// Addr is host:port (the path is /RPC, the scheme http), or a whole URL
	// such as https://host:port/RPC. Empty means DefaultAddr.
	Addr string
	// Token, when set, is sent as "Authorization: Bearer TOKEN".
	Token string
	// HTTP is the client to use; nil means one that never goes through a
	// proxy (the token must not travel to a proxy from the environment).
	HTTP *http.Client

	lastID atomic.Uint64
}

var defaultHTTP = &http.Client{Transport: &http.Transport{
	Proxy:               nil,
	MaxIdleConnsPerHost: 2,
	IdleConnTimeout:     30 * time.Second,
}}

// URL is the address the client posts to.
func (c *Client) URL() string {
	addr := c.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	if strings.Contains(addr, "://") {
		return addr
	}
	return "http://" + addr + "/RPC"
}

type wireRequest struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  []any  `json:"params,omitempty"`
	ID      uint64 `json:"id"`
}

type wireReply struct {
	JSONRPC string          `json:"jsonrpc"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	ID json.RawMessage `json:"id"`
}

// Call calls method with positional params (each encoded with encoding/json)
// and returns the result member of the reply. A JSON-RPC error reply is
// returned as *Error (with the HTTP status in HTTPStatus); a server that cannot
// be reached gives an error wrapping ErrUnreachable; an answer that is not a
// JSON-RPC reply gives one wrapping ErrBadReply, or an *Error carrying the HTTP
// status when the status was not 200.
func (c *Client) Call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	_, result, err := c.call(ctx, method, params)
	return result, err
}

// CallRaw is Call returning the whole reply body as received, for display
// (sipfrontctl -json). On a JSON-RPC error reply it returns the body and the
// *Error.
func (c *Client) CallRaw(ctx context.Context, method string, params ...any) ([]byte, error) {
	body, _, err := c.call(ctx, method, params)
	return body, err
}

func (c *Client) call(ctx context.Context, method string, params []any) (body []byte, result json.RawMessage, err error) {
	id := c.lastID.Add(1)
	reqBody, err := json.Marshal(wireRequest{JSONRPC: "2.0", Method: method, Params: params, ID: id})
	if err != nil {
		return nil, nil, fmt.Errorf("rpc: encode params of %s: %w", method, err)
	}
	url := c.URL()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(reqBody))
	if err != nil {
		return nil, nil, fmt.Errorf("%w %q: %w", ErrBadAddr, url, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, nil, fmt.Errorf("%w to %s: %w", ErrUnreachable, hreq.URL.Host, op.Err)
		}
		return nil, nil, fmt.Errorf("rpc: %s: %w", method, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	if err != nil {
		return nil, nil, fmt.Errorf("rpc: %s: reading the reply: %w", method, err)
	}
	if len(body) > maxReply {
		return nil, nil, fmt.Errorf("%w: over %d bytes", ErrBadReply, maxReply)
	}
	result, err = decodeReply(body, id, resp.StatusCode, resp.Status)
	return body, result, err
}

// decodeReply checks a reply against the request id and splits result from
// error.
func decodeReply(body []byte, id uint64, status int, statusLine string) (json.RawMessage, error) {
	var rep wireReply
	if err := json.Unmarshal(body, &rep); err != nil || rep.JSONRPC != "2.0" {
		if status != http.StatusOK {
			// Not our server's error format (a proxy, a wrong path): report
			// the HTTP status itself.
			return nil, &Error{Code: status, Message: httpReason(statusLine, status), HTTPStatus: status}
		}
		return nil, fmt.Errorf("%w: not a JSON-RPC 2.0 object", ErrBadReply)
	}
	if len(rep.ID) > 0 && string(rep.ID) != "null" && string(rep.ID) != strconv.FormatUint(id, 10) {
		return nil, fmt.Errorf("%w: id %s answers a request that is not ours", ErrBadReply, rep.ID)
	}
	switch {
	case rep.Error != nil && rep.Result == nil:
		if rep.Error.Code == nil {
			return nil, fmt.Errorf("%w: error without a code", ErrBadReply)
		}
		return nil, &Error{Code: *rep.Error.Code, Message: rep.Error.Message, HTTPStatus: status}
	case rep.Error == nil && rep.Result != nil:
		return rep.Result, nil
	default:
		return nil, fmt.Errorf("%w: needs exactly one of result and error", ErrBadReply)
	}
}

// httpReason extracts the reason phrase from a status line such as
// "404 Not Found".
func httpReason(statusLine string, status int) string {
	if _, reason, ok := strings.Cut(statusLine, " "); ok && reason != "" {
		return reason
	}
	return http.StatusText(status)
}
