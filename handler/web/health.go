package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// DefaultHealthEvery is how long /health serves the same store check: a
// store that goes down is reported within it.
const DefaultHealthEvery = time.Second

// healthTimeout bounds the store check behind /health.
const healthTimeout = time.Second

// healthCache checks the store for /health at most once per interval: a
// request per store round trip let anyone who can reach /health (10,000
// requests a second from one machine) make the store answer as many PINGs,
// and every user wait behind them. As with /stats (statsCache), requests
// that arrive during a check wait for it instead of starting their own, and
// a failed check is kept for the interval too.
type healthCache struct {
	store Pinger
	every time.Duration

	mu       sync.Mutex
	checked  bool
	pingedAt time.Time
	err      error
}

func newHealthCache(store Pinger, every time.Duration) *healthCache {
	if every <= 0 {
		every = DefaultHealthEvery
	}
	return &healthCache{store: store, every: every}
}

// ping returns the last check's result, checking again when it is older
// than the interval.
func (h *healthCache) ping(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.checked && time.Since(h.pingedAt) < h.every {
		return h.err
	}
	// The check is shared: a client who gives up must not cancel it for
	// those waiting behind.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), healthTimeout)
	defer cancel()
	h.err = h.store.Ping(ctx)
	h.checked, h.pingedAt = true, time.Now()
	return h.err
}

// healthStatus is /health's answer, fields in the original's order.
type healthStatus struct {
	Status string  `json:"status"`
	Env    string  `json:"env"`
	Uptime float64 `json:"uptime"`
}

func (h *healthCache) serve(cfg Config) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h.ping(c.Request.Context()); err != nil {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "redis-down"})
			return
		}
		c.JSON(http.StatusOK, healthStatus{Status: "ok", Env: cfg.Env, Uptime: time.Since(cfg.Started).Seconds()})
	}
}
