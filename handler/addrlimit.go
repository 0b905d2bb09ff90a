package handler

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/zivro/zivro/handler/socketio"
)

// AddrLimits bound what one client address (AddrKey) may open: Socket.IO
// connections at once, and new ones per minute. The defaults leave room
// for a campus or a mobile carrier's NAT, where many people share one
// address, and stop one machine from holding hundreds of connections.
type AddrLimits struct {
	// MaxConns is how many connections one address may hold at once.
	// Default 100.
	MaxConns int
	// NewConnsPerMinute is how many connections one address may open per
	// minute, all of them at once after a quiet minute. Default 120.
	NewConnsPerMinute int
}

func (l AddrLimits) withDefaults() AddrLimits {
	if l.MaxConns <= 0 {
		l.MaxConns = 100
	}
	if l.NewConnsPerMinute <= 0 {
		l.NewConnsPerMinute = 120
	}
	return l
}

// addrLimiter keeps, per address, its open connections and its budget of
// new ones. An address with no connection and a full budget is forgettable
// (addrTable).
type addrLimiter struct {
	limits AddrLimits
	table  *addrTable[addrUse]
}

type addrUse struct {
	conns  int
	starts *rate.Limiter
}

func newAddrLimiter(limits AddrLimits) *addrLimiter {
	limits = limits.withDefaults()
	return &addrLimiter{limits: limits, table: newAddrTable(
		func() *addrUse { return &addrUse{starts: perMinute(limits.NewConnsPerMinute)} },
		func(u *addrUse, now time.Time) bool { return u.conns == 0 && refilled(u.starts, now) },
	)}
}

// admit takes one new connection of key, and returns how to release it
// when the connection ends; "" is returned as reason with it. Over a
// limit, nothing is taken and reason says which.
func (l *addrLimiter) admit(key netip.Prefix, now time.Time) (release func(), reason string) {
	l.table.mu.Lock()
	defer l.table.mu.Unlock()
	u := l.table.entry(key, now)
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

// admitConnections refuses, with 429, a handshake from an address over
// one of its limits, and otherwise counts it until its session ends.
func admitConnections(l *addrLimiter, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !strings.HasPrefix(c.Request.URL.Path, "/socket.io/") || !socketio.IsHandshake(c.Request) {
			c.Next()
			return
		}
		addr, _ := ClientAddr(c.Request.Context())
		release, reason := l.admit(AddrKey(addr), time.Now())
		if release == nil {
			// No address in the log: it is personal data, and the
			// line is of one kind for every address (see ratelog).
			log.Warn("connection refused", "reason", reason)
			c.Header("Retry-After", "60")
			c.AbortWithStatusJSON(http.StatusTooManyRequests, gin.H{"code": http.StatusTooManyRequests, "message": reason})
			return
		}
		c.Request = socketio.OnSessionEnd(c.Request, release)
		c.Next()
	}
}
