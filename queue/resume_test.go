package queue_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
)

// The resume window as the service runs it, on both stores: a held user
// keeps its call through a drop and comes back on another instance; its
// partner leaving meanwhile is announced when it is back; the window
// lapsing is a disconnect; a store outage during the window refuses the
// resume, which the wall turns into a new session.

// pairedOnTwo joins a through one and b through two (two instances on one
// store) and waits until they are paired.
func pairedOnTwo(t *testing.T, one, two *harness) {
	t.Helper()
	one.join(t, "a")
	two.join(t, "b")
	one.rec.waitUntil(t, "a matched", func() bool { _, ok := one.rec.lastMatch("a"); return ok })
	two.rec.waitUntil(t, "b matched", func() bool { _, ok := two.rec.lastMatch("b"); return ok })
}

// toldLeftAfterMatch waits until id's announcements are its match, then
// partner-left for reason, and nothing else.
func (h *harness) toldLeftAfterMatch(t *testing.T, id string, reason queue.Reason) {
	t.Helper()
	h.rec.waitUntil(t, fmt.Sprintf("%s told its partner left (%s)", id, reason), func() bool {
		seen := h.rec.of(id)
		return len(seen) == 2 && !seen[1].matched && seen[1].reason == reason
	})
}

func held(pidHash string, frames ...string) queue.HeldSession {
	h := queue.HeldSession{PIDHash: pidHash}
	for i, f := range frames {
		h.Kept = append(h.Kept, queue.KeptFrame{Offset: uint64(i), Frame: []byte(f)})
	}
	h.Next = uint64(len(frames))
	return h
}

func TestHeldUserResumesOnAnotherInstance(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.new(t, queue.StoreOptions{})
			one := serve(t, st, queue.Config{ResumeWindow: 10 * time.Second})
			two := serve(t, st, queue.Config{ResumeWindow: 10 * time.Second})
			three := serve(t, st, queue.Config{ResumeWindow: 10 * time.Second})
			pairedOnTwo(t, one, two)
			ctx := context.Background()
			if err := one.svc.Hold(ctx, "a", held("h", `2["x",1]`, `2["x",2]`)); err != nil {
				t.Fatalf("hold: %v", err)
			}
			if _, _, ok := one.svc.PartnerSince("a"); ok {
				t.Fatal("the instance that held a still knows it")
			}
			if _, err := three.svc.Resume(ctx, "a", "other", 0); !errors.Is(err, queue.ErrNotHeld) {
				t.Fatalf("resume with another pid: %v, want ErrNotHeld", err)
			}
			r, err := three.svc.Resume(ctx, "a", "h", 0)
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			if len(r.Frames) != 1 || string(r.Frames[0].Frame) != `2["x",2]` || r.Next != 2 || r.Partner != "b" {
				t.Fatalf("resumed %+v", r)
			}
			three.svc.Connect("a")
			if partner, _, ok := three.svc.PartnerSince("a"); !ok || partner != "b" {
				t.Fatalf("after the resume a's partner is %q (%v), want b", partner, ok)
			}
			if partner, _, ok := two.svc.PartnerSince("b"); !ok || partner != "a" {
				t.Fatalf("b's partner is %q (%v), want a", partner, ok)
			}
			if got := three.rec.of("a"); len(got) != 0 {
				t.Fatalf("a was told %+v on its resume, want nothing", got)
			}
			if got := two.rec.of("b"); len(got) != 1 {
				t.Fatalf("b was told %+v, want its match only", got)
			}
			// Retiring the instance a dropped from no longer ends it: a is
			// the resuming instance's now.
			if err := one.svc.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			// A Next from a still ends the call with b.
			if err := three.svc.Next(ctx, "a"); err != nil {
				t.Fatalf("next after the resume: %v", err)
			}
			two.toldLeftAfterMatch(t, "b", queue.ReasonNext)
		})
	}
}

