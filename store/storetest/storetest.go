package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
)

// Run runs the conformance suite against stores made by newStore, one fresh
// store per subtest. The subtests run one after another: several of them
// measure time (TTLs, the rematch window), and the machine is shared.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		opts queue.StoreOptions
		run  func(t *testing.T, h *harness)
	}{
		{"JoinPairs", queue.StoreOptions{}, testJoinPairs},
		{"UnknownName", queue.StoreOptions{}, testUnknownName},
		{"FIFO", queue.StoreOptions{}, testFIFO},
		{"JoinBusy", queue.StoreOptions{}, testJoinBusy},
		{"NextWithPartner", queue.StoreOptions{}, testNextWithPartner},
		{"NextWithoutPartner", queue.StoreOptions{}, testNextWithoutPartner},
		{"NotJoined", queue.StoreOptions{}, testNotJoined},
		{"Leave", queue.StoreOptions{}, testLeave},
		{"LeaveWhileQueued", queue.StoreOptions{}, testLeaveWhileQueued},
		{"NoRematchEarlierUsersLastPartner", queue.StoreOptions{}, testNoRematchEarlier},
		{"NoRematchLaterUsersLastPartner", queue.StoreOptions{}, testNoRematchLater},
		{"RematchAfterWindow", queue.StoreOptions{RematchWindow: 300 * time.Millisecond}, testRematchAfterWindow},
		{"RoomIDsUnique", queue.StoreOptions{RematchWindow: time.Millisecond}, testRoomIDsUnique},
		{"GhostNeverMatched", queue.StoreOptions{ProfileTTL: 300 * time.Millisecond}, testGhost},
		{"SweepDissolvesRoom", queue.StoreOptions{ProfileTTL: time.Second}, testSweepDissolvesRoom},
		{"SweepSeveralRooms", queue.StoreOptions{ProfileTTL: 300 * time.Millisecond}, testSweepSeveralRooms},
		{"RefreshKeepsProfile", queue.StoreOptions{ProfileTTL: 300 * time.Millisecond}, testRefreshKeeps},
		{"RefreshRestoresProfile", queue.StoreOptions{}, testRefreshRestores},
		{"ListenOrder", queue.StoreOptions{}, testListenOrder},
		{"ConcurrentJoins", queue.StoreOptions{}, testConcurrentJoins},
		{"ConcurrentNext", queue.StoreOptions{}, testConcurrentNext},
		{"LeaveRacesJoin", queue.StoreOptions{}, testLeaveRacesJoin},
		{"InterestsShared", queue.StoreOptions{InterestWait: longWait}, testInterestsShared},
		{"InterestsCommonOrder", queue.StoreOptions{InterestWait: longWait}, testInterestsCommonOrder},
		{"NoInterestsFIFO", queue.StoreOptions{InterestWait: longWait}, testNoInterestsFIFO},
		{"InterestFallback", queue.StoreOptions{InterestWait: 300 * time.Millisecond}, testInterestFallback},
		{"SharedBeforeOpen", queue.StoreOptions{InterestWait: 300 * time.Millisecond}, testSharedBeforeOpen},
		{"InterestWaitRestarts", queue.StoreOptions{InterestWait: 300 * time.Millisecond}, testInterestWaitRestarts},
		{"TextOnlyApart", queue.StoreOptions{}, testTextOnlyApart},
		{"TextOnlyRematch", queue.StoreOptions{}, testTextOnlyRematch},
		{"TextOnlyInterests", queue.StoreOptions{InterestWait: 300 * time.Millisecond}, testTextOnlyInterests},
		{"TextOnlyBlock", queue.StoreOptions{RematchWindow: 10 * time.Millisecond}, testTextOnlyBlock},
		{"LanguageFirst", queue.StoreOptions{InterestWait: longWait}, testLanguageFirst},
		{"LanguageBeforeInterest", queue.StoreOptions{InterestWait: longWait}, testLanguageBeforeInterest},
		{"LanguageFallback", queue.StoreOptions{InterestWait: 300 * time.Millisecond}, testLanguageFallback},
		{"LanguageBeforeOpen", queue.StoreOptions{InterestWait: 300 * time.Millisecond}, testLanguageBeforeOpen},
		{"LanguageInMode", queue.StoreOptions{InterestWait: longWait}, testLanguageInMode},
		{"Block", queue.StoreOptions{RematchWindow: 10 * time.Millisecond}, testBlock},
		{"BlockSameAddress", queue.StoreOptions{RematchWindow: 10 * time.Millisecond}, testBlockSameAddress},
		{"BlockAfterPartnerLeft", queue.StoreOptions{RematchWindow: 10 * time.Millisecond}, testBlockAfterPartnerLeft},
		{"ReportCoolDown", queue.StoreOptions{CoolDown: 500 * time.Millisecond}, testReportCoolDown},
		{"ReportWindow", queue.StoreOptions{ReportWindow: 300 * time.Millisecond}, testReportWindow},
		{"ReportersCountedByNetwork", queue.StoreOptions{}, testReportersCountedByNetwork},
		{"CoolDownOnlyThatAddress", queue.StoreOptions{}, testCoolDownOnlyThatAddress},
		{"Census", queue.StoreOptions{}, testCensus},
		{"TakeOver", queue.StoreOptions{}, testTakeOver},
		{"TakeOverRace", queue.StoreOptions{}, testTakeOverRace},
		{"Retire", queue.StoreOptions{}, testRetire},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, start(t, newStore, tc.opts))
		})
	}
	t.Run("ListenStops", func(t *testing.T) { testListenStops(t, newStore) })
	t.Run("ListenStopsBeforeReady", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := newStore(t, queue.StoreOptions{}).Listen(ctx, func() {}, func(queue.Event) {})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Listen with a cancelled context = %v, want context.Canceled", err)
		}
	})
	t.Run("Ping", func(t *testing.T) {
		if err := newStore(t, queue.StoreOptions{}).Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

func testJoinPairs(t *testing.T, h *harness) {
	h.join("a")
	h.expect("one user waits")
	h.join("b")
	h.expect("second user joins", matchedPair("a", "b")...)
}

func testUnknownName(t *testing.T, h *harness) {
	if err := h.s.Join(h.ctx, "a", queue.Profile{Gender: "other"}); err != nil {
		t.Fatal(err)
	}
	h.join("b")
	h.expect("partner without a name",
		queue.Event{Kind: queue.EventMatched, User: "b", Partner: "a", PartnerName: "Stranger"},
		queue.Event{Kind: queue.EventMatched, User: "a", Partner: "b", PartnerName: nameOf("b"), PartnerAddr: addrOf("b"), PartnerRegion: regionOf("b"), Initiator: true},
	)
}

func testFIFO(t *testing.T, h *harness) {
	h.join("1", "2", "3", "4")
	h.expect("four joins", seq(matchedPair("1", "2"), matchedPair("3", "4"))...)
}

func testJoinBusy(t *testing.T, h *harness) {
	busy := func(id string) {
		t.Helper()
		if err := h.s.Join(h.ctx, id, profileOf(id)); !errors.Is(err, queue.ErrBusy) {
			t.Fatalf("Join(%s) = %v, want ErrBusy", id, err)
		}
	}
	h.join("a")
	busy("a")
	h.expect("join while queued")
	h.join("b")
	busy("a")
	busy("b")
	h.expect("join while paired", matchedPair("a", "b")...)
}

func testNextWithPartner(t *testing.T, h *harness) {
	h.join("a", "b")
	h.next("a")
	h.match()
	h.expect("next", seq(matchedPair("a", "b"), done("a"), left("b", queue.ReasonNext))...)
	// The actor was requeued first, so a third user meets it first.
	h.join("c")
	h.expect("third user", matchedPair("a", "c")...)
	h.join("d")
	h.expect("fourth user", matchedPair("b", "d")...)
}

func testNextWithoutPartner(t *testing.T, h *harness) {
	h.join("a")
	h.next("a")
	h.expect("next while queued", done("a"))
	h.join("b")
	h.expect("still queued", matchedPair("a", "b")...)
}

func testNotJoined(t *testing.T, h *harness) {
	h.notJoined("ghost")
	h.expect("unknown user")
	h.join("a")
	h.leave("a", queue.ReasonLeave)
	h.notJoined("a")
	h.expect("user who left", done("a"))
}

func testLeave(t *testing.T, h *harness) {
	for _, r := range []queue.Reason{queue.ReasonLeave, queue.ReasonDisconnect} {
		a, b, c := "a-"+string(r), "b-"+string(r), "c-"+string(r)
		h.join(a, b)
		h.leave(a, r)
		h.expect("leave "+string(r), seq(matchedPair(a, b), done(a), left(b, r))...)
		h.notJoined(a) // profile gone too
		h.join(c)
		h.expect("partner requeued", matchedPair(b, c)...)
	}
}

func testLeaveWhileQueued(t *testing.T, h *harness) {
	h.join("a")
	h.leave("a", queue.ReasonLeave)
	h.join("b", "c")
	h.expect("leave while queued", seq(done("a"), matchedPair("b", "c"))...)
	h.notJoined("a")
}

// The queue holds b, a, c where b's last partner is a but a's is c: b must
// skip a although a does not remember b.
func testNoRematchEarlier(t *testing.T, h *harness) {
	h.join("a", "b")
	h.next("a") // a and b remember each other; queue a, b
	h.join("c") // a meets c; queue b
	h.next("a") // a and c remember each other; queue b, a, c
	h.expect("setup", seq(matchedPair("a", "b"), done("a"), left("b", queue.ReasonNext),
		matchedPair("a", "c"), done("a"), left("c", queue.ReasonNext), matchedPair("b", "c"))...)
}

// The queue holds a, c, b where b's last partner is a but a's is c: a must
// skip b although a does not remember b.
func testNoRematchLater(t *testing.T, h *harness) {
	h.join("a", "b")
	h.next("a") // a and b remember each other; queue a, b
	h.join("c") // a meets c; queue b
	h.leave("b", queue.ReasonLeave)
	h.next("a") // a and c remember each other; queue a, c
	h.join("b") // queue a, c, b
	h.expect("setup", seq(matchedPair("a", "b"), done("a"), left("b", queue.ReasonNext),
		matchedPair("a", "c"), done("b"), done("a"), left("c", queue.ReasonNext), matchedPair("c", "b"))...)
}

func testRematchAfterWindow(t *testing.T, h *harness) {
	window := 300 * time.Millisecond
	h.join("a", "b")
	first := h.expect("pair", matchedPair("a", "b")...)
	began := time.Now()
	h.next("a")
	h.match()
	got := h.drain()
	if time.Since(began) < window {
		// Everything ran inside the window, so nothing may have paired them.
		if !sameEvents(got, seq(done("a"), left("b", queue.ReasonNext))) {
			t.Fatalf("inside the window: events:\n%s", format(got))
		}
	} else {
		t.Logf("machine too slow to observe the window closed (%v)", time.Since(began))
	}
	all := got
	deadline := time.Now().Add(waitTimeout)
	for !hasMatched(all) {
		if time.Now().After(deadline) {
			t.Fatalf("not paired again %v after the window; events:\n%s", waitTimeout, format(all))
		}
		time.Sleep(20 * time.Millisecond)
		h.match()
		all = append(all, h.drain()...)
	}
	want := seq(done("a"), left("b", queue.ReasonNext), matchedPair("a", "b"))
	if !sameEvents(all, want) {
		t.Fatalf("events:\n%swant:\n%s", format(all), format(want))
	}
	if all[2].Room == first[0].Room {
		t.Fatalf("rematch reused room %q", first[0].Room)
	}
}

func hasMatched(evs []queue.Event) bool {
	for _, e := range evs {
		if e.Kind == queue.EventMatched {
			return true
		}
	}
	return false
}

func testRoomIDsUnique(t *testing.T, h *harness) {
	const pairings = 1000
	h.join("a", "b")
	rooms := map[string]bool{h.expect("pair", matchedPair("a", "b")...)[0].Room: true}
	deadline := time.Now().Add(4 * waitTimeout)
	for i := 0; i < pairings; i++ {
		h.next("a")
		var evs []queue.Event
		for !hasMatched(evs) {
			if time.Now().After(deadline) {
				t.Fatalf("pairing %d: timed out; events:\n%s", i, format(evs))
			}
			h.match()
			evs = append(evs, h.drain()...)
		}
		for _, e := range evs {
			if e.Kind == queue.EventMatched && e.Initiator {
				if rooms[e.Room] {
					t.Fatalf("pairing %d: room %q used before", i, e.Room)
				}
				rooms[e.Room] = true
			}
		}
	}
}

func testGhost(t *testing.T, h *harness) {
	ttl := 300 * time.Millisecond
	// Removed by Sweep.
	h.join("g1")
	waitUntilExpired(time.Now(), ttl)
	h.sweep()
	h.notJoined("g1")
	// Removed by matching, never matched.
	h.join("g2")
	waitUntilExpired(time.Now(), ttl)
	h.join("a", "b")
	h.notJoined("g2")
	h.expect("ghosts", matchedPair("a", "b")...)
}

func testSweepDissolvesRoom(t *testing.T, h *harness) {
	h.join("a", "b")
	h.expect("pair", matchedPair("a", "b")...)
	// b's server keeps refreshing it; a's died.
	keepB := func() { h.refresh(map[string]queue.Profile{"b": profileOf("b")}) }
	var evs []queue.Event
	deadline := time.Now().Add(waitTimeout)
	for len(evs) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Sweep did not dissolve the room of an expired user within %v", waitTimeout)
		}
		time.Sleep(50 * time.Millisecond)
		keepB()
		h.sweep()
		evs = h.drain()
	}
	if !sameEvents(evs, seq(left("b", queue.ReasonDisconnect))) {
		t.Fatalf("sweep: events:\n%s", format(evs))
	}
	h.notJoined("a")
	keepB()
	h.join("c")
	h.expect("partner requeued", matchedPair("b", "c")...)
}

