package rpc

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fastjson"
)

// DefaultMaxBody is the request size limit when HandlerOptions.MaxBody is 0.
const DefaultMaxBody = 64 << 10

// hijackWriteTimeout bounds the write of an error reply on a hijacked
// connection, which no longer has the server's write timeout.
const hijackWriteTimeout = 5 * time.Second

// HandlerOptions configure NewHandler.
type HandlerOptions struct {
	// Token, when not empty, must come with every call as
	// "Authorization: Bearer TOKEN"; calls without it get HTTP 401.
	Token string
	// MaxBody is the largest request body read, in bytes (0: DefaultMaxBody).
	// A larger one gets HTTP 413 and is never read past the limit.
	MaxBody int64
	// Logger receives a line (with the stack) for each method that panics;
	// nil means slog.Default().
	Logger *slog.Logger
}

// NewHandler returns the http.Handler for sipfront's /RPC endpoint, calling the
// methods of reg. The caller mounts it (mux.Handle("/RPC", h)); the handler
// itself does not look at the URL path, the method or the Content-Type, like
// Kamailio's jsonrpcs. See the package documentation for what it answers.
func NewHandler(reg *Registry, o HandlerOptions) http.Handler {
	h := &handler{reg: reg, maxBody: o.MaxBody, log: o.Logger}
	if o.Token != "" {
		h.token = []byte(o.Token)
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h
}

type handler struct {
	reg     *Registry
	token   []byte
	maxBody int64
	log     *slog.Logger
	parsers fastjson.ParserPool
}

// bufPool holds request and reply buffers between calls.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// batchReply is Kamailio's answer to a JSON array: no call is run.
var batchReply = appendResultReply(nil, emptyResult, nil)

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every browser sends Origin on a POST and Sec-Fetch-Site on every
	// request; no RPC tool does. Refusing them keeps web pages (CSRF, DNS
	// rebinding) away from a loopback API that has no token.
	if r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != "" {
		h.reject(w, r, ErrForbidden)
		return
	}
	if h.token != nil && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sipfront"`)
		h.reject(w, r, ErrUnauthorized)
		return
	}

	in := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(in)
	in.Reset()
	if e := h.readBody(r, in); e != nil {
		h.reject(w, r, e)
		return
	}

	p := h.parsers.Get()
	defer h.parsers.Put(p)
	req, e := decodeRequest(p, in.Bytes())
	switch {
	case e == errBatch:
		requestsInvalid.Inc()
		writeReply(w, r, http.StatusOK, "", batchReply)
		return
	case e != nil:
		requestsInvalid.Inc()
		h.fail(w, r, e, req.id)
		return
	}
	fn, ok := h.reg.lookup(req.method)
	if !ok {
		requestsInvalid.Inc()
		h.fail(w, r, ErrMethodNotFound, req.id)
		return
	}
	if req.badParams {
		requestsInvalid.Inc()
		h.fail(w, r, ErrInvalidParams, req.id)
		return
	}
	result, err := h.call(r.Context(), req.method, fn, req.params)
	if err != nil {
		requestsFailed.Inc()
		h.fail(w, r, asError(err), req.id)
		return
	}
	requestsOK.Inc()
	out := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(out)
	out.Reset()
	out.Write(appendResultReply(out.AvailableBuffer(), result, req.id))
	writeReply(w, r, http.StatusOK, "", out.Bytes())
}

// authorized checks the bearer token in constant time.
func (h *handler) authorized(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	const scheme = "bearer "
	if len(auth) < len(scheme) || !strings.EqualFold(auth[:len(scheme)], scheme) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(auth[len(scheme):])), h.token) == 1
}

// readBody reads the whole body into buf, never more than maxBody+1 bytes.
func (h *handler) readBody(r *http.Request, buf *bytes.Buffer) *Error {
	if r.ContentLength > h.maxBody {
		return ErrTooLarge
	}
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, h.maxBody+1)); err != nil {
		return ErrParse // the body broke off: it cannot be a whole JSON text
	}
	if int64(buf.Len()) > h.maxBody {
		return ErrTooLarge
	}
	return nil
}

// call runs a method and encodes its result, turning a panic in either into
// ErrInternal. http.ErrAbortHandler keeps its meaning (abort the response).
func (h *handler) call(ctx context.Context, name string, fn Handler, p Params) (res []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			methodPanics.Inc()
			h.log.Error("rpc: method panicked", "method", name, "panic", v, "stack", string(debug.Stack()))
			res, err = nil, ErrInternal
		}
	}()
	v, err := fn(ctx, p)
	if err != nil {
		return nil, err
	}
	res, err = encodeResult(v)
	if err != nil {
		h.log.Error("rpc: cannot encode result", "method", name, "err", err)
		return nil, ErrInternal
	}
	return res, nil
}

// asError maps a method's error to the reply: an *Error as it is, anything
// else as code 500 with the error's text (Kamailio's fault convention).
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		if e == nil { // a typed nil *Error returned as error
			return ErrInternal
		}
		return e
	}
	msg := err.Error()
	if msg == "" {
		return ErrInternal
	}
	return &Error{Code: http.StatusInternalServerError, Message: msg}
}

// reject answers a request refused before its body was decoded; the id is
// unknown, so it is null.
func (h *handler) reject(w http.ResponseWriter, r *http.Request, e *Error) {
	requestsRejected.Inc()
	h.fail(w, r, e, nullID)
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, e *Error, id []byte) {
	out := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(out)
	out.Reset()
	out.Write(appendErrorReply(out.AvailableBuffer(), e, id))
	writeReply(w, r, e.Status(), reasonPhrase(e.Message), out.Bytes())
}

// writeReply sends a reply. When the reason phrase is not the standard text of
// the status, which net/http cannot send, the reply is written by hand on the
// hijacked HTTP/1.x connection and the connection is closed; if hijacking is
// not possible (HTTP/2, a wrapper without Unwrap) the standard text is used.
func writeReply(w http.ResponseWriter, r *http.Request, status int, reason string, body []byte) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	if status != http.StatusOK && reason != "" && reason != http.StatusText(status) &&
		r.ProtoMajor == 1 && r.Method != http.MethodHead && writeHijacked(w, status, reason, body) {
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client may be gone; nothing more to do
}

func writeHijacked(w http.ResponseWriter, status int, reason string, body []byte) bool {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	hdr := w.Header().Clone()
	hdr.Del("Content-Length")
	hdr.Del("Connection")
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(hijackWriteTimeout))
	bw := rw.Writer
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(status))
	bw.WriteByte(' ')
	bw.WriteString(reason)
	bw.WriteString("\r\n")
	_ = hdr.Write(bw)
	bw.WriteString("Content-Length: ")
	bw.WriteString(strconv.Itoa(len(body)))
	bw.WriteString("\r\nConnection: close\r\n\r\n")
	bw.Write(body)
	_ = bw.Flush() // errors mean the client is gone
	return true
}
