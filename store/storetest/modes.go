package storetest

import (
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
)

// The text-only mode and the language preference (issue 19): opt-in
// fields of join-queue that the original client never sends.

// joinAs joins id with the profile of profileOf, changed by edit.
func (h *harness) joinAs(id string, edit func(*queue.Profile)) {
	h.t.Helper()
	p := profileOf(id)
	edit(&p)
	if err := h.s.Join(h.ctx, id, p); err != nil {
		h.t.Fatalf("Join(%s, %+v): %v", id, p, err)
	}
}

func textOnly(interests ...string) func(*queue.Profile) {
	return func(p *queue.Profile) { p.TextOnly, p.Interests = true, interests }
}

func language(lang string, interests ...string) func(*queue.Profile) {
	return func(p *queue.Profile) { p.Language, p.Interests = lang, interests }
}

// Text-only users pair with each other, FIFO, and video users with video
// users: never one with the other, however long they wait.
func testTextOnlyApart(t *testing.T, h *harness) {
	h.joinAs("t1", textOnly())
	h.join("v1")
	h.expect("a text-only and a video user never pair")
	h.joinAs("t2", textOnly())
	h.expect("t2 joins", textPair("t1", "t2")...)
	h.joinAs("t3", textOnly())
	h.join("v2")
	h.expect("v2 joins", matchedPair("v1", "v2")...)
	h.joinAs("t4", textOnly())
	h.joinAs("t5", textOnly())
	h.expect("t4 joins, t5 waits", textPair("t3", "t4")...)
}

// The rematch window holds between text-only users as between video
// users; an open text-only user is not paired with an open video user.
func testTextOnlyRematch(t *testing.T, h *harness) {
	h.joinAs("t1", textOnly())
	h.joinAs("t2", textOnly())
	h.expect("pair", textPair("t1", "t2")...)
	h.join("v")
	h.next("t1")
	h.expect("t1 and t2 are kept apart, v is not theirs", done("t1"), left("t2", queue.ReasonNext))
	h.joinAs("t3", textOnly())
	h.expect("t3 joins", textPair("t1", "t3")...)
}

// Interests and their wait apply among text-only users: one with a lone
// tag falls back, after the wait, to an open text-only user, never to a
// video user.
func testTextOnlyInterests(t *testing.T, h *harness) {
	const wait = 300 * time.Millisecond
	h.joinAs("t1", textOnly("music"))
	h.joinAs("t2", textOnly("chess"))
	h.join("v")
	h.joinAs("t3", textOnly("music"))
	h.expect("t3 shares music with t1", textPair("t1", "t3", "music")...)
	waitUntilExpired(time.Now(), wait)
	h.match()
	h.expect("t2 is open, but v is a video user")
	h.joinAs("t4", textOnly())
	h.expect("t4 joins", textPair("t2", "t4")...)
}

// A block keeps two text-only users apart after the rematch window.
func testTextOnlyBlock(t *testing.T, h *harness) {
	h.joinAs("t1", textOnly())
	h.joinAs("t2", textOnly())
	h.expect("pair", textPair("t1", "t2")...)
	if err := h.s.Block(h.ctx, peer("t1"), peer("t2")); err != nil {
		t.Fatalf("Block: %v", err)
	}
	h.expect("block", done("t1"), left("t2", queue.ReasonNext))
	waitUntilExpired(time.Now(), 10*time.Millisecond)
	h.match()
	h.expect("blocked, after the rematch window")
}

// A user with a language pairs first with the earliest user of the same
// language; users without one pair among themselves as before.
func testLanguageFirst(t *testing.T, h *harness) {
	h.joinAs("a", language("en"))
	h.joinAs("b", language("es"))
	h.join("x")
	h.expect("two languages and a user without one wait")
	h.joinAs("c", language("en"))
	h.expect("c speaks a's language", matchedPair("a", "c")...)
	h.joinAs("d", language("es"))
	h.expect("d speaks b's language", matchedPair("b", "d")...)
	h.join("y")
	h.expect("y pairs with x", matchedPair("x", "y")...)
}

// The same language comes before a shared interest: inside its wait, a
// user with a language takes only its language, even when an earlier user
// shares an interest with it.
func testLanguageBeforeInterest(t *testing.T, h *harness) {
	h.joinAs("a", language("en", "music"))
	h.joinWith("b", "music")
	h.expect("a waits for english, b for music from someone without a language or open")
	h.joinAs("c", language("en", "chess"))
	h.expect("c speaks a's language", matchedPair("a", "c")...)
	h.joinWith("d", "music")
	h.expect("d shares b's music", matchedOn("b", "d", "music")...)
	// Two of one language who share an interest are told it.
	h.joinAs("e", language("de", "go", "chess"))
	h.joinAs("f", language("de", "chess"))
	h.expect("f speaks e's language", matchedOn("e", "f", "chess")...)
}

// With nobody of its language, a user falls back to anyone open after the
// interest wait.
func testLanguageFallback(t *testing.T, h *harness) {
	const wait = 300 * time.Millisecond
	began := time.Now()
	h.joinAs("a", language("fr"))
	joined := time.Now()
	h.join("x")
	got := h.drain()
	if time.Since(began) < wait {
		if !sameEvents(got, nil) {
			t.Fatalf("inside the wait: events:\n%s", format(got))
		}
	} else {
		t.Logf("machine too slow to observe the wait (%v)", time.Since(began))
	}
	waitUntilExpired(joined, wait)
	h.match()
	all := append(got, h.drain()...)
	if want := matchedPair("a", "x"); !sameEvents(all, want) {
		t.Fatalf("after the wait: events:\n%swant:\n%s", format(all), format(want))
	}
}

// Once open, a user still takes a later user of its language before an
// earlier open user; and once open, a user with a language and interests
// takes a user sharing an interest, whatever its language.
func testLanguageBeforeOpen(t *testing.T, h *harness) {
	const wait = 300 * time.Millisecond
	h.joinAs("a", language("en"))
	h.join("x")
	waitUntilExpired(time.Now(), wait)
	// Both could pair now, but nothing ran matching since: c's join does.
	h.joinAs("c", language("en"))
	h.expect("c speaks a's language: before x, earlier and open", matchedPair("a", "c")...)
	h.leave("x", queue.ReasonLeave)
	h.joinAs("g", language("en", "music"))
	h.expect("x leaves, g waits", done("x"))
	waitUntilExpired(time.Now(), wait)
	h.joinWith("b", "music")
	h.expect("g is open: b shares music", matchedOn("g", "b", "music")...)
}

// Language does not cross the modes: a text-only and a video user of one
// language never pair.
func testLanguageInMode(t *testing.T, h *harness) {
	h.joinAs("t", func(p *queue.Profile) { p.TextOnly, p.Language = true, "en" })
	h.joinAs("v", language("en"))
	h.expect("same language, different modes")
	h.joinAs("t2", func(p *queue.Profile) { p.TextOnly, p.Language = true, "en" })
	h.expect("t2 joins", textPair("t", "t2")...)
}