// Four rooms lose one user each at the same moment: one Sweep dissolves them
// all, and the four survivors are paired among themselves, two pairings in one
// step with distinct rooms.
func testSweepSeveralRooms(t *testing.T, h *harness) {
	survivors := []string{"a", "b", "c", "d"}
	h.join("a", "w", "b", "x", "c", "y", "d", "z")
	waitUntilExpired(time.Now(), 300*time.Millisecond)
	restore := map[string]queue.Profile{}
	for _, id := range survivors {
		restore[id] = profileOf(id)
	}
	h.refresh(restore)
	h.sweep()
	evs := h.drain()[8:] // after the four pairings
	if len(evs) != 8 {
		t.Fatalf("sweep: events:\n%s", format(evs))
	}
	lefts, matched := map[string]bool{}, map[string]bool{}
	for _, e := range evs[:4] {
		if e.Kind != queue.EventPartnerLeft || e.Reason != queue.ReasonDisconnect {
			t.Fatalf("sweep: want four partner-left first; events:\n%s", format(evs))
		}
		lefts[e.User] = true
	}
	for _, e := range evs[4:] {
		if e.Kind != queue.EventMatched {
			t.Fatalf("sweep: want two pairings after; events:\n%s", format(evs))
		}
		matched[e.User] = true
	}
	for _, id := range survivors {
		if !lefts[id] || !matched[id] {
			t.Fatalf("sweep: %s not told and paired again; events:\n%s", id, format(evs))
		}
	}
}

