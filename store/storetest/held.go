package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
)

// The held sessions (queue.HeldSessions): a dropped resumable user keeps
// its queue place or its room, is never paired while held, and the frames
// sent to it meanwhile come back at its resume.

// heldWindow is the window of a test's held session that must not lapse
// while the test runs.
const heldWindow = time.Minute

// shortWindow is the window of a held session that a test waits out.
const shortWindow = 300 * time.Millisecond

// pidOf is the pid hash of a test user's session.
func pidOf(id string) string { return "pid hash of " + id }

// frameAt is the frame a test keeps with offset n.
func frameAt(n uint64) []byte { return fmt.Appendf(nil, `2["signal",{"n":%d}]`, n) }

// session is a held session of id, told of partner announced ("" none),
// whose connection dropped with the frames at offsets kept unacknowledged
// and next as the offset of the next frame.
func session(id, announced string, next uint64, kept ...uint64) queue.HeldSession {
	hs := queue.HeldSession{PIDHash: pidOf(id), Announced: announced, Next: next, Addr: addrOf(id)}
	for _, o := range kept {
		hs.Kept = append(hs.Kept, queue.KeptFrame{Offset: o, Frame: frameAt(o)})
	}
	return hs
}

func (h *harness) hold(id string, hs queue.HeldSession, window time.Duration) {
	h.t.Helper()
	if err := h.s.Hold(h.ctx, id, hs, window); err != nil {
		h.t.Fatalf("Hold(%s): %v", id, err)
	}
}

// keep keeps the frames of the offsets given for id, which must be held.
func (h *harness) keep(id string, offsets ...uint64) {
	h.t.Helper()
	for _, o := range offsets {
		kept, err := h.s.Keep(h.ctx, id, frameAt(o))
		if err != nil || !kept {
			h.t.Fatalf("Keep(%s, frame %d) = %v, %v; want kept", id, o, kept, err)
		}
	}
}

func (h *harness) resume(id string, after uint64, instance string) queue.Resumed {
	h.t.Helper()
	r, err := h.s.Resume(h.ctx, id, pidOf(id), after, instance)
	if err != nil {
		h.t.Fatalf("Resume(%s after %d): %v", id, after, err)
	}
	h.resumedBy(id, r)
	return r
}

func (h *harness) resumeFails(id, pid string, after uint64, want error) {
	h.t.Helper()
	if _, err := h.s.Resume(h.ctx, id, pid, after, ""); !errors.Is(err, want) {
		h.t.Fatalf("Resume(%s, pid %q, after %d) = %v, want %v", id, pid, after, err, want)
	}
}

func (h *harness) lapse(id string, want bool) {
	h.t.Helper()
	ended, err := h.s.Lapse(h.ctx, id)
	if err != nil || ended != want {
		h.t.Fatalf("Lapse(%s) = %v, %v; want %v", id, ended, err, want)
	}
}

func (h *harness) retire(instance string) {
	h.t.Helper()
	if err := h.s.Retire(h.ctx, instance); err != nil {
		h.t.Fatalf("Retire(%s): %v", instance, err)
	}
}

// offsets are the offsets of frames, checking that each frame is the one
// kept with its offset.
func offsets(t *testing.T, frames []queue.KeptFrame) []uint64 {
	t.Helper()
	var got []uint64
	for _, f := range frames {
		if string(f.Frame) != string(frameAt(f.Offset)) {
			t.Fatalf("frame at offset %d is %q, want %q", f.Offset, f.Frame, frameAt(f.Offset))
		}
		got = append(got, f.Offset)
	}
	return got
}

