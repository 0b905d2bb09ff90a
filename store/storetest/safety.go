package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
)

func (h *harness) block(by, target string) {
	h.t.Helper()
	if err := h.s.Block(h.ctx, peer(by), peer(target)); err != nil {
		h.t.Fatalf("Block(%s, %s): %v", by, target, err)
	}
}

// report files a report about reported by reporter and returns whether it
// started a cool-down.
func (h *harness) report(reporter, reported string) bool {
	h.t.Helper()
	cooling, err := h.s.Report(h.ctx, queue.Report{Reporter: peer(reporter), Reported: peer(reported), Reason: "spam", At: time.Now()})
	if err != nil {
		h.t.Fatalf("Report(%s about %s): %v", reporter, reported, err)
	}
	return cooling
}

// A block ends the call like Next, and the two are never paired again,
// whoever waits: not after the rematch window, not as the only two waiting,
// not on new connections from the same addresses, in both directions.
func testBlock(t *testing.T, h *harness) {
	h.join("a@1", "b@2")
	h.block("a@1", "b@2")
	h.expect("block", seq(matchedPair("a@1", "b@2"), done("a@1"), left("b@2", queue.ReasonNext))...)
	waitUntilExpired(time.Now(), 10*time.Millisecond) // the rematch window
	h.match()
	h.expect("the only two waiting, after the rematch window")
	h.join("c")
	h.expect("a third", matchedPair("a@1", "c")...)
	h.leave("c", queue.ReasonLeave)
	h.leave("a@1", queue.ReasonLeave)
	h.expect("cleanup", done("c"), left("a@1", queue.ReasonLeave), done("a@1"))
	// New connections from the same two addresses, either first.
	h.join("a2@1")
	h.expect("blocked by b's address")
	h.join("d")
	h.expect("d", matchedPair("b@2", "d")...)
	h.leave("d", queue.ReasonLeave)
	h.leave("b@2", queue.ReasonLeave)
	h.join("b2@2")
	h.expect("b's address after a's", done("d"), left("b@2", queue.ReasonLeave), done("b@2"))
}

// Users behind one address (a shared NAT) are told apart by socket id: a
// block between two of them keeps only those two apart.
func testBlockSameAddress(t *testing.T, h *harness) {
	h.join("a@n", "b@n")
	h.block("b@n", "a@n")
	h.expect("block", seq(matchedPair("a@n", "b@n"), done("b@n"), left("a@n", queue.ReasonNext))...)
	waitUntilExpired(time.Now(), 10*time.Millisecond)
	h.match()
	h.expect("the two stay apart")
	h.join("c@n")
	h.expect("a third of the same address", matchedPair("b@n", "c@n")...)
}

// Blocking a partner who has already gone (a report or block just after a
// Next) keeps the two apart too; the blocker stays queued.
func testBlockAfterPartnerLeft(t *testing.T, h *harness) {
	h.join("a", "b")
	h.next("b")
	h.block("a", "b")
	h.expect("block after next", seq(matchedPair("a", "b"), done("b"), left("a", queue.ReasonNext), done("a"))...)
	waitUntilExpired(time.Now(), 10*time.Millisecond)
	h.join("c")
	h.expect("a third", matchedPair("b", "c")...) // b was requeued first
	h.join("d")
	h.expect("a fourth", matchedPair("a", "d")...)
	h.notJoinedBlock("ghost")
}

func (h *harness) notJoinedBlock(id string) {
	h.t.Helper()
	if err := h.s.Block(h.ctx, peer(id), peer("x")); !errors.Is(err, queue.ErrNotJoined) {
		h.t.Fatalf("Block(%s) = %v, want ErrNotJoined", id, err)
	}
}

// Reporters from three distinct addresses put the reported address in a
// cool-down: its joins are refused until the cool-down ends. A reporter
// repeating itself counts once.
func testReportCoolDown(t *testing.T, h *harness) {
	const coolDown = 500 * time.Millisecond
	for range 3 {
		if h.report("r1@1", "bad@x") {
			t.Fatal("one reporter, three reports: cool-down")
		}
	}
	if h.report("r2", "bad@x") {
		t.Fatal("two reporters: cool-down")
	}
	// Another connection of r1's address: still the same reporter.
	if h.report("r1-again@1", "bad@x") {
		t.Fatal("two reporter addresses: cool-down")
	}
	if !h.report("r3", "bad@x") {
		t.Fatal("three reporters: no cool-down")
	}
	began := time.Now()
	// Any connection of the address is refused, and nothing changes.
	err := h.s.Join(h.ctx, "new@x", profileOf("new@x"))
	var cd *queue.CoolDownError
	if !errors.As(err, &cd) || !errors.Is(err, queue.ErrCoolDown) {
		t.Fatalf("Join during a cool-down = %v, want a CoolDownError", err)
	}
	if cd.Remaining <= 0 || cd.Remaining > coolDown {
		t.Fatalf("cool-down remaining %v, want in (0, %v]", cd.Remaining, coolDown)
	}
	h.join("other")
	h.expect("refused join changed nothing")
	h.notJoined("new@x")
	waitUntilExpired(began, coolDown)
	h.join("new@x")
	h.expect("after the cool-down", matchedPair("other", "new@x")...)
	// The count started again: one more report is one reporter.
	if h.report("r4", "bad@x") {
		t.Fatal("a report after a cool-down started another")
	}
}

// Distinct reporters are counted by network, not by address: reporters
// from three addresses of one network (three IPv6 /64s of one subscriber's
// /48) are one reporter, and cool nobody down; three networks do.
func testReportersCountedByNetwork(t *testing.T, h *harness) {
	for _, r := range []string{"r1@p1~s", "r2@p2~s", "r3@p3~s"} {
		if h.report(r, "bad@x") {
			t.Fatalf("reporters from three addresses of one network: cool-down at %s", r)
		}
	}
	h.join("bad@x")
	h.expect("one network's reports: not cooling down")
	if h.report("r4@p4~t", "bad@x") {
		t.Fatal("reporters from two networks: cool-down")
	}
	if !h.report("r5@p5~u", "bad@x") {
		t.Fatal("reporters from three networks: no cool-down")
	}
}

// Reports older than the report window no longer count.
func testReportWindow(t *testing.T, h *harness) {
	const window = 300 * time.Millisecond
	h.report("r1", "bad@x")
	h.report("r2", "bad@x")
	waitUntilExpired(time.Now(), window)
	if h.report("r3", "bad@x") {
		t.Fatal("reports older than the window counted")
	}
	h.join("bad@x")
	h.expect("not cooling down")
}

// Users who were refused for a cool-down and those of other addresses are
// unaffected.
func testCoolDownOnlyThatAddress(t *testing.T, h *harness) {
	for _, r := range []string{"r1", "r2", "r3"} {
		h.report(r, "bad@x")
	}
	h.join("a@y", "b@z")
	h.expect("other addresses", matchedPair("a@y", "b@z")...)
}