func testRefreshKeeps(t *testing.T, h *harness) {
	ttl := 300 * time.Millisecond
	h.join("a")
	for until := time.Now().Add(3 * ttl); time.Now().Before(until); {
		h.refresh(map[string]queue.Profile{"a": profileOf("a")})
		time.Sleep(ttl / 6)
	}
	h.refresh(map[string]queue.Profile{"a": profileOf("a")})
	h.join("b")
	h.expect("refreshed user", matchedPair("a", "b")...)
}

func testRefreshRestores(t *testing.T, h *harness) {
	h.join("a")
	h.leave("a", queue.ReasonLeave)
	h.notJoined("a")
	// As after a Redis restart: the profile comes back, the queue place
	// does not, and a next puts the user back in line.
	h.refresh(map[string]queue.Profile{"a": {Name: "restored"}, "x": profileOf("x")})
	h.next("a")
	h.join("b")
	h.expect("restored user", done("a"), done("a"),
		queue.Event{Kind: queue.EventMatched, User: "b", Partner: "a", PartnerName: "restored"},
		queue.Event{Kind: queue.EventMatched, User: "a", Partner: "b", PartnerName: nameOf("b"), PartnerAddr: addrOf("b"), PartnerRegion: regionOf("b"), Initiator: true},
	)
	h.leave("x", queue.ReasonLeave) // x had a profile only: it counts as joined
	h.expect("profile only", done("x"))
}

