package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/memory"
)

func TestDisconnectReasonsStayBounded(t *testing.T) {
	m := New()
	for _, r := range []string{"transport close", "ping timeout", "something new", "", "Transport Close"} {
		m.Disconnected(r)
	}
	for label, want := range map[string]float64{"transport close": 2, "ping timeout": 1, "other": 2} {
		if got := testutil.ToFloat64(m.disconnects.WithLabelValues(label)); got != want {
			t.Errorf("disconnects{reason=%q} = %v, want %v", label, got, want)
		}
	}
	if n := testutil.CollectAndCount(m.disconnects); n != 3 {
		t.Errorf("%d disconnect series, want 3", n)
	}
}

// failing is a store whose calls fail with err.
type failing struct {
	queue.Store
	err error
}

func (f failing) Join(context.Context, string, queue.Profile) error { return f.err }

func TestStoreCountsFailuresNotRefusals(t *testing.T) {
	tests := []struct {
		err    error
		failed bool
	}{
		{nil, false},
		{queue.ErrBusy, false},
		{fmt.Errorf("join x: %w", queue.ErrNotJoined), false},
		{&queue.CoolDownError{Remaining: time.Second}, false},
		{fmt.Errorf("join x: %w", queue.ErrInstanceGone), false},
		{context.DeadlineExceeded, true},
		{errors.New("connection refused"), true},
		{queue.ErrStoreFull, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			m := New()
			st := m.Store(failing{Store: memory.New(queue.StoreOptions{}), err: tt.err})
			if err := st.Join(context.Background(), "u", queue.Profile{}); !errors.Is(err, tt.err) {
				t.Fatalf("Join returned %v, want %v", err, tt.err)
			}
			var want float64
			if tt.failed {
				want = 1
			}
			if got := testutil.ToFloat64(m.storeErrors.WithLabelValues("join")); got != want {
				t.Errorf("errors %v, want %v", got, want)
			}
			if n := sample(t, m, `zivro_store_call_duration_seconds_count{op="join"}`); n != 1 {
				t.Errorf("join calls timed %d, want 1", n)
			}
		})
	}
}

func TestStoreObservesEventLag(t *testing.T) {
	m := New()
	st := m.Store(memory.New(queue.StoreOptions{}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	got := make(chan queue.Event, 4)
	go func() {
		_ = st.Listen(ctx, func() { close(ready) }, func(e queue.Event) { got <- e })
	}()
	<-ready
	for _, id := range []string{"a", "b"} {
		if err := st.Join(ctx, id, queue.Profile{Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // both are told of the match
		select {
		case e := <-got:
			if e.At.IsZero() {
				t.Fatalf("event %+v has no time", e)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5 s")
		}
	}
	if n := sample(t, m, "zivro_store_event_lag_seconds_count"); n != 2 {
		t.Fatalf("lag observed %d times, want 2", n)
	}
}

// sample reads one integer sample (a count, a gauge) from
// the exposition.
func sample(t *testing.T, m *Metrics, series string) int {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(w.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var n int
			if _, err := fmt.Sscan(v, &n); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("%s not in /metrics", series)
	return 0
}

func TestScrapeTimeFigures(t *testing.T) {
	tests := []struct {
		name    string
		sockets map[string]int
		counts  queue.Counts
		err     error
		want    map[string]int // series → value; absent: not exposed
	}{
		{"figures", map[string]int{"websocket": 2, "": 1}, queue.Counts{Online: 5, Waiting: 1, InCall: 4}, nil, map[string]int{
			`zivro_connected_sockets{transport="polling"}`:   0,
			`zivro_connected_sockets{transport="websocket"}`: 2,
			`zivro_connected_sockets{transport="unknown"}`:   1,
			"zivro_users_online":                             5,
			"zivro_users_waiting":                            1,
			"zivro_pairs_in_call":                            2,
		}},
		{"store down", map[string]int{}, queue.Counts{}, errors.New("down"), map[string]int{
			`zivro_connected_sockets{transport="polling"}`: 0,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New()
			m.WatchSockets(func() map[string]int { return tt.sockets })
			m.WatchCounts(func(context.Context) (queue.Counts, error) { return tt.counts, tt.err })
			for series, want := range tt.want {
				if got := sample(t, m, series); got != want {
					t.Errorf("%s = %d, want %d", series, got, want)
				}
			}
			if tt.err != nil {
				w := httptest.NewRecorder()
				m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
				if strings.Contains(w.Body.String(), "zivro_users_waiting ") {
					t.Error("figures exposed while the store is down")
				}
			}
		})
	}
}
