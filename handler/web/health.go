package web

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// DefaultHealthEvery is how long /health serves the same store check: a
// store that goes down is reported within it.
const DefaultHealthEvery = time.Second

// healthTimeout bounds the store check behind /health.
const healthTimeout = time.Second

// healthCache checks the store for /health at most once per interval
// (sharedRead): a request per store round trip let anyone who can reach
// /health (10,000 requests a second from one machine) make the store
// answer as many PINGs, and every user wait behind them.
type healthCache struct {
	check sharedRead[struct{}]
}

func newHealthCache(store Pinger, every time.Duration) *healthCache {
	if every <= 0 {
		every = DefaultHealthEvery
	}
	ping := func(ctx context.Context) (struct{}, error) { return struct{}{}, store.Ping(ctx) }
	return &healthCache{check: sharedRead[struct{}]{read: ping, every: every, timeout: healthTimeout}}
}

// ping returns the last check's result, checking again when it is older
// than the interval.
func (h *healthCache) ping(ctx context.Context) error {
	_, err := h.check.get(ctx)
	return err
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
