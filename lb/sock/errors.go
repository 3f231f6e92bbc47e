//go:build linux

package sock

import "errors"

// Sentinel errors. Per-message send failures are not errors of the call: they
// are recorded as a syscall.Errno in [Msg.Err] (see [Conn.WriteBatch]).
var (
	// ErrNetwork: ListenUDP was given a network other than udp, udp4 or udp6.
	ErrNetwork = errors.New("sock: network must be udp, udp4 or udp6")
	// ErrAddrFamily: the listen address does not fit the network (an IPv6
	// address with udp4, an IPv4 address with udp6).
	ErrAddrFamily = errors.New("sock: listen address family does not match the network")
	// ErrBatchRange: WriteBatch was asked to send more messages than the batch
	// holds, or a negative number.
	ErrBatchRange = errors.New("sock: message count outside the batch")
	// ErrEmptyBatch: ReadBatch was given a batch without slots.
	ErrEmptyBatch = errors.New("sock: batch has no slots")
)
