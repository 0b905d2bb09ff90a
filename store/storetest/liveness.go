package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
)

// presenceTTL is the lapse of a test instance's presence: short, as the
// tests wait for it.
const presenceTTL = 300 * time.Millisecond

func (h *harness) beat(instance string, ttl time.Duration) queue.Presence {
	h.t.Helper()
	p, err := h.s.Beat(h.ctx, instance, ttl)
	if err != nil {
		h.t.Fatalf("Beat(%s): %v", instance, err)
	}
	return p
}

// joinVia joins users through instance.
func (h *harness) joinVia(instance string, ids ...string) {
	h.t.Helper()
	for _, id := range ids {
		p := profileOf(id)
		p.Instance = instance
		if err := h.s.Join(h.ctx, id, p); err != nil {
			h.t.Fatalf("Join(%s via %s): %v", id, instance, err)
		}
	}
}

// gone asserts that instance's users are unknown to the store, and that
// it refuses joins through instance.
func (h *harness) gone(instance string, ids ...string) {
	h.t.Helper()
	for _, id := range ids {
		h.notJoined(id)
	}
	p := profileOf("late")
	p.Instance = instance
	if err := h.s.Join(h.ctx, "late", p); !errors.Is(err, queue.ErrInstanceGone) {
		h.t.Fatalf("Join through %s after its takeover = %v, want ErrInstanceGone", instance, err)
	}
}

// Instance a dies with users in a call with b's users, in a call among
// themselves, and queued. b's next beat after a's presence lapsed takes a
// over: b's user is told and requeued, a's users are gone and never
// matched again, and a's own beat then reports its presence lost.
func testTakeOver(t *testing.T, h *harness) {
	if p := h.beat("a", presenceTTL); p.Kept || p.TakenOver != 0 {
		t.Fatalf("first Beat(a) = %+v, want a new presence", p)
	}
	if p := h.beat("b", time.Hour); p.Kept {
		t.Fatalf("first Beat(b) = %+v, want a new presence", p)
	}
	aBeat := time.Now()
	h.joinVia("a", "a1")
	h.joinVia("b", "b1")
	h.joinVia("a", "a2", "a3", "a4")
	h.expect("pairs", seq(matchedPair("a1", "b1"), matchedPair("a2", "a3"))...)

	if p := h.beat("b", time.Hour); !p.Kept || p.TakenOver != 0 {
		t.Fatalf("Beat(b) while a is present = %+v, want kept, nothing taken over", p)
	}
	h.expect("nothing taken over while a is present")

	waitUntilExpired(aBeat, presenceTTL)
	if p := h.beat("b", time.Hour); !p.Kept || p.TakenOver != 1 {
		t.Fatalf("Beat(b) after a lapsed = %+v, want kept, one taken over", p)
	}
	h.expect("takeover", left("b1", queue.ReasonDisconnect))
	h.gone("a", "a1", "a2", "a3", "a4")

	h.joinVia("b", "b2")
	h.expect("partner requeued, a's queued user gone", matchedPair("b1", "b2")...)

	if p := h.beat("a", presenceTTL); p.Kept {
		t.Fatalf("Beat(a) after its takeover = %+v, want its presence lost", p)
	}
	h.joinVia("a", "a5")
	h.expect("a joins again after its beat")
}

// Two survivors beat at the same moment after an instance lapsed: exactly
// one of them takes it over, and each partner is told once.
func testTakeOverRace(t *testing.T, h *harness) {
	h.beat("a", presenceTTL)
	h.beat("b", time.Hour)
	h.beat("c", time.Hour)
	aBeat := time.Now()
	for i, id := range []string{"a1", "a2", "a3"} {
		h.joinVia("a", id)
		h.joinVia([]string{"b", "c", "b"}[i], "p"+id[1:])
	}
	h.expect("pairs", seq(matchedPair("a1", "p1"), matchedPair("a2", "p2"), matchedPair("a3", "p3"))...)
	waitUntilExpired(aBeat, presenceTTL)

	var wg sync.WaitGroup
	taken := make([]int, 2)
	start := make(chan struct{})
	for i, inst := range []string{"b", "c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			p, err := h.s.Beat(h.ctx, inst, time.Hour)
			if err != nil {
				t.Errorf("Beat(%s): %v", inst, err)
			}
			taken[i] = p.TakenOver
		}()
	}
	close(start)
	wg.Wait()
	if taken[0]+taken[1] != 1 {
		t.Fatalf("survivors took over %v instances, want exactly one takeover in all", taken)
	}
	// The partners are requeued in order and matched in the same step.
	h.expect("each partner told once",
		seq(left("p1", queue.ReasonDisconnect), left("p2", queue.ReasonDisconnect), left("p3", queue.ReasonDisconnect), matchedPair("p1", "p2"))...)
	h.gone("a", "a1", "a2", "a3")
}

// An instance that shuts down retires: its users' partners are told and
// requeued at once, its users are gone.
func testRetire(t *testing.T, h *harness) {
	h.beat("a", time.Hour)
	h.beat("b", time.Hour)
	h.joinVia("a", "a1")
	h.joinVia("b", "b1")
	h.joinVia("a", "a2")
	h.expect("pair", matchedPair("a1", "b1")...)
	if err := h.s.Retire(h.ctx, "a"); err != nil {
		t.Fatalf("Retire(a): %v", err)
	}
	h.expect("retire", left("b1", queue.ReasonDisconnect))
	h.gone("a", "a1", "a2")
	h.joinVia("b", "b2")
	h.expect("partner requeued", matchedPair("b1", "b2")...)
	if p := h.beat("b", time.Hour); p.TakenOver != 0 {
		t.Fatalf("Beat(b) after a retired = %+v, want nothing left to take over", p)
	}
}

func testCensus(t *testing.T, h *harness) {
	census := func(instance string, online int, ttl time.Duration) queue.Counts {
		t.Helper()
		c, err := h.s.Census(h.ctx, instance, online, ttl)
		if err != nil {
			t.Fatalf("Census(%s, %d): %v", instance, online, err)
		}
		return c
	}
	want := func(step string, got, want queue.Counts) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: Census = %+v, want %+v", step, got, want)
		}
	}
	want("empty store", census("i1", 0, time.Minute), queue.Counts{})
	h.join("a", "b", "c")
	want("three joins", census("i1", 3, time.Minute), queue.Counts{Online: 3, Waiting: 1, InCall: 2})
	want("a second instance", census("i2", 2, 300*time.Millisecond), queue.Counts{Online: 5, Waiting: 1, InCall: 2})
	want("a new report replaces the old", census("i1", 4, time.Minute), queue.Counts{Online: 6, Waiting: 1, InCall: 2})
	h.next("a") // a, b queued again, then c meets a
	want("next", census("i1", 4, time.Minute), queue.Counts{Online: 6, Waiting: 1, InCall: 2})
	h.leave("c", queue.ReasonDisconnect) // a is requeued behind b, its last partner: both wait
	want("leave", census("i1", 3, time.Minute), queue.Counts{Online: 5, Waiting: 2, InCall: 0})
	// i2's figure lapses 300 ms after its report, on the store's clock.
	deadline := time.Now().Add(waitTimeout)
	for {
		c := census("i1", 3, time.Minute)
		if c.Online == 3 {
			want("after i2's figure lapsed", c, queue.Counts{Online: 3, Waiting: 2})
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("i2's figure did not lapse within %v: %+v", waitTimeout, c)
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.expect("scenario", seq(matchedPair("a", "b"), done("a"), left("b", queue.ReasonNext),
		matchedPair("c", "a"), done("c"), left("a", queue.ReasonDisconnect))...)
}
