package bpf

import "errors"

// Sentinel errors. Configuration errors wrap one of these with the offending
// value (operator input, never packet bytes); callers add file and line.
var (
	// ErrNotSupported is what every capability failure Is: the kernel, the
	// process's privileges or the interface cannot run the XDP filter.
	// Callers fall back to the user-space filter on it.
	ErrNotSupported = errors.New("bpf: not supported")

	ErrNoPorts         = errors.New("bpf: no SIP ports configured")
	ErrBadPort         = errors.New("bpf: port 0 is not a SIP port")
	ErrBadRate         = errors.New("bpf: rate limit needs packets >= 0, and a window and a ban time when packets > 0")
	ErrTooManyAgents   = errors.New("bpf: too many User-Agent prefixes")
	ErrBadUserAgent    = errors.New("bpf: User-Agent prefix must be 1 to 32 printable ASCII bytes, not starting with a space")
	ErrBadPrefix       = errors.New("bpf: invalid address prefix")
	ErrTooManyPrefixes = errors.New("bpf: too many address prefixes")
	ErrBadMaxSources   = errors.New("bpf: MaxSources out of range")
	ErrUnknownMode     = errors.New("bpf: unknown filter mode (want xdp, user, off or auto)")
	ErrNoInterfaces    = errors.New("bpf: XDP mode needs at least one interface")
	ErrNotFound        = errors.New("bpf: no such entry")
	ErrOff             = errors.New("bpf: the filter is off")
	ErrClosed          = errors.New("bpf: filter closed")
	ErrRestartRequired = errors.New("bpf: MaxSources cannot change without a restart")
)

// UnsupportedError reports that an operation failed for lack of a capability
// (kernel version or configuration, privileges, driver). It Is
// ErrNotSupported and unwraps to the underlying error. The shape follows
// cilium/ebpf's UnsupportedFeatureError.
type UnsupportedError struct {
	Op  string // what was attempted, e.g. "load XDP program", "attach to eth0"
	Err error  // the cause, as returned by the kernel or cilium/ebpf
}

func (e *UnsupportedError) Error() string {
	return "bpf: " + e.Op + ": not supported here: " + e.Err.Error()
}

// Is reports whether target is ErrNotSupported.
func (e *UnsupportedError) Is(target error) bool { return target == ErrNotSupported }

// Unwrap returns the cause.
func (e *UnsupportedError) Unwrap() error { return e.Err }
