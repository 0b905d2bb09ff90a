package events

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zivro/zivro/handler/socketio"
)

// holdFixture is a relayHold whose sends are recorded and whose current
// pairing a test sets; on synctest's clock.
type holdFixture struct {
	hold *relayHold
	mu   sync.Mutex
	sent []string // "<to> <payload>"
	now  pairing
}

func newHoldFixture(delay time.Duration, p pairing) *holdFixture {
	f := &holdFixture{now: p}
	f.hold = newRelayHold(delay,
		func(to string, fr socketio.Frame) {
			f.mu.Lock()
			f.sent = append(f.sent, to+" "+string(fr.Payload()))
			f.mu.Unlock()
		},
		func() (pairing, bool) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.now, f.now.partner != ""
		})
	return f
}

func (f *holdFixture) sentList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// slowRelease holds frame "1" for p and lets the delay pass: the release
// has sent it and is slow to come back from its send until unblock is
// closed. On synctest's clock.
func slowRelease(t *testing.T, delay time.Duration, p pairing) (f *holdFixture, unblock chan struct{}) {
	t.Helper()
	f = newHoldFixture(delay, p)
	sending := make(chan struct{})
	unblock = make(chan struct{})
	send := f.hold.send
	f.hold.send = func(to string, fr socketio.Frame) {
		send(to, fr)
		if string(fr.Payload()) == `"1"` {
			close(sending)
			<-unblock
		}
	}
	if err := f.hold.deliver(p, frame("1")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay)
	<-sending
	return f, unblock
}

func frame(n string) socketio.Frame { return socketio.NewFrame("signal", `"`+n+`"`) }

func TestRelayHold(t *testing.T) {
	const delay = time.Second
	t.Run("held until the delay is over, in order", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := pairing{partner: "you", matchedAt: time.Now()}
			f := newHoldFixture(delay, p)
			for _, n := range []string{"1", "2", "3"} {
				if err := f.hold.deliver(p, frame(n)); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(delay - time.Millisecond)
			if got := f.sentList(); len(got) != 0 {
				t.Fatalf("sent %q before the delay was over", got)
			}
			time.Sleep(time.Millisecond)
			synctest.Wait()
			if got, want := f.sentList(), []string{`you "1"`, `you "2"`, `you "3"`}; !slices.Equal(got, want) {
				t.Fatalf("sent %q, want %q", got, want)
			}
			// Nothing held any more: the next goes at once.
			if err := f.hold.deliver(p, frame("4")); err != nil {
				t.Fatal(err)
			}
			if got := f.sentList(); len(got) != 4 {
				t.Fatalf("sent %q, want the 4th at once", got)
			}
		})
	})
	t.Run("a relay that comes while a release sends goes out before its sender's next event", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := pairing{partner: "you", matchedAt: time.Now()}
			f, unblock := slowRelease(t, delay, p)
			// The partner has the first; its sender sends another, then
			// Next, which ends the pairing.
			done := make(chan error, 1)
			go func() {
				err := f.hold.deliver(p, frame("2"))
				f.mu.Lock()
				f.now = pairing{}
				f.mu.Unlock()
				done <- err
			}()
			synctest.Wait()
			close(unblock)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if got, want := f.sentList(), []string{`you "1"`, `you "2"`}; !slices.Equal(got, want) {
				t.Fatalf("sent %q, want %q", got, want)
			}
		})
	})
	t.Run("a relay waiting for a release is let go when the connection closes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := pairing{partner: "you", matchedAt: time.Now()}
			f, unblock := slowRelease(t, delay, p)
			done := make(chan error, 1)
			go func() { done <- f.hold.deliver(p, frame("2")) }()
			synctest.Wait() // waiting for the release
			f.hold.stop()
			synctest.Wait()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			default:
				t.Fatal("the relay still waits for the release after stop")
			}
			close(unblock)
			synctest.Wait()
			if got, want := f.sentList(), []string{`you "1"`}; !slices.Equal(got, want) {
				t.Fatalf("sent %q, want %q: nothing after stop", got, want)
			}
		})
	})
	t.Run("dropped when the pairing ended", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := pairing{partner: "you", matchedAt: time.Now()}
			f := newHoldFixture(delay, p)
			if err := f.hold.deliver(p, frame("1")); err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			f.now = pairing{partner: "other", matchedAt: time.Now()}
			f.mu.Unlock()
			time.Sleep(2 * delay)
			synctest.Wait()
			if got := f.sentList(); len(got) != 0 {
				t.Fatalf("sent %q for a pairing that ended", got)
			}
		})
	})
	t.Run("stop drops what is held and holds nothing more", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := pairing{partner: "you", matchedAt: time.Now()}
			f := newHoldFixture(delay, p)
			if err := f.hold.deliver(p, frame("1")); err != nil {
				t.Fatal(err)
			}
			f.hold.stop()
			if err := f.hold.deliver(p, frame("2")); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * delay)
			synctest.Wait()
			if got := f.sentList(); len(got) != 0 {
				t.Fatalf("sent %q after stop", got)
			}
		})
	})
	t.Run("bounded", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := pairing{partner: "you", matchedAt: time.Now()}
			f := newHoldFixture(delay, p)
			for range maxHeld {
				if err := f.hold.deliver(p, frame("x")); err != nil {
					t.Fatal(err)
				}
			}
			var r refusal
			if err := f.hold.deliver(p, frame("over")); !errors.As(err, &r) || r.code != codeTooManyHeld {
				t.Fatalf("relay %d: error %v, want a %s refusal", maxHeld+1, err, codeTooManyHeld)
			}
			time.Sleep(delay)
			synctest.Wait()
			if got := f.sentList(); len(got) != maxHeld {
				t.Fatalf("%d sent, want the %d held", len(got), maxHeld)
			}
		})
	})
}
