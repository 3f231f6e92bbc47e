package rpc

import (
	"errors"
	"net/http"
	"strconv"
)

// Error is a JSON-RPC error reply: what a method returns to fail with a given
// code and message, and what Client.Call returns when the server answers with
// an error member.
//
// Kamailio uses the fault code as the HTTP status too (500 for nearly every
// error), so HTTPStatus may be left zero: Status then derives it from Code.
type Error struct {
	Code       int    // "code" member of the reply
	Message    string // "message" member, and the HTTP reason phrase
	HTTPStatus int    // 0: Code when it is an HTTP error status (400..599), else 500
}

// The errors this package answers with. The Kamailio ones carry Kamailio's
// exact message strings, because tools match on them.
var (
	// ErrMethodNotFound answers a call to a method nobody registered.
	ErrMethodNotFound = &Error{Code: 500, Message: "Method Not Found"}
	// ErrInvalidParams answers missing or wrongly typed params; Params
	// accessors return it, and methods may return it as is.
	ErrInvalidParams = &Error{Code: 500, Message: "Invalid Parameters"}
	// ErrInternal answers a method that panicked or whose result cannot be
	// encoded. The message is the standard reason phrase of 500.
	ErrInternal = &Error{Code: 500, Message: "Internal Server Error"}
	// ErrParse answers an empty body or a body that is not JSON.
	ErrParse = &Error{Code: -32700, Message: "Parse Error", HTTPStatus: http.StatusBadRequest}
	// ErrInvalidRequest answers JSON that is not a JSON-RPC 2.0 request.
	ErrInvalidRequest = &Error{Code: -32600, Message: "Invalid Request", HTTPStatus: http.StatusBadRequest}
	// ErrUnauthorized answers a call without the configured bearer token.
	ErrUnauthorized = &Error{Code: http.StatusUnauthorized, Message: "Unauthorized"}
	// ErrForbidden answers a call made by a web browser (an Origin header).
	ErrForbidden = &Error{Code: http.StatusForbidden, Message: "Forbidden"}
	// ErrTooLarge answers a body over HandlerOptions.MaxBody.
	ErrTooLarge = &Error{Code: http.StatusRequestEntityTooLarge, Message: "Request Entity Too Large"}
)

// Errors of the built-in system.* methods, with Kamailio's codes and texts.
var (
	errMethodNameExpected = &Error{Code: 400, Message: "Method Name Expected"}
	errCommandNotFound    = &Error{Code: 400, Message: "command not found"}
	errNotImplemented     = &Error{Code: 500, Message: "Not Implemented Yet"}
)

// Client and configuration errors.
var (
	// ErrUnreachable wraps a failure to connect to the RPC server.
	ErrUnreachable = errors.New("rpc: cannot connect")
	// ErrBadReply means the server's answer is not a JSON-RPC 2.0 reply.
	ErrBadReply = errors.New("rpc: malformed reply")
	// ErrBadAddr means an RPC address is not host:port.
	ErrBadAddr = errors.New("rpc: bad address")
	// ErrNeedToken means a non-loopback RPC address was configured without a
	// token.
	ErrNeedToken = errors.New("rpc: a non-loopback RPC address needs a token")
)

// Error implements error. The text has the package prefix; the wire message is
// e.Message.
func (e *Error) Error() string {
	return "rpc: " + e.Message + " (code " + strconv.Itoa(e.Code) + ")"
}

// Is reports whether target is an *Error with the same code and message, so
// that errors.Is(err, rpc.ErrMethodNotFound) holds for an error decoded by
// Client as well as for the sentinel itself.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == e.Message
}

// Status is the HTTP status the reply carries.
func (e *Error) Status() int {
	if e.HTTPStatus != 0 {
		return e.HTTPStatus
	}
	if e.Code >= 400 && e.Code <= 599 {
		return e.Code
	}
	return http.StatusInternalServerError
}