// A held user resumes through another instance: it gets the frames after
// its offset (those it had not acknowledged at the drop and those kept
// since), its partner, and its profile, now naming the new instance; the
// old instance's retirement no longer ends it, the new one's does. When
// the kept frames do not reach back to the offset, the session ends as a
// lapse.
func testHoldResume(t *testing.T, h *harness) {
	h.beat("old", time.Hour)
	h.beat("new", time.Hour)
	tests := []struct {
		after uint64
		want  []uint64 // nil: ErrResumeGap
	}{
		{after: 4, want: []uint64{5, 6, 7, 8}},
		{after: 6, want: []uint64{7, 8}},
		{after: 8, want: []uint64{}},
		{after: 3}, // offset 4 is not kept
	}
	for i, tt := range tests {
		a, b := fmt.Sprint("a", i), fmt.Sprint("b", i)
		h.joinVia("old", a)
		h.join(b)
		hs := session(a, b, 7, 5, 6)
		hs.Instance = "old"
		h.hold(a, hs, heldWindow)
		h.keep(a, 7, 8)
		h.retire("old")
		h.expect(fmt.Sprintf("after %d: held, then its instance retired", tt.after), matchedPair(a, b)...)
		h.beat("old", time.Hour)
		if tt.want == nil {
			h.resumeFails(a, pidOf(a), tt.after, queue.ErrResumeGap)
			h.expect("gap", left(b, queue.ReasonDisconnect))
			h.notJoined(a)
			h.resumeFails(a, pidOf(a), 8, queue.ErrNotHeld)
			h.leave(b, queue.ReasonLeave)
			h.expect("cleanup", done(b))
			continue
		}
		r := h.resume(a, tt.after, "new")
		if got := offsets(t, r.Frames); !slices.Equal(got, tt.want) {
			t.Fatalf("after %d: frames %v, want %v", tt.after, got, tt.want)
		}
		wantProfile := profileOf(a)
		wantProfile.Instance = "new"
		if r.Next != 9 || r.Partner != b || r.PartnerAddr != addrOf(b) || r.Left != "" || r.Profile == nil || !reflect.DeepEqual(*r.Profile, wantProfile) {
			t.Fatalf("after %d: Resume = %+v (profile %+v), want next 9, partner %s at %q, no left, profile %+v", tt.after, r, r.Profile, b, addrOf(b), wantProfile)
		}
		if kept, err := h.s.Keep(h.ctx, a, frameAt(9)); err != nil || kept {
			t.Fatalf("Keep after the resume = %v, %v; want not held", kept, err)
		}
		h.resumeFails(a, pidOf(a), tt.after, queue.ErrNotHeld) // single use
		h.retire("old")
		h.expect("the old instance retires again: nothing of the resumed user")
		h.retire("new")
		h.expect("the new instance retires", left(b, queue.ReasonDisconnect))
		h.notJoined(a)
		h.beat("new", time.Hour)
		h.beat("old", time.Hour)
		h.leave(b, queue.ReasonLeave)
		h.expect("cleanup", done(b))
	}
}

// Only the session's own pid hash resumes it; a wrong one leaves it as it
// was.
func testResumeWrongPID(t *testing.T, h *harness) {
	h.join("a", "b")
	h.hold("a", session("a", "b", 1, 0), heldWindow)
	for _, pid := range []string{"", "pid hash of b", pidOf("a") + " "} {
		h.resumeFails("a", pid, 0, queue.ErrNotHeld)
	}
	h.resumeFails("nobody", pidOf("nobody"), 0, queue.ErrNotHeld)
	h.keep("a", 1)
	r := h.resume("a", 0, "")
	if got := offsets(t, r.Frames); !slices.Equal(got, []uint64{1}) || r.Partner != "b" {
		t.Fatalf("Resume with the right pid after wrong ones: frames %v, partner %q; want [1], b", got, r.Partner)
	}
	h.resumeFails("a", pidOf("a"), 0, queue.ErrNotHeld)
	h.expect("nothing but the pairing", matchedPair("a", "b")...)

	// A session that never joined resumes without a profile or partner.
	h.hold("loner", session("loner", "", 0), heldWindow)
	if r := h.resume("loner", 0, "i"); r.Profile != nil || r.Partner != "" || r.Left != "" {
		t.Fatalf("Resume of a session that never joined = %+v, want nothing", r)
	}
	h.notJoined("loner")
}

// Held users keep their queue place and are never paired: not with each
// other, not with a newcomer; once resumed, a held user is paired before
// those who queued after it.
func testHeldNeverPaired(t *testing.T, h *harness) {
	h.join("a")
	h.hold("a", session("a", "", 0), heldWindow)
	h.join("b")
	h.hold("b", session("b", "", 0), heldWindow)
	h.join("c")
	h.match()
	h.expect("two held users and a fresh one")
	h.join("d")
	h.expect("the fresh ones pair past the held", matchedPair("c", "d")...)
	h.join("e")
	h.expect("e waits")
	if r := h.resume("a", 0, ""); r.Partner != "" || r.Profile == nil {
		t.Fatalf("Resume(a) = %+v, want no partner and a profile", r)
	}
	h.expect("a resumed: paired first, before e", matchedPair("a", "e")...)
	h.join("f")
	h.expect("b still held", seq()...)
	h.resume("b", 0, "")
	h.expect("b resumed", matchedPair("b", "f")...)
}

