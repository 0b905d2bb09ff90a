package queue_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
)

// joinAt joins id from address addr with interests.
func (h *harness) joinAt(t *testing.T, id, addr string, interests ...string) error {
	t.Helper()
	h.svc.Connect(id)
	return h.svc.Join(context.Background(), id, queue.Profile{Name: "n-" + id, Addr: addr, Interests: interests})
}

func (h *harness) mustJoinAt(t *testing.T, id, addr string, interests ...string) {
	t.Helper()
	if err := h.joinAt(t, id, addr, interests...); err != nil {
		t.Fatalf("join %s: %v", id, err)
	}
}

func TestInterestFallbackWithoutAnyAction(t *testing.T) {
	// Only the run after a's interest wait can pair a and x: nobody acts.
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			const wait = 200 * time.Millisecond
			st, _ := b.new(t, queue.StoreOptions{InterestWait: wait})
			h := serve(t, st, queue.Config{})
			began := time.Now()
			h.mustJoinAt(t, "a", "1", "rare")
			h.mustJoinAt(t, "x", "2")
			h.rec.waitUntil(t, "a matched with x after the interest wait", func() bool {
				m, ok := h.rec.lastMatch("a")
				return ok && m.PartnerID == "x" && len(m.CommonInterests) == 0
			})
			// The wait began after began: a match sooner broke it. (On
			// the fake clock, TestInterestWaitBounds holds it to the
			// millisecond.)
			if waited := time.Since(began); waited < wait {
				t.Fatalf("a matched with a stranger after %v, inside its interest wait of %v", waited, wait)
			}
		})
	}
}

func TestLanguageFallbackWithoutAnyAction(t *testing.T) {
	// As for interests: only the run after a's wait can pair a, who
	// speaks a language nobody else waiting speaks, with x.
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			const wait = 200 * time.Millisecond
			st, _ := b.new(t, queue.StoreOptions{InterestWait: wait})
			h := serve(t, st, queue.Config{})
			began := time.Now()
			h.svc.Connect("a")
			if err := h.svc.Join(context.Background(), "a", queue.Profile{Name: "n-a", Addr: "1", Language: "fr"}); err != nil {
				t.Fatalf("join a: %v", err)
			}
			h.mustJoinAt(t, "x", "2")
			h.rec.waitUntil(t, "a matched with x after the wait", func() bool {
				m, ok := h.rec.lastMatch("a")
				return ok && m.PartnerID == "x"
			})
			if waited := time.Since(began); waited < wait {
				t.Fatalf("a matched with someone of another language after %v, inside its wait of %v", waited, wait)
			}
		})
	}
}

// The partner's region and the pairing's mode reach the notifier.
func TestMatchCarriesRegionAndMode(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.new(t, queue.StoreOptions{})
			h := serve(t, st, queue.Config{})
			for _, id := range []string{"a", "b"} {
				h.svc.Connect(id)
				if err := h.svc.Join(context.Background(), id, queue.Profile{Name: "n-" + id, Region: "r-" + id, Addr: id, TextOnly: true}); err != nil {
					t.Fatalf("join %s: %v", id, err)
				}
			}
			waitPairs(t, h.rec, []string{"a", "b"}, 1)
			for id, want := range map[string]string{"a": "r-b", "b": "r-a"} {
				if m, _ := h.rec.lastMatch(id); m.PartnerRegion != want || !m.TextOnly {
					t.Fatalf("%s: matched %+v, want partner region %q, text-only", id, m, want)
				}
			}
		})
	}
}

func TestSharedInterestsAnnounced(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.new(t, queue.StoreOptions{InterestWait: time.Minute})
			h := serve(t, st, queue.Config{})
			h.mustJoinAt(t, "a", "1", "music", "chess")
			h.mustJoinAt(t, "b", "2", "chess")
			waitPairs(t, h.rec, []string{"a", "b"}, 1)
			for _, id := range []string{"a", "b"} {
				if m, _ := h.rec.lastMatch(id); !slices.Equal(m.CommonInterests, []string{"chess"}) {
					t.Fatalf("%s: common interests %q, want [chess]", id, m.CommonInterests)
				}
			}
		})
	}
}

// matchRuns is a store that tells when matching runs that began after a
// given time have finished.
type matchRuns struct {
	queue.Store
	mu   sync.Mutex
	ends []time.Time // when each finished run had begun
}

func (s *matchRuns) Match(ctx context.Context) error {
	began := time.Now()
	err := s.Store.Match(ctx)
	s.mu.Lock()
	s.ends = append(s.ends, began)
	s.mu.Unlock()
	return err
}

