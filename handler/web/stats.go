package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/zivro/zivro/queue"
)

// Counter gives the public counts across every instance (queue.Service).
type Counter interface {
	Counts(ctx context.Context) (queue.Counts, error)
}

// DefaultStatsEvery is how long /stats serves the same figures.
const DefaultStatsEvery = 2 * time.Second

// statsTimeout bounds the store read behind /stats.
const statsTimeout = time.Second

// statsCache serves /stats: a landing page shows the counts to every
// visitor, so a crowd of them must cost the store one read per interval,
// not one per request. Requests that arrive while the figures are being
// read wait for that read (bounded by statsTimeout) instead of starting
// their own. A failed read is kept for the interval too: a store that is
// down is not asked again by every visitor.
type statsCache struct {
	counts Counter
	every  time.Duration
	log    *slog.Logger

	mu     sync.Mutex
	readAt time.Time
	status int
	body   []byte
}

func newStatsCache(counts Counter, every time.Duration, log *slog.Logger) *statsCache {
	if every <= 0 {
		every = DefaultStatsEvery
	}
	return &statsCache{counts: counts, every: every, log: log}
}

// get returns the response, reading the counts when the last read is older
// than the interval.
func (s *statsCache) get(ctx context.Context) (int, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.body != nil && time.Since(s.readAt) < s.every {
		return s.status, s.body
	}
	// The read is shared: a visitor who gives up must not cancel it for
	// those waiting behind.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statsTimeout)
	defer cancel()
	c, err := s.counts.Counts(ctx)
	s.readAt = time.Now()
	if err != nil {
		s.log.Warn("stats: counts unavailable", "err", err)
		s.status, s.body = http.StatusServiceUnavailable, []byte(`{"error":"counts unavailable"}`)
		return s.status, s.body
	}
	s.status = http.StatusOK
	s.body, _ = json.Marshal(c) // a struct of ints: never fails
	return s.status, s.body
}

func (s *statsCache) serve(c *gin.Context) {
	status, body := s.get(c.Request.Context())
	// Browsers and CDNs may keep it as long as the server does.
	c.Header("Cache-Control", "public, max-age="+strconv.Itoa(max(1, int(s.every/time.Second))))
	c.Data(status, "application/json; charset=utf-8", body)
}
