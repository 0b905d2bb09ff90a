package queue_test

// The rules about time, on testing/synctest's fake clock with the memory
// store (whose windows are read from the same clock): each is checked on
// both sides of its bound, a moment before (nothing yet) and the latency
// the service promises after (done), with nobody acting in between.
// synctest.Wait lets every goroutine of the service and the store settle
// before each look, so what is not announced by then never will be.

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/memory"
)

// settle advances the fake clock by d and waits until the service and the
// store have done everything due by then.
func settle(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// noSweeps is a service configuration whose sweeps (which run matching
// too) never come in a test: only the run the service schedules after a
// window can pair anyone then.
var noSweeps = queue.Config{SweepEvery: 24 * time.Hour}

// newMatches returns id's matches after its first skip announcements.
func (r *recorder) newMatches(id string, skip int) []queue.Match {
	var out []queue.Match
	for _, a := range r.of(id)[skip:] {
		if a.matched {
			out = append(out, a.match)
		}
	}
	return out
}

// After a Next, the two are matched again when the no-rematch window ends
// (nobody else waits, nobody acts), and not a moment before; after a
// block, never.
func TestRematchWindowBounds(t *testing.T) {
	const window = 2 * time.Minute
	tests := []struct {
		name    string
		end     func(h *harness) error
		rematch bool
	}{
		{"next", func(h *harness) error { return h.svc.Next(context.Background(), "a") }, true},
		{"block", func(h *harness) error { return h.svc.Block(context.Background(), "a") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := serve(t, memory.New(queue.StoreOptions{RematchWindow: window}), noSweeps)
				h.mustJoinAt(t, "a", "1")
				h.mustJoinAt(t, "b", "2")
				synctest.Wait()
				if _, ok := h.rec.lastMatch("a"); !ok {
					t.Fatal("a and b not matched")
				}
				if err := tt.end(h); err != nil {
					t.Fatal(err)
				}
				settle(window - time.Millisecond)
				for _, id := range []string{"a", "b"} {
					if m := h.rec.newMatches(id, 1); len(m) != 0 {
						t.Fatalf("%s matched again inside the window: %+v", id, m)
					}
				}
				settle(time.Millisecond + queue.RematchLatency)
				if !tt.rematch {
					// Past twice the window: the runs after it came and
					// went, and the block still holds.
					settle(window)
				}
				for _, id := range []string{"a", "b"} {
					m := h.rec.newMatches(id, 1)
					switch {
					case tt.rematch && (len(m) != 1 || m[0].PartnerID != map[string]string{"a": "b", "b": "a"}[id]):
						t.Fatalf("%s after the window: matches %+v, want one with its old partner", id, m)
					case !tt.rematch && len(m) != 0:
						t.Fatalf("%s matched again after a block: %+v", id, m)
					}
				}
				if tt.rematch {
					return
				}
				// Only c can be paired now, with one of them; the other waits.
				h.mustJoinAt(t, "c", "3")
				synctest.Wait()
				m, ok := h.rec.lastMatch("c")
				if !ok || (m.PartnerID != "a" && m.PartnerID != "b") {
					t.Fatalf("c: %+v, want a match with a or b", h.rec.of("c"))
				}
				if n := len(h.rec.newMatches("a", 1)) + len(h.rec.newMatches("b", 1)); n != 1 {
					t.Fatalf("a and b have %d new matches, want 1 (with c)", n)
				}
			})
		})
	}
}

// A user with interests is paired with a stranger who shares none only
// once it has waited the interest wait, not before; the run at its end
// comes with nobody acting.
func TestInterestWaitBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const wait = 5 * time.Second
		h := serve(t, memory.New(queue.StoreOptions{InterestWait: wait}), noSweeps)
		h.mustJoinAt(t, "a", "1", "rare")
		h.mustJoinAt(t, "x", "2")
		settle(wait - time.Millisecond)
		if seen := h.rec.of("a"); len(seen) != 0 {
			t.Fatalf("a told %+v inside its interest wait, want nothing", seen)
		}
		settle(time.Millisecond + queue.RematchLatency)
		m, ok := h.rec.lastMatch("a")
		if !ok || m.PartnerID != "x" || len(m.CommonInterests) != 0 {
			t.Fatalf("a after its interest wait: %+v, want a match with x, nothing shared", h.rec.of("a"))
		}
	})
}

// An instance that dies without a goodbye keeps its users in the store
// while its presence lasts; then the next heartbeat of another instance
// takes it over: a partner there is told (disconnect) and requeued.
func TestDeadInstanceTakenOverAfterPresenceTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const beat, ttl = 2 * time.Second, 10 * time.Second
		cfg := queue.Config{HeartbeatEvery: beat, PresenceTTL: ttl}
		st := memory.New(queue.StoreOptions{})
		dead, stop := serveUntilStopped(t, st, cfg)
		alive := serve(t, st, cfg)
		dead.mustJoinAt(t, "a", "1")
		alive.mustJoinAt(t, "b", "2")
		synctest.Wait()
		if _, ok := alive.rec.lastMatch("b"); !ok {
			t.Fatal("a and b not matched")
		}
		stop() // registered at the bubble's start: its presence lasts ttl from then
		settle(ttl - time.Millisecond)
		if l := alive.rec.partnerLefts("b"); len(l) != 0 {
			t.Fatalf("b told %v while a's instance was still present", l)
		}
		settle(time.Millisecond + beat)
		if l := alive.rec.partnerLefts("b"); len(l) != 1 || l[0] != queue.ReasonDisconnect {
			t.Fatalf("b told %v a heartbeat after a's instance lapsed, want [disconnect]", l)
		}
	})
}
