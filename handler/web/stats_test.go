package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zivro/zivro/internal/eventually"
	"github.com/zivro/zivro/queue"
)

// fakeCounter counts its reads and answers with counts, or err.
type fakeCounter struct {
	reads  atomic.Int32
	counts queue.Counts
	err    error
	// block, when set, holds every read until it is closed.
	block chan struct{}
}

func (f *fakeCounter) Counts(ctx context.Context) (queue.Counts, error) {
	f.reads.Add(1)
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return queue.Counts{}, ctx.Err()
		}
	}
	return f.counts, f.err
}

func statsRouter(c Counter, every time.Duration) http.Handler {
	return New(Config{
		AllowedOrigins: mustOrigins("http://allowed.test"),
		Counts:         c,
		StatsEvery:     every,
	}, nopPinger{}, http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

type nopPinger struct{}

func (nopPinger) Ping(context.Context) error { return nil }

func getStats(t *testing.T, h http.Handler, origin string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/stats", nil)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestStats(t *testing.T) {
	tests := []struct {
		name       string
		counter    *fakeCounter
		origin     string
		wantStatus int
		wantBody   string
		wantACAO   string
	}{
		{"counts", &fakeCounter{counts: queue.Counts{Online: 7, Waiting: 1, InCall: 4}}, "",
			http.StatusOK, `{"online":7,"waiting":1,"inCall":4}`, ""},
		{"allowed origin", &fakeCounter{}, "http://allowed.test",
			http.StatusOK, `{"online":0,"waiting":0,"inCall":0}`, "http://allowed.test"},
		{"other origin", &fakeCounter{}, "http://evil.test",
			http.StatusForbidden, ``, ""},
		{"store down", &fakeCounter{err: errors.New("down")}, "",
			http.StatusServiceUnavailable, `{"error":"counts unavailable"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := getStats(t, statsRouter(tt.counter, time.Hour), tt.origin)
			if w.Code != tt.wantStatus || w.Body.String() != tt.wantBody {
				t.Fatalf("GET /stats = %d %s, want %d %s", w.Code, w.Body, tt.wantStatus, tt.wantBody)
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
				t.Fatalf("Access-Control-Allow-Origin %q, want %q", got, tt.wantACAO)
			}
		})
	}
}

// A crowd of requests costs one read per interval, also the requests that
// arrive while that read is under way: the read is held until every
// request waits (for it, or for a read of its own, which then shows in the
// count).
func TestStatsReadsOncePerInterval(t *testing.T) {
	const requests = 100
	f := &fakeCounter{counts: queue.Counts{Online: 2}, block: make(chan struct{})}
	h := statsRouter(f, time.Hour)
	var wg sync.WaitGroup
	codes := make(chan int, requests)
	for range requests {
		wg.Go(func() { codes <- statsRequest(t, h) })
	}
	eventually.True(t, 10*time.Second, func() (bool, string) {
		n := blockedIn("web.statsRequest(")
		return n == requests && f.reads.Load() > 0, fmt.Sprintf("%d of %d requests waiting, %d reads", n, requests, f.reads.Load())
	})
	close(f.block)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Fatalf("status %d", c)
		}
	}
	if n := f.reads.Load(); n != 1 {
		t.Fatalf("100 requests within the interval read the counts %d times, want 1", n)
	}
}

// statsRequest is one GET /stats, its name the mark blockedIn looks for.
func statsRequest(t *testing.T, h http.Handler) int {
	return getStats(t, h, "").Code
}

// blockedIn counts the goroutines that are blocked (on a lock, a channel,
// a condition: not running) with fn in their stack. Whatever the handler
// waits on, a request that waits shows here.
func blockedIn(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	blocked := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		if strings.Contains(g, fn) && !strings.Contains(header, "[running]") && !strings.Contains(header, "[runnable]") {
			blocked++
		}
	}
	return blocked
}

func TestStatsReadsAgainAfterInterval(t *testing.T) {
	const every = 50 * time.Millisecond
	f := &fakeCounter{counts: queue.Counts{Online: 1}}
	h := statsRouter(f, every)
	if w := getStats(t, h, ""); w.Body.String() != `{"online":1,"waiting":0,"inCall":0}` {
		t.Fatalf("first read: %s", w.Body)
	}
	f.counts = queue.Counts{Online: 2} // not read by the handler concurrently: reads are sequential here
	if w := getStats(t, h, ""); w.Body.String() != `{"online":1,"waiting":0,"inCall":0}` {
		t.Fatalf("within the interval: %s, want the cached figures", w.Body)
	}
	time.Sleep(every) // the clock, not a race: the figures are now older than the interval
	if w := getStats(t, h, ""); w.Body.String() != `{"online":2,"waiting":0,"inCall":0}` {
		t.Fatalf("after the interval: %s, want fresh figures", w.Body)
	}
	if n := f.reads.Load(); n != 2 {
		t.Fatalf("%d reads, want 2", n)
	}
}
