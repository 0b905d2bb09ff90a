package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
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
// visitor, so a crowd of them must cost the store one read per interval
// (sharedRead), not one per request.
type statsCache struct {
	every time.Duration
	reply sharedRead[statsReply]
}

// statsReply is /stats's answer, encoded once per read.
type statsReply struct {
	status int
	body   []byte
}

func newStatsCache(counts Counter, every time.Duration, log *slog.Logger) *statsCache {
	if every <= 0 {
		every = DefaultStatsEvery
	}
	read := func(ctx context.Context) (statsReply, error) {
		c, err := counts.Counts(ctx)
		if err != nil {
			log.Warn("stats: counts unavailable", "err", err)
			return statsReply{http.StatusServiceUnavailable, []byte(`{"error":"counts unavailable"}`)}, nil
		}
		body, _ := json.Marshal(c) // a struct of ints: never fails
		return statsReply{http.StatusOK, body}, nil
	}
	return &statsCache{every: every, reply: sharedRead[statsReply]{read: read, every: every, timeout: statsTimeout}}
}

// get returns the response, reading the counts when the last read is older
// than the interval.
func (s *statsCache) get(ctx context.Context) (int, []byte) {
	r, _ := s.reply.get(ctx) // a failed read is an answer of its own
	return r.status, r.body
}

func (s *statsCache) serve(c *gin.Context) {
	status, body := s.get(c.Request.Context())
	// Browsers and CDNs may keep it as long as the server does.
	c.Header("Cache-Control", "public, max-age="+strconv.Itoa(max(1, int(s.every/time.Second))))
	c.Data(status, "application/json; charset=utf-8", body)
}