// ranSince reports whether a matching run that began at or after t has
// finished.
func (s *matchRuns) ranSince(t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, began := range s.ends {
		if !began.Before(t) {
			return true
		}
	}
	return false
}

func TestBlockEndsTheCallForGood(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			const window = 50 * time.Millisecond
			inner, _ := b.new(t, queue.StoreOptions{RematchWindow: window})
			st := &matchRuns{Store: inner}
			h := serve(t, st, queue.Config{})
			if err := h.svc.Block(context.Background(), "nobody"); !errors.Is(err, queue.ErrNoPartner) {
				t.Fatalf("block without a partner = %v, want ErrNoPartner", err)
			}
			h.mustJoinAt(t, "a", "1")
			h.mustJoinAt(t, "b", "2")
			waitPairs(t, h.rec, []string{"a", "b"}, 1)
			blocked := time.Now()
			if err := h.svc.Block(context.Background(), "a"); err != nil {
				t.Fatal(err)
			}
			h.rec.waitUntil(t, "b told a left", func() bool {
				seen := h.rec.of("b")
				return len(seen) == 2 && seen[1].reason == queue.ReasonNext
			})
			if _, ok := h.svc.Partner("a"); ok {
				t.Fatal("a still has a partner after its block")
			}
			// The run the service schedules for the window's end (which
			// pairs a and b again after a
			// Next: TestRematchAfterWindowWithoutAnyAction)
			// has come and gone: the block holds past the window.
			h.rec.waitUntil(t, "a matching run after the rematch window", func() bool {
				return st.ranSince(blocked.Add(window))
			})
			for _, id := range []string{"a", "b"} {
				if m := h.rec.newMatches(id, 1); len(m) != 0 {
					t.Fatalf("%s matched again after the block: %+v", id, m)
				}
			}
			// Only c can be paired now, with one of them; the other waits.
			h.mustJoinAt(t, "c", "3")
			// Both halves: c's matched may be recorded before its
			// partner's.
			h.rec.waitUntil(t, "c and its partner matched", func() bool {
				m, ok := h.rec.lastMatch("c")
				if !ok {
					return false
				}
				back, ok := h.rec.lastMatch(m.PartnerID)
				return ok && back.PartnerID == "c"
			})
			if m, _ := h.rec.lastMatch("c"); m.PartnerID != "a" && m.PartnerID != "b" {
				t.Fatalf("c matched with %s, want a or b", m.PartnerID)
			}
			for _, id := range []string{"a", "b"} {
				for _, m := range h.rec.newMatches(id, 1) {
					if m.PartnerID != "c" {
						t.Fatalf("%s matched again with %s", id, m.PartnerID)
					}
				}
			}
			if n := len(h.rec.newMatches("a", 1)) + len(h.rec.newMatches("b", 1)); n != 1 {
				t.Fatalf("a and b have %d new matches, want 1 (with c)", n)
			}
		})
	}
}

func TestReportsStartACoolDown(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			const coolDown = 300 * time.Millisecond
			st, _ := b.new(t, queue.StoreOptions{CoolDown: coolDown, RematchWindow: time.Minute})
			h := serve(t, st, queue.Config{})
			if err := h.svc.Report(context.Background(), "nobody", "spam", nil); !errors.Is(err, queue.ErrNoPartner) {
				t.Fatalf("report without a partner = %v, want ErrNoPartner", err)
			}
			h.mustJoinAt(t, "bad", "x")
			for i, r := range []string{"r1", "r2", "r3"} {
				h.mustJoinAt(t, r, r)
				waitPairs(t, h.rec, []string{"bad", r}, 1)
				if i == 1 {
					// r2 reports just after leaving the call.
					if err := h.svc.Next(context.Background(), r); err != nil {
						t.Fatal(err)
					}
					h.rec.waitUntil(t, "bad told r2 left", func() bool { _, ok := h.rec.lastMatch("bad"); return !ok })
				}
				// Twice: the second is acknowledged and not counted.
				for range 2 {
					if err := h.svc.Report(context.Background(), r, "spam", nil); err != nil {
						t.Fatal(err)
					}
				}
				if i < 2 {
					if err := h.svc.Disconnect(context.Background(), r); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := h.svc.Leave(context.Background(), "bad"); err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			err := h.joinAt(t, "bad2", "x")
			if !errors.Is(err, queue.ErrCoolDown) {
				t.Fatalf("join from a cooling address = %v, want ErrCoolDown", err)
			}
			time.Sleep(time.Until(began.Add(coolDown + 20*time.Millisecond)))
			h.mustJoinAt(t, "bad2", "x")
		})
	}
}