func testListenOrder(t *testing.T, h *harness) {
	h.join("a", "b", "c")
	h.next("a") // queue c, a, b
	h.join("d")
	h.leave("c", queue.ReasonDisconnect)
	h.next("b") // queue a, b, d; a remembers c now, b remembers d
	h.leave("d", queue.ReasonLeave)
	h.expect("scenario", seq(
		matchedPair("a", "b"),
		done("a"), left("b", queue.ReasonNext), matchedPair("c", "a"),
		matchedPair("b", "d"),
		done("c"), left("a", queue.ReasonDisconnect),
		done("b"), left("d", queue.ReasonNext), matchedPair("a", "b"),
		done("d"),
	)...)
}

func testListenStops(t *testing.T, newStore NewStore) {
	s := newStore(t, queue.StoreOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- s.Listen(ctx, func() {}, func(queue.Event) {}) }()
	if err := s.Join(t.Context(), "a", profileOf("a")); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-stopped:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Listen = %v, want context.Canceled", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Listen still running %v after cancel", waitTimeout)
	}
}

// together runs fns at the same moment and waits for them.
func together(fns ...func()) {
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for _, fn := range fns {
		wg.Go(func() {
			<-gate
			fn()
		})
	}
	close(gate)
	wg.Wait()
}

func testConcurrentJoins(t *testing.T, h *harness) {
	const users = 200
	errs := make(chan error, users)
	fns := make([]func(), users)
	for i := range fns {
		id := fmt.Sprintf("u%03d", i)
		fns[i] = func() {
			if err := h.s.Join(h.ctx, id, profileOf(id)); err != nil {
				errs <- fmt.Errorf("Join(%s): %w", id, err)
			}
		}
	}
	together(fns...)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	evs := h.drain()
	if len(evs) != users {
		t.Fatalf("%d events for %d users, want one matched each:\n%s", len(evs), users, format(evs))
	}
	partner := map[string]string{}
	initiators := 0
	for _, e := range evs {
		if e.Kind != queue.EventMatched {
			t.Fatalf("unexpected event:\n%s", format([]queue.Event{e}))
		}
		if _, dup := partner[e.User]; dup {
			t.Fatalf("%s matched twice", e.User)
		}
		partner[e.User] = e.Partner
		if e.Initiator {
			initiators++
		}
	}
	for u, p := range partner {
		if partner[p] != u {
			t.Fatalf("%s is paired with %s, who is paired with %s", u, p, partner[p])
		}
	}
	if initiators != users/2 {
		t.Fatalf("%d initiators for %d pairs", initiators, users/2)
	}
}