// The partner the client was told of leaves while it is held: the held
// user is told as anyone (and requeued, never paired while held), and its
// Resume says why.
func testPartnerLeavesWhileHeld(t *testing.T, h *harness) {
	h.beat("other", time.Hour)
	tests := []struct {
		name   string
		leave  func(b string)
		events func(a, b string) []queue.Event
		want   queue.Reason
	}{
		{"next", func(b string) { h.next(b) },
			func(a, b string) []queue.Event { return seq(done(b), left(a, queue.ReasonNext)) }, queue.ReasonNext},
		{"leave", func(b string) { h.leave(b, queue.ReasonLeave) },
			func(a, b string) []queue.Event { return seq(done(b), left(a, queue.ReasonLeave)) }, queue.ReasonLeave},
		{"disconnect", func(b string) { h.leave(b, queue.ReasonDisconnect) },
			func(a, b string) []queue.Event { return seq(done(b), left(a, queue.ReasonDisconnect)) }, queue.ReasonDisconnect},
		{"block", func(b string) { h.block(b, "a-block") },
			func(a, b string) []queue.Event { return seq(done(b), left(a, queue.ReasonNext)) }, queue.ReasonNext},
		{"instance retired", func(string) { h.retire("other"); h.beat("other", time.Hour) },
			func(a, b string) []queue.Event { return seq(left(a, queue.ReasonDisconnect)) }, queue.ReasonDisconnect},
	}
	for _, tt := range tests {
		a, b := "a-"+tt.name, "b-"+tt.name
		if tt.name == "block" {
			a = "a-block"
		}
		h.join(a)
		h.joinVia("other", b)
		h.hold(a, session(a, b, 0), heldWindow)
		tt.leave(b)
		h.expect(tt.name, seq(matchedPair(a, b), tt.events(a, b))...)
		r := h.resume(a, 0, "")
		if r.Partner != "" || r.Left != tt.want {
			t.Fatalf("%s: Resume = partner %q, left %q; want none, %q", tt.name, r.Partner, r.Left, tt.want)
		}
		h.leave(a, queue.ReasonLeave)
		if tt.name == "next" || tt.name == "block" {
			h.leave(b, queue.ReasonLeave)
			h.expect("cleanup", done(a), done(b))
			continue
		}
		h.expect("cleanup", done(a))
	}
}

// A pairing the client was never told of (its matched was on the way when
// the connection dropped) ends at Hold: the partner is told and requeued,
// the held user requeued. A Resume says the announced partner left when
// the client was told of one.
func testHoldEndsUnannounced(t *testing.T, h *harness) {
	for _, announced := range []string{"", "someone before"} {
		a, b, c, d := "a"+announced, "b"+announced, "c"+announced, "d"+announced
		h.join(a, b)
		h.hold(a, session(a, announced, 0), heldWindow)
		h.expect(fmt.Sprintf("announced %q", announced), seq(matchedPair(a, b), done(a), left(b, queue.ReasonDisconnect))...)
		h.join(c)
		h.expect("the partner requeued", matchedPair(b, c)...)
		r := h.resume(a, 0, "")
		want := queue.Reason("")
		if announced != "" {
			want = queue.ReasonDisconnect
		}
		if r.Partner != "" || r.Left != want {
			t.Fatalf("announced %q: Resume = partner %q, left %q; want none, %q", announced, r.Partner, r.Left, want)
		}
		h.join(d)
		h.expect("the held user requeued", matchedPair(a, d)...)
	}
}

// Lapse ends a held session only once its window is over, as a
// disconnect; a second Hold replaces the first, window included.
func testLapse(t *testing.T, h *harness) {
	h.join("a", "b")
	h.hold("a", session("a", "b", 0), heldWindow)
	h.lapse("a", false)
	h.lapse("b", false) // not held
	h.hold("a", session("a", "b", 0), shortWindow)
	held := time.Now() // after the hold: its window is over by held + shortWindow
	h.expect("pair, held", matchedPair("a", "b")...)
	waitUntilExpired(held, shortWindow)
	h.lapse("a", true)
	h.expect("lapse", left("b", queue.ReasonDisconnect))
	h.lapse("a", false)
	h.notJoined("a")
	h.resumeFails("a", pidOf("a"), 0, queue.ErrNotHeld)
	if kept, err := h.s.Keep(h.ctx, "a", frameAt(0)); err != nil || kept {
		t.Fatalf("Keep after the lapse = %v, %v; want not held", kept, err)
	}
	h.join("c")
	h.expect("partner requeued", matchedPair("b", "c")...)
}

