package events

import (
	"fmt"
	"testing"
	"time"

	"github.com/zivro/zivro/internal/eventually"
)

// The signal delay (Config.SignalDelay): a user's first signals of
// a pairing go out no sooner than the delay after its matched, in order;
// later ones at once. No test here bounds how late anything comes.

const testSignalDelay = 300 * time.Millisecond

func signalTo(to string, n int) string {
	return fmt.Sprintf(`{"to":%q,"data":{"type":"ice-candidate","n":%d}}`, to, n)
}

func TestSignalDelay(t *testing.T) {
	tests := []struct {
		name    string
		matched time.Duration // how long before the signals matched was sent
		signals int
	}{
		{"an offer sent at once after matched waits, and so do the candidates behind it", 0, 5},
		{"signals sent part-way through the delay wait for its end", testSignalDelay / 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{SignalDelay: testSignalDelay})
			matchedAt := time.Now().Add(-tt.matched)
			f.svc.partners["me"], f.svc.since["me"] = "you", matchedAt
			for i := range tt.signals {
				f.sess.Event(event("signal", uint64(i+1), signalTo("you", i)))
			}
			for i, ack := range f.conn.waitAcks(t, tt.signals) {
				if want := fmt.Sprintf(`%d {"ok":true}`, i+1); ack != want {
					t.Errorf("ack %d: %s, want %s", i, ack, want)
				}
			}
			got, at := f.out.waitFrames(t, tt.signals)
			for i, s := range got {
				want := fmt.Sprintf(`{"from":"me","data":{"type":"ice-candidate","n":%d}}`, i)
				if s.to != "you" || s.payload != want {
					t.Errorf("frame %d: %+v, want %s to you (in the order sent)", i, s, want)
				}
				if early := matchedAt.Add(testSignalDelay).Sub(at[i]); early > 0 {
					t.Errorf("frame %d sent %v before the delay was over", i, early)
				}
			}
		})
	}
}

func TestSignalAfterTheDelayGoesAtOnce(t *testing.T) {
	f := newFixture(t, Config{SignalDelay: testSignalDelay})
	f.svc.partners["me"], f.svc.since["me"] = "you", time.Now().Add(-2*testSignalDelay)
	f.sess.Event(event("signal", 0, signalTo("you", 0)))
	// Sent while the event was handled: no timer in between.
	if got := f.out.frames(); len(got) != 1 || got[0].to != "you" {
		t.Fatalf("sent %+v while handling the signal, want it relayed at once", got)
	}
}

func TestSignalsHeldForAnEndedPairingAreDropped(t *testing.T) {
	f := newFixture(t, Config{SignalDelay: testSignalDelay})
	f.svc.partners["me"], f.svc.since["me"] = "you", time.Now()
	f.sess.Event(event("signal", 0, signalTo("you", 0)))
	// A new pairing before the delay is over (as after a Next).
	f.svc.mu.Lock()
	f.svc.partners["me"], f.svc.since["me"] = "other", time.Now()
	f.svc.mu.Unlock()
	f.sess.Event(event("signal", 0, signalTo("other", 1)))
	got, _ := f.out.waitFrames(t, 1)
	if len(got) != 1 || got[0].to != "other" {
		t.Fatalf("sent %+v, want only the signal of the new pairing", got)
	}
}

func TestSignalsHeldWhenThePairingEndsAreDropped(t *testing.T) {
	f := newFixture(t, Config{SignalDelay: testSignalDelay})
	f.svc.partners["me"], f.svc.since["me"] = "you", time.Now()
	f.sess.Event(event("signal", 0, signalTo("you", 0)))
	f.svc.mu.Lock()
	delete(f.svc.partners, "me")
	f.svc.mu.Unlock()
	// Once the release has run (the timer, then the partner check), with
	// the partner gone nothing is sent.
	eventually.True(t, wait, func() (bool, string) {
		f.sess.hold.mu.Lock()
		defer f.sess.hold.mu.Unlock()
		return f.sess.hold.timer == nil && !f.sess.hold.releasing && len(f.sess.hold.held) == 0,
			"held signals not released within the deadline"
	})
	if got := f.out.frames(); len(got) != 0 {
		t.Fatalf("sent %+v after the pairing ended, want nothing", got)
	}
}

func TestHeldSignalsAreBounded(t *testing.T) {
	f := newFixture(t, Config{SignalDelay: time.Minute})
	f.svc.partners["me"], f.svc.since["me"] = "you", time.Now()
	for i := range maxHeld + 1 {
		f.sess.Event(event("signal", uint64(i+1), signalTo("you", i)))
	}
	acks := f.conn.waitAcks(t, maxHeld+1)
	if want := fmt.Sprintf(`%d {"ok":false,"code":"too-many-held","error":%q}`, maxHeld+1, errTooManyHeld); acks[maxHeld] != want {
		t.Fatalf("last ack %s, want %s", acks[maxHeld], want)
	}
	f.sess.Closed("transport close")
	f.sess.hold.mu.Lock()
	defer f.sess.hold.mu.Unlock()
	if f.sess.hold.timer != nil || len(f.sess.hold.held) != 0 {
		t.Fatalf("after the close: timer %v, %d held; want them dropped", f.sess.hold.timer != nil, len(f.sess.hold.held))
	}
}

func TestChatKeepsItsPlaceAmongHeldSignals(t *testing.T) {
	f := newFixture(t, Config{SignalDelay: testSignalDelay})
	matchedAt := time.Now()
	f.svc.partners["me"], f.svc.since["me"] = "you", matchedAt
	f.sess.Event(event("signal", 0, signalTo("you", 0)))
	f.sess.Event(event("chat-message", 0, `{"message":"hi"}`))
	f.sess.Event(event("signal", 0, signalTo("you", 1)))
	got, at := f.out.waitFrames(t, 3)
	for i, want := range []string{"signal", "chat-message", "signal"} {
		if got[i].name != want || got[i].to != "you" {
			t.Fatalf("frames %+v, want signal, chat-message, signal to you", got)
		}
		if at[i].Before(matchedAt.Add(testSignalDelay)) {
			t.Fatalf("frame %d sent before the delay was over", i)
		}
	}
}