func TestPartnerLeavingWhileHeldIsAnnouncedOnResume(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.new(t, queue.StoreOptions{})
			one := serve(t, st, queue.Config{ResumeWindow: 10 * time.Second})
			two := serve(t, st, queue.Config{ResumeWindow: 10 * time.Second})
			pairedOnTwo(t, one, two)
			ctx := context.Background()
			if err := one.svc.Hold(ctx, "a", held("h")); err != nil {
				t.Fatalf("hold: %v", err)
			}
			if err := two.svc.Next(ctx, "b"); err != nil {
				t.Fatalf("b's next: %v", err)
			}
			r, err := one.svc.Resume(ctx, "a", "h", 0)
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			if r.Partner != "" || r.Left != queue.ReasonNext {
				t.Fatalf("resumed %+v, want no partner and left next", r)
			}
			one.svc.Connect("a")
			one.toldLeftAfterMatch(t, "a", queue.ReasonNext)
		})
	}
}

func TestHeldSessionLapsesIntoADisconnect(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.new(t, queue.StoreOptions{})
			window := 300 * time.Millisecond
			one := serve(t, st, queue.Config{ResumeWindow: window})
			two := serve(t, st, queue.Config{ResumeWindow: window})
			pairedOnTwo(t, one, two)
			ctx := context.Background()
			heldAt := time.Now()
			if err := one.svc.Hold(ctx, "a", held("h")); err != nil {
				t.Fatalf("hold: %v", err)
			}
			two.toldLeftAfterMatch(t, "b", queue.ReasonDisconnect)
			if waited := time.Since(heldAt); waited < window {
				t.Fatalf("b told after %v, inside the window of %v", waited, window)
			}
			if _, err := two.svc.Resume(ctx, "a", "h", 0); !errors.Is(err, queue.ErrNotHeld) {
				t.Fatalf("resume after the lapse: %v, want ErrNotHeld", err)
			}
		})
	}
}

func TestHeldSessionsPerAddressAreBounded(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.new(t, queue.StoreOptions{MaxHeldPerAddr: 2})
			h := serve(t, st, queue.Config{ResumeWindow: 10 * time.Second})
			ctx := context.Background()
			for i, id := range []string{"u1", "u2", "u3"} {
				h.svc.Connect(id)
				if err := h.svc.Join(ctx, id, queue.Profile{Name: id, Addr: "same"}); err != nil {
					t.Fatal(err)
				}
				err := h.svc.Hold(ctx, id, held("h"+id))
				if want := i == 2; errors.Is(err, queue.ErrTooManyHeld) != want {
					t.Fatalf("hold %s: %v, want ErrTooManyHeld %v", id, err, want)
				}
			}
		})
	}
}

// A store outage during the window refuses the resume with the store's
// error, not ErrNotHeld: the wall then starts a new session.
func TestResumeDuringARedisOutageFails(t *testing.T) {
	b := backends()[1]
	st, srv := b.new(t, queue.StoreOptions{})
	h := serve(t, st, queue.Config{ResumeWindow: 10 * time.Second})
	h.join(t, "a")
	ctx := context.Background()
	if err := h.svc.Hold(ctx, "a", held("h")); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := h.svc.Resume(rctx, "a", "h", 0)
	if err == nil || errors.Is(err, queue.ErrNotHeld) {
		t.Fatalf("resume with Redis down: %v, want the store's error", err)
	}
}

// A user banned while its session was held is not given it back: the
// resume ends it, its partner is told, and the error says it is banned.
func TestBannedWhileHeldDoesNotResume(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.new(t, queue.StoreOptions{})
			one := serve(t, st, queue.Config{ResumeWindow: 10 * time.Second})
			two := serve(t, st, queue.Config{ResumeWindow: 10 * time.Second})
			ctx := context.Background()
			one.svc.Connect("a")
			if err := one.svc.Join(ctx, "a", queue.Profile{Name: "a", Addr: "addr-a"}); err != nil {
				t.Fatal(err)
			}
			two.join(t, "b")
			two.rec.waitUntil(t, "b matched", func() bool { _, ok := two.rec.lastMatch("b"); return ok })
			if err := one.svc.Hold(ctx, "a", held("h")); err != nil {
				t.Fatal(err)
			}
			if err := st.Ban(ctx, queue.Ban{Addr: "addr-a"}); err != nil {
				t.Fatal(err)
			}
			if _, err := two.svc.Resume(ctx, "a", "h", 0); !errors.Is(err, queue.ErrBanned) {
				t.Fatalf("resume of a banned user: %v, want ErrBanned", err)
			}
			two.toldLeftAfterMatch(t, "b", queue.ReasonDisconnect)
		})
	}
}
