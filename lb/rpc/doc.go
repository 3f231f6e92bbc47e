// Package rpc is sipfront's control API framing: JSON-RPC 2.0 over HTTP, answered
// the way Kamailio's jsonrpcs module answers, so that tools written for
// Kamailio work unchanged against sipfront.
//
// It holds four things and knows no method of its own beyond the three
// system.* introspection methods Kamailio also has:
//
//   - the request decoder (valyala/fastjson through a ParserPool) and the
//     reply encoder;
//   - Registry, where package lb registers dispatcher.list, core.version and
//     the rest;
//   - NewHandler, the http.Handler mounted on /RPC;
//   - Client, used by cmd/sipfrontctl (and by tests) to call it.
//
// # Wire behaviour
//
// Copied from Kamailio 5.6.3 (recorded in testdata/kamailio/, replayed by
// kamailio_test.go):
//
//   - a successful call answers HTTP 200 with
//     {"jsonrpc":"2.0","result":R,"id":ID}; a nil result is sent as {} (never
//     null), as Kamailio does for a method that adds nothing;
//   - an error answers {"jsonrpc":"2.0","error":{"code":C,"message":M},"id":ID}
//     with HTTP status C (500 for the Kamailio errors: Method Not Found,
//     Invalid Parameters, ...) and M as the HTTP reason phrase;
//   - the id is echoed as given (number text byte for byte, string, null) and
//     omitted when the request had none: a request without id still gets a
//     reply;
//   - params are positional; an object's values are taken in document order
//     with their names ignored, as jsonrpcs does;
//   - a batch (JSON array) is not supported by Kamailio, which answers
//     HTTP 200 {"jsonrpc":"2.0","result":{}} without running anything; so does
//     this package;
//   - the Content-Type of the request is not checked, and the body is read
//     whatever the HTTP method.
//
// Better than Kamailio (which sends no reply at all, or a silent empty result):
//
//   - an empty body (so a plain GET), unparsable JSON, trailing garbage or
//     anything encoding/json calls invalid (NaN, 01, raw control characters):
//     HTTP 400, code -32700 "Parse Error", id null;
//   - a parsable request that is not a JSON-RPC 2.0 call (not an object,
//     "jsonrpc" not "2.0", "method" not a string, an id that is an object,
//     array or boolean): HTTP 400, code -32600 "Invalid Request";
//   - params that are neither array, object nor null: Invalid Parameters;
//     a number where Params.Int wants an integer but finds 1.7, or a string:
//     Invalid Parameters (Kamailio truncates to 1, or reads the string as 0);
//   - a body over HandlerOptions.MaxBody: HTTP 413 (Kamailio drops the
//     connection);
//   - a request carrying an Origin header (every browser POST does): HTTP 403,
//     so a web page cannot drive the loopback API (CSRF, DNS rebinding);
//   - with HandlerOptions.Token set, a call without the bearer token: HTTP 401;
//   - a panicking method: HTTP 500 "Internal Server Error", logged with its
//     stack; the server goes on.
//
// net/http cannot send a custom reason phrase, so an error reply whose message
// is not the standard text of its status is written on the hijacked HTTP/1.x
// connection, which is then closed (Connection: close). Success replies and
// HTTP/2 keep the connection. Wrappers around the ResponseWriter must support
// http.ResponseController (an Unwrap method) for the reason phrase to survive.
//
// # Metrics
//
// sipfront_rpc_requests_total{outcome} counts calls by outcome: ok,
// method_error (the method returned an error), invalid (parse error, invalid
// request, unknown method, bad params, batch) and rejected (token, browser,
// size). sipfront_rpc_method_panics_total counts recovered panics. Labels
// never carry request bytes.
//
// # What it never does
//
// It never reads an unbounded body, never lets a method's panic reach the HTTP
// server, never echoes request bytes into a reason phrase unsanitised, and never
// imports another sipfront package. It does not set server timeouts: the
// http.Server that mounts NewHandler must set ReadHeaderTimeout and
// ReadTimeout.
//
// # Memory
//
// The request body and its parsed form belong to the handler for the length of
// one call. Params is a view into the parsed request: it is valid only until
// the method returns, and must not be retained. The strings and byte slices
// Params returns are copies the method may keep. The result a method returns is
// encoded (encoding/json) after the method returns, so it must not be mutated
// concurrently. Client.Call returns a RawMessage the caller owns.
package rpc
