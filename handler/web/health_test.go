package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zivro/zivro/internal/eventually"
)

// countingPinger counts its pings, each of which takes a while (so that
// concurrent requests overlap), and fails while down is set.
type countingPinger struct {
	pings atomic.Int32
	down  atomic.Bool
}

func (p *countingPinger) Ping(ctx context.Context) error {
	p.pings.Add(1)
	select {
	case <-time.After(20 * time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	if p.down.Load() {
		return errors.New("store down")
	}
	return nil
}

func healthRouter(p Pinger, every time.Duration) http.Handler {
	return New(Config{Counts: &fakeCounter{}, HealthEvery: every}, p, http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func getHealth(h http.Handler) int {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/health", nil))
	return w.Code
}

// Within the interval, any number of /health requests, at once or one
// after the other, cost the store one check.
func TestHealthChecksTheStoreOncePerInterval(t *testing.T) {
	p := &countingPinger{}
	h := healthRouter(p, time.Minute)
	const n = 50
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for range n {
		wg.Go(func() { codes <- getHealth(h) })
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusOK {
			t.Fatalf("concurrent /health: %d", code)
		}
	}
	for range n {
		if code := getHealth(h); code != http.StatusOK {
			t.Fatalf("sequential /health: %d", code)
		}
	}
	if got := p.pings.Load(); got != 1 {
		t.Fatalf("%d requests within the interval cost %d pings, want 1", 2*n, got)
	}
}

// A store that goes down is reported within the interval, and the failure
// is kept for the interval too.
func TestHealthReportsAStoreDownWithinTheInterval(t *testing.T) {
	const every = 300 * time.Millisecond
	p := &countingPinger{}
	h := healthRouter(p, every)
	if code := getHealth(h); code != http.StatusOK {
		t.Fatalf("store up: %d", code)
	}
	p.down.Store(true)
	downAt := time.Now()
	eventually.True(t, every+time.Second, func() (bool, string) {
		return getHealth(h) == http.StatusServiceUnavailable, fmt.Sprintf("store down for %v, /health still 200 (interval %v)", time.Since(downAt), every)
	})
	pings := p.pings.Load()
	for range 20 {
		if code := getHealth(h); code != http.StatusServiceUnavailable {
			t.Fatalf("right after the failed check: %d, want 503", code)
		}
	}
	if got := p.pings.Load(); got != pings {
		t.Fatalf("a failed check was not kept: %d more pings within the interval", got-pings)
	}
}
