package clientaddr

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits bound what one client address (Key) may open: Socket.IO
// connections at once, and new ones per minute. The defaults leave room
// for a campus or a mobile carrier's NAT, where many people share one
// address, and stop one machine from holding hundreds of connections.
type Limits struct {
	// MaxConns is how many connections one address may hold at once.
	// Default DefaultMaxConns.
	MaxConns int
	// NewConnsPerMinute is how many connections one address may open per
	// minute, all of them at once after a quiet minute. Default
	// DefaultNewConnsPerMinute.
	NewConnsPerMinute int
}

// Defaults of Limits, which config's table also takes for the README.
const (
	DefaultMaxConns          = 100
	DefaultNewConnsPerMinute = 120
)

func (l Limits) withDefaults() Limits {
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.NewConnsPerMinute <= 0 {
		l.NewConnsPerMinute = DefaultNewConnsPerMinute
	}
	return l
}

// Limiter keeps, per address, its open connections and its budget of
// new ones. An address with no connection and a full budget is forgettable
// (Table).
type Limiter struct {
	limits Limits
	table  *Table[addrUse]
}

type addrUse struct {
	conns  int
	starts *rate.Limiter
}

// NewLimiter returns a limiter of limits (defaults for zero fields).
func NewLimiter(limits Limits) *Limiter {
	limits = limits.withDefaults()
	return &Limiter{limits: limits, table: NewTable(
		func() *addrUse { return &addrUse{starts: PerMinute(limits.NewConnsPerMinute)} },
		func(u *addrUse, now time.Time) bool { return u.conns == 0 && Refilled(u.starts, now) },
	)}
}

// Admit takes one new connection of key, and returns how to release it
// when the connection ends; "" is returned as reason with it. Over a
// limit, nothing is taken and reason says which.
func (l *Limiter) Admit(key netip.Prefix, now time.Time) (release func(), reason string) {
	l.table.mu.Lock()
	defer l.table.mu.Unlock()
	u := l.table.Entry(key, now)
	if u.conns >= l.limits.MaxConns {
		return nil, "too many connections from your address"
	}
	if !u.starts.AllowN(now, 1) {
		return nil, "too many new connections from your address, try again in a minute"
	}
	u.conns++
	return sync.OnceFunc(func() {
		l.table.mu.Lock()
		u.conns--
		l.table.mu.Unlock()
	}), ""
}