// Both sides of a call dropped: the room is kept for both; when one's
// window lapses, the other, still held, is told as anyone and its Resume
// says its partner disconnected.
func testBothHeld(t *testing.T, h *harness) {
	h.join("a", "b")
	h.hold("a", session("a", "b", 0), heldWindow)
	h.hold("b", session("b", "a", 0), shortWindow)
	held := time.Now()
	h.expect("pair, both held", matchedPair("a", "b")...)
	waitUntilExpired(held, shortWindow)
	h.lapse("a", false)
	h.lapse("b", true)
	h.expect("b lapsed", left("a", queue.ReasonDisconnect))
	if r := h.resume("a", 0, ""); r.Partner != "" || r.Left != queue.ReasonDisconnect {
		t.Fatalf("Resume(a) = partner %q, left %q; want none, disconnect", r.Partner, r.Left)
	}
	h.join("c")
	h.expect("a requeued", matchedPair("a", "c")...)
}

// Sweep lapses every held session whose window is over, and only those.
func testSweepLapses(t *testing.T, h *harness) {
	h.join("a", "b", "q")
	h.hold("q", session("q", "", 0), shortWindow)
	h.join("x", "y")
	h.hold("x", session("x", "y", 0), heldWindow)
	h.hold("a", session("a", "b", 0), shortWindow)
	held := time.Now() // after the last short hold
	h.expect("pairs past the held q", seq(matchedPair("a", "b"), matchedPair("x", "y"))...)
	waitUntilExpired(held, shortWindow)
	h.sweep()
	h.expect("sweep", left("b", queue.ReasonDisconnect))
	h.notJoined("a")
	h.notJoined("q")
	h.lapse("x", false)
	h.join("c")
	h.expect("b requeued, q gone", matchedPair("b", "c")...)
	if r := h.resume("x", 0, ""); r.Partner != "y" {
		t.Fatalf("Resume(x) after the sweep: partner %q, want y", r.Partner)
	}
}

// A held user's profile lives at least the window, however short the
// profile TTL: Sweep does not take it for a dead instance's user.
func testHeldOutlivesProfile(t *testing.T, h *harness) {
	h.join("a", "b")
	held := time.Now()
	h.hold("a", session("a", "b", 0), heldWindow)
	waitUntilExpired(held, 300*time.Millisecond) // the profile TTL
	h.refresh(map[string]queue.Profile{"b": profileOf("b")})
	h.sweep()
	h.expect("the held user's profile outlives its TTL", matchedPair("a", "b")...)
	if r := h.resume("a", 0, ""); r.Profile == nil || r.Partner != "b" {
		t.Fatalf("Resume(a) = %+v, want its profile and partner", r)
	}
}

// Keep on a user who is not held reports false and keeps nothing.
func testKeepNotHeld(t *testing.T, h *harness) {
	h.join("a")
	for _, id := range []string{"a", "nobody"} {
		if kept, err := h.s.Keep(h.ctx, id, frameAt(0)); err != nil || kept {
			t.Fatalf("Keep(%s) = %v, %v; want not held", id, kept, err)
		}
	}
}

