// Package parser reads SIP messages (RFC 3261) without copying them and
// writes the bytes a proxy sends on, without allocating.
//
// A Message is a view over the received bytes: Parse records spans (offsets)
// of the start line, of every header field and of the body, and nothing else.
// Header values are parsed further only on demand: Via (ParseVia), SIP URIs
// (ParseURI), name-addr values (ParseNameAddr), CSeq, Max-Forwards, Expires,
// parameters (Params), comma-separated values (Message.Values).
//
// Lifetime rule: a Message, and every Span, slice and struct obtained from it
// or from the on-demand parsers, is valid only while the buffer given to Parse
// is unchanged. Nothing is copied; nothing is retained by the package.
//
// Writing: an Editor describes the outgoing message as a few edits against
// the received one (insert our Via, fill received/rport, remove the top Via
// or Route, add Record-Route or Path, set Max-Forwards) and appends the result
// to a caller-supplied buffer; untouched bytes are copied as they are.
//
// What the package never does: allocate per message once a Message and an
// Editor exist, put message bytes into an error, panic on any input, resolve
// names, or decide policy (which version, scheme or loop is acceptable is the
// proxy's call).
package parser
