package bpf

import (
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Filter is the run-time management surface shared by the XDP and the
// user-space filter, for the RPC methods and the metrics. It is not used per
// packet: the XDP program needs no call, and the user-space packet path is
// (*Userspace).Check, reached without an interface.
type Filter interface {
	// Mode is ModeXDP, ModeUser or ModeOff.
	Mode() Mode
	// Counters returns packet counts by reason (summed over CPUs).
	Counters() (Counters, error)

	// Bans lists the operator ban list; AddBan and RemoveBan edit it.
	Bans() ([]netip.Prefix, error)
	AddBan(netip.Prefix) error
	RemoveBan(netip.Prefix) error

	// Allowed lists the allow list; AddAllow and RemoveAllow edit it.
	Allowed() ([]netip.Prefix, error)
	AddAllow(netip.Prefix) error
	RemoveAllow(netip.Prefix) error

	// AutoBans lists the automatic bans in force; ClearAutoBan and
	// ClearAutoBans lift them.
	AutoBans() ([]AutoBan, error)
	ClearAutoBan(netip.Addr) (bool, error)
	ClearAutoBans() (int, error)

	// Update applies a new configuration (a reload).
	Update(Config) error
	// Close detaches the filter (XDP) and stops its metrics.
	Close() error
}

// AutoBan is an automatic ban in force.
type AutoBan struct {
	Addr      netip.Addr
	Remaining time.Duration
}

func sortAutoBans(b []AutoBan) {
	slices.SortFunc(b, func(x, y AutoBan) int { return x.Addr.Compare(y.Addr) })
}

var (
	_ Filter = (*XDP)(nil)
	_ Filter = (*Userspace)(nil)
	_ Filter = offFilter{}
)

// Open starts the filter that mode asks for and returns what is in force:
//
//   - ModeXDP: the XDP program attached to every interface in ifaces, or an
//     error (which Is ErrNotSupported when the host cannot run it);
//   - ModeUser: a *Userspace, whose Check the receive workers must call;
//   - ModeOff: a Filter whose Mode is ModeOff, which filters nothing;
//   - ModeAuto: XDP when it loads and attaches, else user space.
//
// Configuration errors fail in every mode; in auto mode only capability
// errors (ErrNotSupported) fall back. Open logs one line saying what is in
// force and, for a fallback, why. A nil logger means slog.Default().
func Open(mode Mode, ifaces []string, cfg Config, logger *slog.Logger) (Filter, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch mode {
	case ModeOff:
		logger.Info("flood filter off")
		return offFilter{}, nil
	case ModeUser:
		u, err := NewUserspace(cfg)
		if err != nil {
			return nil, err
		}
		logger.Info("flood filter in user space", "reason", "mode user")
		return u, nil
	case ModeXDP:
		x, err := LoadXDP(cfg, ifaces)
		if err != nil {
			return nil, err
		}
		logger.Info("flood filter in XDP", "interfaces", attachedList(x))
		return x, nil
	case ModeAuto:
		why := "no interface given"
		if len(ifaces) > 0 {
			x, err := LoadXDP(cfg, ifaces)
			if err == nil {
				logger.Info("flood filter in XDP", "interfaces", attachedList(x), "reason", "mode auto")
				return x, nil
			}
			if !errors.Is(err, ErrNotSupported) {
				return nil, err
			}
			why = "XDP unavailable: " + err.Error()
		}
		u, err := NewUserspace(cfg)
		if err != nil {
			return nil, err
		}
		logger.Info("flood filter in user space", "reason", why)
		return u, nil
	}
	return nil, ErrUnknownMode
}

func attachedList(x *XDP) string {
	var b strings.Builder
	for i, a := range x.Attachments() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.Interface + " (" + a.Mode + ")")
	}
	return b.String()
}

// offFilter is what Open returns for ModeOff.
type offFilter struct{}

func (offFilter) Mode() Mode                            { return ModeOff }
func (offFilter) Counters() (Counters, error)           { return Counters{}, nil }
func (offFilter) Bans() ([]netip.Prefix, error)         { return nil, ErrOff }
func (offFilter) AddBan(netip.Prefix) error             { return ErrOff }
func (offFilter) RemoveBan(netip.Prefix) error          { return ErrOff }
func (offFilter) Allowed() ([]netip.Prefix, error)      { return nil, ErrOff }
func (offFilter) AddAllow(netip.Prefix) error           { return ErrOff }
func (offFilter) RemoveAllow(netip.Prefix) error        { return ErrOff }
func (offFilter) AutoBans() ([]AutoBan, error)          { return nil, ErrOff }
func (offFilter) ClearAutoBan(netip.Addr) (bool, error) { return false, ErrOff }
func (offFilter) ClearAutoBans() (int, error)           { return 0, ErrOff }
func (offFilter) Update(Config) error                   { return nil }
func (offFilter) Close() error                          { return nil }