func testConcurrentNext(t *testing.T, h *harness) {
	for i := range 50 {
		a, b := fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)
		h.join(a, b)
		var errA, errB error
		together(func() { errA = h.s.Next(h.ctx, a) }, func() { errB = h.s.Next(h.ctx, b) })
		if errA != nil || errB != nil {
			t.Fatalf("round %d: Next: %v, %v", i, errA, errB)
		}
		// Whoever came first ended the call; the other was already queued.
		got := h.drain()
		aFirst := seq(matchedPair(a, b), done(a), left(b, queue.ReasonNext), done(b))
		bFirst := seq(matchedPair(a, b), done(b), left(a, queue.ReasonNext), done(a))
		if !sameEvents(got, aFirst) && !sameEvents(got, bFirst) {
			t.Fatalf("round %d: events:\n%s", i, format(got))
		}
		h.leave(a, queue.ReasonLeave)
		h.leave(b, queue.ReasonLeave)
		h.expect("cleanup", done(a), done(b))
	}
}

func testLeaveRacesJoin(t *testing.T, h *harness) {
	for i := range 50 {
		a, b := fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)
		h.join(a)
		var errJoin, errLeave error
		together(
			func() { errJoin = h.s.Join(h.ctx, b, profileOf(b)) },
			func() { errLeave = h.s.Leave(h.ctx, a, queue.ReasonDisconnect) },
		)
		if errJoin != nil || errLeave != nil {
			t.Fatalf("round %d: Join: %v, Leave: %v", i, errJoin, errLeave)
		}
		got := h.drain()
		leftFirst := seq(done(a))
		matchedFirst := seq(matchedPair(a, b), done(a), left(b, queue.ReasonDisconnect))
		if !sameEvents(got, leftFirst) && !sameEvents(got, matchedFirst) {
			t.Fatalf("round %d: events:\n%s", i, format(got))
		}
		// Either way b waits alone now.
		h.notJoined(a)
		h.leave(b, queue.ReasonLeave)
		h.expect("cleanup", done(b))
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
