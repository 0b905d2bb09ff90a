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
// new ones. An address with no connection and a full budget is forgotten
// at the next sweep, so the table holds only addresses active within about
// a minute.
type addrLimiter struct {
	limits AddrLimits

	mu    sync.Mutex
	addrs map[netip.Prefix]*addrUse
	// sweepAt is the table size at which forgettable addresses are removed.
	sweepAt int
}

type addrUse struct {
	conns  int
	starts *rate.Limiter
}

// minSweep is the smallest table size that triggers a sweep.
const minSweep = 1024

func newAddrLimiter(limits AddrLimits) *addrLimiter {
	return &addrLimiter{limits: limits.withDefaults(), addrs: map[netip.Prefix]*addrUse{}, sweepAt: minSweep}
}

// admit takes one new connection of key, and returns how to release it
// when the connection ends; "" is returned as reason with it. Over a
// limit, nothing is taken and reason says which.
func (l *addrLimiter) admit(key netip.Prefix, now time.Time) (release func(), reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.addrs[key]
	if u == nil {
		l.sweep(now)
		per := l.limits.NewConnsPerMinute
		u = &addrUse{starts: rate.NewLimiter(rate.Limit(float64(per)/60), per)}
		l.addrs[key] = u
	}
	if u.conns >= l.limits.MaxConns {
		return nil, "too many connections from your address"
	}
	if !u.starts.AllowN(now, 1) {
		return nil, "too many new connections from your address, try again in a minute"
	}
	u.conns++
	return sync.OnceFunc(func() {
		l.mu.Lock()
		u.conns--
		l.mu.Unlock()
	}), ""
}

// sweep forgets idle addresses when the table has grown to sweepAt.
func (l *addrLimiter) sweep(now time.Time) {
	if len(l.addrs) < l.sweepAt {
		return
	}
	burst := float64(l.limits.NewConnsPerMinute)
	for k, u := range l.addrs {
		if u.conns == 0 && u.starts.TokensAt(now) >= burst {
			delete(l.addrs, k)
		}
	}
	l.sweepAt = max(minSweep, 2*len(l.addrs))
}

// admitConnections refuses, with 429, a handshake from an address over
// one of its limits, and otherwise counts it until its session ends.
func admitConnections(l *addrLimiter, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !handshake(c.Request) {
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

// handshake reports whether r opens a new Engine.IO session: a request to
// the Socket.IO endpoint without a session id (a polling handshake, or a
// websocket without polling first).
func handshake(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/socket.io/") && !r.URL.Query().Has("sid")
}