// The bounds: a session keeps at most MaxKeptFrames frames and
// MaxKeptBytes bytes (its Resume gets ErrResumeGap past them, and the user
// is ended), and an address holds at most MaxHeldPerAddr sessions.
func testHeldBounds(t *testing.T, h *harness) {
	big := make([]byte, boundsKeptBytes)
	tests := []struct {
		name string
		// The session held: next offset, kept frames (offsets 1, 2, …).
		next uint64
		kept [][]byte
		// frames are kept after the hold.
		frames [][]byte
		gap    bool
	}{
		{name: "max frames", next: 2, kept: [][]byte{frameAt(1)}, frames: [][]byte{frameAt(2), frameAt(3)}},
		{name: "one frame too many", next: 2, kept: [][]byte{frameAt(1)}, frames: [][]byte{frameAt(2), frameAt(3), frameAt(4)}, gap: true},
		{name: "too many at hold", next: 5, kept: [][]byte{frameAt(1), frameAt(2), frameAt(3), frameAt(4)}, gap: true},
		{name: "max bytes", next: 1, frames: [][]byte{big}},
		{name: "one byte too many", next: 1, frames: [][]byte{big[1:], {'x', 'y'}}, gap: true},
		{name: "too many bytes at hold", next: 2, kept: [][]byte{append(big, 'x')}, gap: true},
	}
	for _, tt := range tests {
		a, b := "a "+tt.name, "b "+tt.name
		h.join(a, b)
		hs := session(a, b, tt.next)
		for i, f := range tt.kept {
			hs.Kept = append(hs.Kept, queue.KeptFrame{Offset: uint64(i + 1), Frame: f})
		}
		h.hold(a, hs, heldWindow)
		for _, f := range tt.frames {
			if kept, err := h.s.Keep(h.ctx, a, f); err != nil || !kept {
				t.Fatalf("%s: Keep = %v, %v; want kept (held, however many)", tt.name, kept, err)
			}
		}
		if tt.gap {
			h.resumeFails(a, pidOf(a), 0, queue.ErrResumeGap)
			h.expect(tt.name, seq(matchedPair(a, b), left(b, queue.ReasonDisconnect))...)
			h.notJoined(a)
		} else {
			r := h.resume(a, 0, "")
			if len(r.Frames) != len(tt.kept)+len(tt.frames) {
				t.Fatalf("%s: %d frames back, want %d", tt.name, len(r.Frames), len(tt.kept)+len(tt.frames))
			}
			h.leave(a, queue.ReasonLeave)
			h.expect(tt.name, seq(matchedPair(a, b), done(a), left(b, queue.ReasonLeave))...)
		}
		h.leave(b, queue.ReasonLeave)
		h.expect("cleanup", done(b))
	}

	// Per address: x@h and y@h held, z@h refused until one of them resumes.
	h.join("x@h", "y@h", "z@h", "w")
	h.expect("pairs", seq(matchedPair("x@h", "y@h"), matchedPair("z@h", "w"))...)
	h.hold("x@h", session("x@h", "y@h", 0), heldWindow)
	h.hold("y@h", session("y@h", "x@h", 0), heldWindow)
	h.hold("x@h", session("x@h", "y@h", 0), heldWindow) // a second hold replaces the first
	if err := h.s.Hold(h.ctx, "z@h", session("z@h", "w", 0), heldWindow); !errors.Is(err, queue.ErrTooManyHeld) {
		t.Fatalf("a third Hold at one address = %v, want ErrTooManyHeld", err)
	}
	h.resumeFails("z@h", pidOf("z@h"), 0, queue.ErrNotHeld)
	h.hold("w", session("w", "z@h", 0), heldWindow) // another address
	h.resume("x@h", 0, "")
	h.hold("z@h", session("z@h", "w", 0), heldWindow)
	h.expect("holds change no pairing")
}

// The bounds of testHeldBounds.
const (
	boundsKeptFrames  = 3
	boundsKeptBytes   = 1000
	boundsHeldPerAddr = 2
	boundsRematch     = 10 * time.Millisecond
)

func heldBoundsOptions() queue.StoreOptions {
	return queue.StoreOptions{MaxKeptFrames: boundsKeptFrames, MaxKeptBytes: boundsKeptBytes, MaxHeldPerAddr: boundsHeldPerAddr}
}

// Many resumes of one session at once: exactly one takes it.
func testConcurrentResume(t *testing.T, h *harness) {
	const rounds, resumers = 20, 8
	for i := range rounds {
		a, b := fmt.Sprint("a", i), fmt.Sprint("b", i)
		h.join(a, b)
		h.hold(a, session(a, b, 1, 0), heldWindow)
		var mu sync.Mutex
		won, lost := 0, 0
		fns := make([]func(), resumers)
		for j := range fns {
			fns[j] = func() {
				r, err := h.s.Resume(h.ctx, a, pidOf(a), 0, "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && r.Partner == b && len(r.Frames) == 0:
					won++
					h.resumedBy(a, r)
				case errors.Is(err, queue.ErrNotHeld):
					lost++
				default:
					t.Errorf("round %d: Resume = %+v, %v", i, r, err)
				}
			}
		}
		together(fns...)
		if won != 1 || lost != resumers-1 {
			t.Fatalf("round %d: %d resumes won, %d refused; want 1, %d", i, won, lost, resumers-1)
		}
		h.leave(a, queue.ReasonLeave)
		h.leave(b, queue.ReasonLeave)
		h.expect("cleanup", seq(matchedPair(a, b), done(a), left(b, queue.ReasonLeave), done(b))...)
	}
}

