package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zivro/zivro/internal/eventually"
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
		{"ReportsKept", queue.StoreOptions{}, testReportsKept},
		{"EvidenceBounds", queue.StoreOptions{EvidenceKeep: 2, EvidenceTTL: 400 * time.Millisecond}, testEvidenceBounds},
		{"Ban", queue.StoreOptions{}, testBan},
		{"BanEnds", queue.StoreOptions{}, testBanEnds},
		{"LiftCoolDown", queue.StoreOptions{}, testLiftCoolDown},
		{"Audit", queue.StoreOptions{}, testAudit},
		{"Census", queue.StoreOptions{}, testCensus},
		{"TakeOver", queue.StoreOptions{}, testTakeOver},
		{"TakeOverRace", queue.StoreOptions{}, testTakeOverRace},
		{"Retire", queue.StoreOptions{}, testRetire},
		{"HoldResume", queue.StoreOptions{}, testHoldResume},
		{"ResumeWrongPID", queue.StoreOptions{}, testResumeWrongPID},
		{"HeldNeverPaired", queue.StoreOptions{}, testHeldNeverPaired},
		{"PartnerLeavesWhileHeld", queue.StoreOptions{}, testPartnerLeavesWhileHeld},
		{"HoldEndsUnannounced", queue.StoreOptions{}, testHoldEndsUnannounced},
		{"Lapse", queue.StoreOptions{}, testLapse},
		{"BothHeld", queue.StoreOptions{}, testBothHeld},
		{"SweepLapses", queue.StoreOptions{}, testSweepLapses},
		{"HeldOutlivesProfile", queue.StoreOptions{ProfileTTL: 300 * time.Millisecond}, testHeldOutlivesProfile},
		{"KeepNotHeld", queue.StoreOptions{}, testKeepNotHeld},
		{"HeldBounds", heldBoundsOptions(), testHeldBounds},
		{"ConcurrentResume", queue.StoreOptions{}, testConcurrentResume},
		{"ResumeRacesLapse", queue.StoreOptions{}, testResumeRacesLapse},
		{"KeepRacesResume", queue.StoreOptions{}, testKeepRacesResume},
		{"ReconcileLost", queue.StoreOptions{}, testReconcileLost},
		{"ReconcileGhost", queue.StoreOptions{}, testReconcileGhost},
		{"ReconcileLostNext", queue.StoreOptions{}, testReconcileLostNext},
		{"ReconcileRemoves", queue.StoreOptions{}, testReconcileRemoves},
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

// After a Next the two are paired again once the rematch window is over,
// and not before: both measured on the store's clock, from the Next (its
// done event's At).
func testRematchAfterWindow(t *testing.T, h *harness) {
	window := 300 * time.Millisecond
	for attempt := 1; ; attempt++ {
		a, b := fmt.Sprint("a", attempt), fmt.Sprint("b", attempt)
		h.join(a, b)
		first := h.expect("pair", matchedPair(a, b)...)
		h.next(a)
		h.match()
		got, after := h.drainAt()
		if len(got) == 0 || got[0].Kind != queue.EventDone {
			t.Fatalf("after Next: events:\n%s", format(got))
		}
		nextAt := got[0].At
		if after.Sub(nextAt) >= window {
			// The match ran after the window: pairing them again is right
			// and shows nothing. Again, with two others.
			if attempt == attempts {
				t.Fatalf("%d attempts, each slower than the window (%v)", attempts, after.Sub(nextAt))
			}
			h.leave(a, queue.ReasonLeave)
			h.leave(b, queue.ReasonLeave)
			h.drain()
			continue
		}
		// The match ran inside the window, so nothing may have paired them.
		if !sameEvents(got, seq(done(a), left(b, queue.ReasonNext))) {
			t.Fatalf("inside the window (%v of %v by the store's clock): events:\n%s", after.Sub(nextAt), window, format(got))
		}
		all := got
		eventually.True(t, waitTimeout, func() (bool, string) {
			h.match()
			all = append(all, h.drain()...)
			return hasMatched(all), fmt.Sprintf("not paired again after the window; events:\n%s", format(all))
		})
		want := seq(done(a), left(b, queue.ReasonNext), matchedPair(a, b))
		if !sameEvents(all, want) {
			t.Fatalf("events:\n%swant:\n%s", format(all), format(want))
		}
		if all[2].Room == first[0].Room {
			t.Fatalf("rematch reused room %q", first[0].Room)
		}
		if again := all[2].At.Sub(nextAt); again < window {
			t.Fatalf("paired again %v after the Next by the store's clock: inside the window %v", again, window)
		}
		return
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
