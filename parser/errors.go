package parser

import "errors"

// Sentinel errors. None of them carries bytes of the message: a parse error is
// logged and counted on the hot path, and attacker-controlled text must never
// reach a log line through it. Message.ErrorOffset tells where parsing stopped
// when a caller wants to point at the place.
var (
	ErrEmpty              = errors.New("parser: empty message")
	ErrKeepAlive          = errors.New("parser: CRLF keep-alive, not a message")
	ErrTooLarge           = errors.New("parser: message exceeds MaxMessageSize")
	ErrLineTooLong        = errors.New("parser: line exceeds MaxLineLength")
	ErrTooManyHeaders     = errors.New("parser: more than MaxHeaders header fields")
	ErrStartLine          = errors.New("parser: malformed start line")
	ErrMethod             = errors.New("parser: malformed method")
	ErrRequestURI         = errors.New("parser: malformed Request-URI")
	ErrVersion            = errors.New("parser: malformed SIP version")
	ErrStatusCode         = errors.New("parser: malformed status code")
	ErrHeaderName         = errors.New("parser: malformed header name")
	ErrFoldedStart        = errors.New("parser: continuation line before any header")
	ErrNoHeaderEnd        = errors.New("parser: header section not terminated by an empty line")
	ErrContentLength      = errors.New("parser: malformed Content-Length")
	ErrContentLengthTwice = errors.New("parser: conflicting Content-Length headers")
	ErrBodyTooShort       = errors.New("parser: body shorter than Content-Length")
	ErrControlChar        = errors.New("parser: control character in header section")

	ErrMissingVia    = errors.New("parser: missing Via")
	ErrMissingFrom   = errors.New("parser: missing From")
	ErrMissingTo     = errors.New("parser: missing To")
	ErrMissingCallID = errors.New("parser: missing Call-ID")
	ErrMissingCSeq   = errors.New("parser: missing CSeq")
	ErrDuplicate     = errors.New("parser: single-valued header field repeated")
	ErrCSeq          = errors.New("parser: malformed CSeq")
	ErrCSeqMethod    = errors.New("parser: CSeq method differs from request method")
	ErrMaxForwards   = errors.New("parser: malformed Max-Forwards")
	ErrExpires       = errors.New("parser: malformed Expires")
	ErrCallID        = errors.New("parser: malformed Call-ID")

	ErrVia      = errors.New("parser: malformed Via")
	ErrURI      = errors.New("parser: malformed URI")
	ErrHost     = errors.New("parser: malformed host")
	ErrPort     = errors.New("parser: malformed port")
	ErrNameAddr = errors.New("parser: malformed name-addr")
	ErrParam    = errors.New("parser: malformed parameter")
	ErrQuoted   = errors.New("parser: unterminated quoted string")

	ErrTooManyEdits = errors.New("parser: too many edits")
	ErrEditOverlap  = errors.New("parser: overlapping edits")
	ErrEditText     = errors.New("parser: edit text exceeds the editor's scratch space")
	ErrNoSuchHeader = errors.New("parser: header to edit is absent")
)