// A Resume and a Lapse of one session whose window is over, at once:
// exactly one of them ends it.
func testResumeRacesLapse(t *testing.T, h *harness) {
	const rounds = 20
	wins := map[string]int{}
	for i := range rounds {
		a, b := fmt.Sprint("a", i), fmt.Sprint("b", i)
		h.join(a, b)
		h.hold(a, session(a, b, 0), 10*time.Millisecond)
		held := time.Now()
		waitUntilExpired(held, 10*time.Millisecond)
		var r queue.Resumed
		var errResume, errLapse error
		var lapsed bool
		together(
			func() { r, errResume = h.s.Resume(h.ctx, a, pidOf(a), 0, "") },
			func() { lapsed, errLapse = h.s.Lapse(h.ctx, a) },
		)
		if errLapse != nil {
			t.Fatalf("round %d: Lapse: %v", i, errLapse)
		}
		if errResume == nil {
			h.resumedBy(a, r)
		}
		switch {
		case errResume == nil && !lapsed && r.Partner == b:
			wins["resume"]++
			h.leave(a, queue.ReasonLeave)
			h.leave(b, queue.ReasonLeave)
			h.expect("resume won", seq(matchedPair(a, b), done(a), left(b, queue.ReasonLeave), done(b))...)
		case errors.Is(errResume, queue.ErrNotHeld) && lapsed:
			wins["lapse"]++
			h.notJoined(a)
			h.leave(b, queue.ReasonLeave)
			h.expect("lapse won", seq(matchedPair(a, b), left(b, queue.ReasonDisconnect), done(b))...)
		default:
			t.Fatalf("round %d: Resume = %+v, %v; Lapse = %v", i, r, errResume, lapsed)
		}
	}
	t.Logf("wins: %v", wins)
}

// Keeps racing a Resume: each frame is either kept, and then among the
// frames the Resume hands back, in order, or refused (not held), never
// both and never lost.
func testKeepRacesResume(t *testing.T, h *harness) {
	const rounds, frames = 10, 40
	for i := range rounds {
		a := fmt.Sprint("a", i)
		h.join(a)
		// The client acknowledged offset 0; the frames kept from here on
		// have offsets 1, 2, …
		h.hold(a, session(a, "", 1), heldWindow)
		var kept []uint64
		var r queue.Resumed
		var errResume error
		// The resume starts once the keeper is i/rounds of the way
		// through, and races the rest.
		started := make(chan struct{})
		together(
			func() {
				for n := uint64(1); n <= frames; n++ {
					if n == uint64(1+i*frames/rounds) {
						close(started)
					}
					ok, err := h.s.Keep(h.ctx, a, frameAt(n))
					if err != nil {
						t.Errorf("round %d: Keep %d: %v", i, n, err)
						return
					}
					if ok {
						kept = append(kept, n)
					}
				}
			},
			func() {
				<-started
				r, errResume = h.s.Resume(h.ctx, a, pidOf(a), 0, "")
			},
		)
		if errResume != nil {
			t.Fatalf("round %d: Resume: %v", i, errResume)
		}
		h.resumedBy(a, r)
		if got := offsets(t, r.Frames); !slices.Equal(got, kept) {
			t.Fatalf("round %d: resumed frames %v, kept %v", i, got, kept)
		}
		if !slices.Equal(kept, seqFrom1(len(kept))) {
			t.Fatalf("round %d: kept %v: not the first frames, in order", i, kept)
		}
		if r.Next != uint64(len(kept))+1 {
			t.Fatalf("round %d: next %d after %d kept frames, want %d", i, r.Next, len(kept), len(kept)+1)
		}
		h.leave(a, queue.ReasonLeave)
		h.expect("cleanup", done(a))
	}
}

// seqFrom1 is 1, 2, …, n.
func seqFrom1(n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = uint64(i + 1)
	}
	return s
}
