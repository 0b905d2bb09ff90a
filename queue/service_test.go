package queue_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/redisproc"
	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/memory"
	"github.com/zivro/zivro/store/redisstore"
)

// announcement is one thing a user was told.
type announcement struct {
	matched bool
	match   queue.Match
	reason  queue.Reason
	banned  bool // the connection was dropped for a ban
	// own: the user pressed Next or left (its client leaves the call at
	// once); ownRefused: the server refused that (the call goes on);
	// ownDone: it went through.
	// Recorded by tests that act as clients (failover_test.go).
	own, ownRefused, ownDone bool
}

// recorder is a queue.Notifier that remembers what each user was told and
// lets tests wait for it.
type recorder struct {
	mu    sync.Mutex
	seen  map[string][]announcement
	added chan struct{}
}

func newRecorder() *recorder {
	return &recorder{seen: make(map[string][]announcement), added: make(chan struct{}, 1)}
}

func (r *recorder) Matched(to string, m queue.Match) {
	r.add(to, announcement{matched: true, match: m})
}

func (r *recorder) PartnerLeft(to string, reason queue.Reason) {
	r.add(to, announcement{reason: reason})
}

func (r *recorder) Banned(to string) {
	r.add(to, announcement{banned: true})
}

func (r *recorder) add(to string, a announcement) {
	r.mu.Lock()
	r.seen[to] = append(r.seen[to], a)
	r.mu.Unlock()
	select {
	case r.added <- struct{}{}:
	default:
	}
}

func (r *recorder) of(id string) []announcement {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]announcement(nil), r.seen[id]...)
}

// waitUntil polls cond after every announcement until it holds or the
// deadline passes.
func (r *recorder) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond) // store recoveries announce nothing
	defer tick.Stop()
	for !cond() {
		select {
		case <-r.added:
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// lastMatch returns the user's latest pairing, if its last announcement was
// a match.
func (r *recorder) lastMatch(id string) (queue.Match, bool) {
	seen := r.of(id)
	if len(seen) == 0 || !seen[len(seen)-1].matched {
		return queue.Match{}, false
	}
	return seen[len(seen)-1].match, true
}

type backend struct {
	name string
	new  func(t *testing.T, opts queue.StoreOptions) (queue.Store, *redisproc.Server)
}

func backends() []backend {
	return []backend{
		{"memory", func(t *testing.T, opts queue.StoreOptions) (queue.Store, *redisproc.Server) {
			return memory.New(opts), nil
		}},
		{"redis", func(t *testing.T, opts queue.StoreOptions) (queue.Store, *redisproc.Server) {
			srv := redisproc.Start(t)
			client := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
			t.Cleanup(func() { _ = client.Close() })
			return redisstore.New(client, opts), srv
		}},
	}
}

type harness struct {
	svc   *queue.Service
	rec   *recorder
	redis *redisproc.Server
	// windows are the store's.
	windows queue.Windows
}

func start(t *testing.T, b backend, window time.Duration) *harness {
	t.Helper()
	st, srv := b.new(t, queue.StoreOptions{RematchWindow: window})
	h := serve(t, st, queue.Config{HeartbeatEvery: 50 * time.Millisecond})
	h.redis = srv
	return h
}

// serve runs a service on st until the test ends, and waits until it listens.
func serve(t *testing.T, st queue.Store, cfg queue.Config) *harness {
	t.Helper()
	h, _ := serveUntilStopped(t, st, cfg)
	return h
}

// serveUntilStopped is serve, and returns a stop that ends the service's
// Run at once, as a crash would: no Drain, no goodbye to the store.
func serveUntilStopped(t *testing.T, st queue.Store, cfg queue.Config) (*harness, func()) {
	t.Helper()
	rec := newRecorder()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := queue.NewService(st, rec, log, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_ = svc.Run(ctx)
		close(done)
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	select {
	case <-svc.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("service not listening to the store after 10 s")
	}
	return &harness{svc: svc, rec: rec, windows: st.Windows()}, stop
}

// pairNextAndRematch joins a and b, waits until they are matched, makes a
// press Next, and returns a's next match: only the run after the no-rematch
// window can make it.
func (h *harness) pairNextAndRematch(t *testing.T) queue.Match {
	t.Helper()
	h.join(t, "a")
	h.join(t, "b")
	h.rec.waitUntil(t, "a and b matched", func() bool { _, ok := h.rec.lastMatch("a"); return ok })
	first, _ := h.rec.lastMatch("a")
	began := time.Now()
	if err := h.svc.Next(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	h.rec.waitUntil(t, "a and b matched again after the window", func() bool {
		m, ok := h.rec.lastMatch("a")
		return ok && m.RoomID != first.RoomID
	})
	// The window began after began: a rematch sooner broke it. (On the
	// fake clock, TestRematchWindowBounds holds it to the millisecond.)
	if waited, window := time.Since(began), h.windows.RematchWindow; waited < window {
		t.Fatalf("a and b rematched %v after a's Next, inside the window of %v", waited, window)
	}
	again, _ := h.rec.lastMatch("a")
	return again
}

func (h *harness) join(t *testing.T, id string) {
	t.Helper()
	h.svc.Connect(id)
	if err := h.svc.Join(context.Background(), id, queue.Profile{Name: "n-" + id}); err != nil {
		t.Fatalf("join %s: %v", id, err)
	}
}

// pairs reads the users' latest announcements as their current pairings and
// counts the pairs, or says what is inconsistent: each matched user's partner
// must be matched back in the same room, with exactly one initiator.
func pairs(rec *recorder, ids []string) (int, error) {
	n := 0
	for _, id := range ids {
		m, ok := rec.lastMatch(id)
		if !ok {
			continue
		}
		back, ok := rec.lastMatch(m.PartnerID)
		if !ok || back.PartnerID != id || back.RoomID != m.RoomID {
			return 0, fmt.Errorf("%s matched with %s in %s, who is not matched back (%+v)", id, m.PartnerID, m.RoomID, back)
		}
		if m.Initiator == back.Initiator {
			return 0, fmt.Errorf("room %s: initiator flags %v and %v, want exactly one", m.RoomID, m.Initiator, back.Initiator)
		}
		if m.PartnerName != "n-"+m.PartnerID {
			return 0, fmt.Errorf("%s: partner name %q, want %q", id, m.PartnerName, "n-"+m.PartnerID)
		}
		n++
	}
	return n / 2, nil
}

// waitPairs waits until ids form want consistent pairs.
func waitPairs(t *testing.T, rec *recorder, ids []string, want int) {
	t.Helper()
	var n int
	var err error
	rec.waitUntil(t, fmt.Sprintf("%d consistent pairs among %v", want, ids), func() bool {
		n, err = pairs(rec, ids)
		return err == nil && n == want
	})
}

func TestConcurrentJoinsPairEveryone(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			h := start(t, b, time.Minute)
			const users = 200
			ids := make([]string, users)
			var wg sync.WaitGroup
			for i := range ids {
				ids[i] = fmt.Sprintf("u%03d", i)
				wg.Add(1)
				go func(id string) {
					defer wg.Done()
					h.join(t, id)
				}(ids[i])
			}
			wg.Wait()
			h.rec.waitUntil(t, "everyone is matched", func() bool {
				for _, id := range ids {
					if _, ok := h.rec.lastMatch(id); !ok {
						return false
					}
				}
				return true
			})
			waitPairs(t, h.rec, ids, users/2)
			for _, id := range ids {
				if n := len(h.rec.of(id)); n != 1 {
					t.Fatalf("%s got %d announcements, want 1", id, n)
				}
			}
		})
	}
}

func TestBothPartnersPressNextAtOnce(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			h := start(t, b, time.Minute)
			for round := 0; round < 25; round++ {
				a, bb, c := fmt.Sprintf("a%d", round), fmt.Sprintf("b%d", round), fmt.Sprintf("c%d", round)
				h.join(t, a)
				h.join(t, bb)
				waitPairs(t, h.rec, []string{a, bb}, 1)
				old, _ := h.rec.lastMatch(a)
				h.join(t, c) // waits: the only one who may meet a or b next

				var wg sync.WaitGroup
				for _, id := range []string{a, bb} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := h.svc.Next(context.Background(), id); err != nil {
							t.Errorf("next %s: %v", id, err)
						}
					}()
				}
				wg.Wait()

				h.rec.waitUntil(t, "c matched with a or b", func() bool { _, ok := h.rec.lastMatch(c); return ok })
				m, _ := h.rec.lastMatch(c)
				if m.PartnerID != a && m.PartnerID != bb {
					t.Fatalf("c matched with %s", m.PartnerID)
				}
				// a and b pressed Next, so their own latest announcement may be
				// stale; c's pairing is what counts.
				if back, _ := h.rec.lastMatch(m.PartnerID); back.RoomID != m.RoomID || back.Initiator == m.Initiator {
					t.Fatalf("c in %s with %s, who was told %+v", m.RoomID, m.PartnerID, back)
				}
				if n := len(h.rec.of(c)); n != 1 {
					t.Fatalf("c was told %d things, want one match: %+v", n, h.rec.of(c))
				}
				other := a
				if m.PartnerID == a {
					other = bb
				}
				// The one left over is not in a new call; a and b never meet again.
				for _, seen := range h.rec.of(other) {
					if seen.matched && seen.match.RoomID != old.RoomID {
						t.Fatalf("%s was matched again (%+v) while only c waited", other, seen.match)
					}
				}
				for _, id := range []string{a, bb, c} {
					if err := h.svc.Disconnect(context.Background(), id); err != nil {
						t.Fatalf("disconnect %s: %v", id, err)
					}
				}
			}
		})
	}
}

// assertCoherent checks what a user was told, read as the client reads it:
// partner-left only while in a call.
func assertCoherent(t *testing.T, id string, seen []announcement) {
	t.Helper()
	inCall := false
	rooms := map[string]bool{}
	for i, a := range seen {
		if a.matched {
			if rooms[a.match.RoomID] {
				t.Fatalf("%s: room %s announced twice (%d)", id, a.match.RoomID, i)
			}
			rooms[a.match.RoomID] = true
			inCall = true
			continue
		}
		if !inCall {
			t.Fatalf("%s: partner-left (%s) at %d while not in a call: %+v", id, a.reason, i, seen)
		}
		inCall = false
	}
}

func TestDisconnectDuringMatching(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			h := start(t, b, time.Minute)
			const users = 100
			gone := map[string]bool{}
			var ids []string
			var wg sync.WaitGroup
			for i := 0; i < users; i++ {
				id := fmt.Sprintf("u%03d", i)
				ids = append(ids, id)
				leaves := i%3 == 0
				if leaves {
					gone[id] = true
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					h.join(t, id)
					if leaves {
						if err := h.svc.Disconnect(context.Background(), id); err != nil {
							t.Errorf("disconnect %s: %v", id, err)
						}
					}
				}()
			}
			wg.Wait()
			var alive []string
			for _, id := range ids {
				if !gone[id] {
					alive = append(alive, id)
				}
			}
			// Every connected user ends up paired with another connected user,
			// except one if their number is odd: nobody is left with a ghost.
			h.rec.waitUntil(t, "connected users are paired with connected users", func() bool {
				unpaired := 0
				for _, id := range alive {
					m, ok := h.rec.lastMatch(id)
					if !ok || gone[m.PartnerID] {
						unpaired++
					}
				}
				return unpaired == len(alive)%2
			})
			if _, err := pairs(h.rec, alive); err != nil {
				t.Fatal(err)
			}
			for _, id := range alive {
				assertCoherent(t, id, h.rec.of(id))
			}
		})
	}
}

func TestRematchAfterWindowWithoutAnyAction(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			h := start(t, b, 300*time.Millisecond)
			again := h.pairNextAndRematch(t)
			if again.PartnerID != "b" {
				t.Fatalf("a rematched with %s, want b", again.PartnerID)
			}
		})
	}
}

func TestRematchFollowsEveryWindow(t *testing.T) {
	// Redis expires a key only once its clock is past the expiry
	// millisecond: a matching run in that very millisecond still finds the
	// pair blocked, and nothing else would run matching again. Many short
	// windows make such a run likely, if the service schedules one.
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			h := start(t, b, 10*time.Millisecond)
			h.join(t, "a")
			h.join(t, "b")
			h.rec.waitUntil(t, "a and b matched", func() bool { _, ok := h.rec.lastMatch("a"); return ok })
			for i := range 150 {
				before, _ := h.rec.lastMatch("a")
				if err := h.svc.Next(context.Background(), []string{"a", "b"}[i%2]); err != nil {
					t.Fatal(err)
				}
				h.rec.waitUntil(t, fmt.Sprintf("rematch %d after the window", i), func() bool {
					m, ok := h.rec.lastMatch("a")
					return ok && m.RoomID != before.RoomID
				})
			}
		})
	}
}

func TestOwnNextDropsStaleAnnouncements(t *testing.T) {
	// Random Next presses on every user, many times a second: each user's
	// announcements must read as a coherent story, whatever the interleaving.
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			h := start(t, b, 20*time.Millisecond)
			ids := []string{"a", "b", "c", "d", "e", "f"}
			for _, id := range ids {
				h.join(t, id)
			}
			var wg sync.WaitGroup
			for _, id := range ids {
				wg.Add(1)
				go func(id string) {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(len(id)), uint64(id[0])))
					for i := 0; i < 60; i++ {
						if err := h.svc.Next(context.Background(), id); err != nil {
							t.Errorf("next %s: %v", id, err)
							return
						}
						time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond) // pacing, not synchronisation
					}
				}(id)
			}
			wg.Wait()
			waitPairs(t, h.rec, ids, 3)
			for _, id := range ids {
				seen := h.rec.of(id)
				rooms := map[string]bool{}
				for _, a := range seen {
					if a.matched {
						if rooms[a.match.RoomID] {
							t.Fatalf("%s: room %s announced twice", id, a.match.RoomID)
						}
						rooms[a.match.RoomID] = true
					}
				}
			}
		})
	}
}

func TestRedisRestartWhileUsersWait(t *testing.T) {
	b := backends()[1]
	h := start(t, b, time.Minute)
	h.join(t, "a")
	h.redis.Restart(t) // everything Redis held is gone
	h.svc.Connect("b")
	// The service notices the outage and the recovery, and requeues a.
	var err error
	h.rec.waitUntil(t, "b can join after the restart", func() bool {
		err = h.svc.Join(context.Background(), "b", queue.Profile{Name: "n-b"})
		return err == nil
	})
	h.rec.waitUntil(t, "a (waiting before the restart) is matched with b", func() bool {
		m, ok := h.rec.lastMatch("b")
		return ok && m.PartnerID == "a"
	})
	waitPairs(t, h.rec, []string{"a", "b"}, 1)
}

// lostReply is a store whose joins take effect but whose answers are lost,
// as when the client's deadline passes just after Redis ran the script.
// failingMatch fails the first matching run without running it.
type failingMatch struct {
	queue.Store
	failed *atomic.Bool
}

func (s failingMatch) Match(ctx context.Context) error {
	if s.failed.CompareAndSwap(false, true) {
		return errors.New("injected failure")
	}
	return s.Store.Match(ctx)
}

func TestRematchAfterAFailedMatchingRun(t *testing.T) {
	// Only the run at the window's end can pair a and b again: when it
	// fails, it must be tried again, not forgotten.
	const window = 200 * time.Millisecond
	st := failingMatch{Store: memory.New(queue.StoreOptions{RematchWindow: window}), failed: &atomic.Bool{}}
	h := serve(t, st, queue.Config{})
	h.pairNextAndRematch(t)
	if !st.failed.Load() {
		t.Fatal("no matching run failed: the test did not test the retry")
	}
}

type lostReply struct{ queue.Store }

func (s lostReply) Join(ctx context.Context, id string, p queue.Profile) error {
	if err := s.Store.Join(ctx, id, p); err != nil {
		return err
	}
	return context.DeadlineExceeded
}

func TestDisconnectAfterALostJoinReplyLeavesNoGhost(t *testing.T) {
	h := serve(t, lostReply{memory.New(queue.StoreOptions{})}, queue.Config{})
	svc, rec := h.svc, h.rec

	svc.Connect("ghost")
	if err := svc.Join(context.Background(), "ghost", queue.Profile{Name: "n-ghost"}); err == nil {
		t.Fatal("join reported success; the test needs a lost reply")
	}
	if err := svc.Disconnect(context.Background(), "ghost"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"b", "c"} {
		svc.Connect(id)
		_ = svc.Join(context.Background(), id, queue.Profile{Name: "n-" + id})
	}
	// Had the ghost stayed queued, b would have been paired with it.
	waitPairs(t, rec, []string{"b", "c"}, 1)
	if got := rec.of("ghost"); len(got) != 0 {
		t.Fatalf("the disconnected user was announced %+v", got)
	}
}

// heldStream is a store whose event stream can be held back, to see what
// the service does between a state change and the stream's word of it.
type heldStream struct {
	queue.Store
	hold sync.RWMutex // write-locked: events wait
}

func (h *heldStream) Listen(ctx context.Context, ready func(), handle func(queue.Event)) error {
	return h.Store.Listen(ctx, ready, func(e queue.Event) {
		h.hold.RLock()
		defer h.hold.RUnlock()
		handle(e)
	})
}

func TestNoPartnerWhileOwnNextIsUnderWay(t *testing.T) {
	// After a user's own Next or leave, relays from it must not reach the
	// old partner, even while the store's EventDone is still on its way.
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			inner, _ := b.new(t, queue.StoreOptions{RematchWindow: time.Minute})
			st := &heldStream{Store: inner}
			h := serve(t, st, queue.Config{})
			h.join(t, "a")
			h.join(t, "b")
			waitPairs(t, h.rec, []string{"a", "b"}, 1)
			if p, ok := h.svc.Partner("a"); !ok || p != "b" {
				t.Fatalf("a's partner %q %v before next, want b", p, ok)
			}
			func() {
				st.hold.Lock()
				defer st.hold.Unlock()
				if err := h.svc.Next(context.Background(), "a"); err != nil {
					t.Fatal(err)
				}
				if p, ok := h.svc.Partner("a"); ok {
					t.Fatalf("a's partner %q while its next is under way, want none", p)
				}
			}()
			h.rec.waitUntil(t, "b told a left", func() bool {
				seen := h.rec.of("b")
				return len(seen) > 0 && !seen[len(seen)-1].matched
			})
			if p, ok := h.svc.Partner("a"); ok {
				t.Fatalf("a's partner %q after its next, want none", p)
			}
		})
	}
}

// partnerLefts returns the partner-left reasons id was told.
func (r *recorder) partnerLefts(id string) []queue.Reason {
	var out []queue.Reason
	for _, a := range r.of(id) {
		if !a.matched {
			out = append(out, a.reason)
		}
	}
	return out
}

// After Redis loses its data (FLUSHALL), the users in a call are told
// their partner left and are matched again: nobody stays in a call the
// store no longer knows.
func TestStoreLossEndsCalls(t *testing.T) {
	h := start(t, backends()[1], 100*time.Millisecond)
	h.join(t, "a")
	h.join(t, "b")
	waitPairs(t, h.rec, []string{"a", "b"}, 1)
	first, _ := h.rec.lastMatch("a")
	client := redis.NewClient(&redis.Options{Addr: h.redis.Addr()})
	defer client.Close()
	if err := client.FlushAll(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	h.rec.waitUntil(t, "a and b told partner-left (disconnect) and matched again", func() bool {
		for _, id := range []string{"a", "b"} {
			m, ok := h.rec.lastMatch(id)
			if l := h.rec.partnerLefts(id); len(l) != 1 || l[0] != queue.ReasonDisconnect || !ok || m.RoomID == first.RoomID {
				return false
			}
		}
		return true
	})
}

// An instance whose presence was taken over while it was cut off (here:
// retired by someone else, which is what a takeover does) tells its users
// in a call, and requeues them; their partners on the other instance are
// told by the takeover itself.
func TestTakenOverInstanceRequeues(t *testing.T) {
	const window = 200 * time.Millisecond
	srv := redisproc.Start(t)
	newStore := func() *redisstore.Store {
		client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
		t.Cleanup(func() { _ = client.Close() })
		return redisstore.New(client, queue.StoreOptions{RematchWindow: window})
	}
	one := serve(t, newStore(), queue.Config{HeartbeatEvery: 50 * time.Millisecond})
	two := serve(t, newStore(), queue.Config{HeartbeatEvery: 50 * time.Millisecond})
	one.join(t, "a")
	two.join(t, "b")
	one.rec.waitUntil(t, "a matched", func() bool { _, ok := one.rec.lastMatch("a"); return ok })
	first, _ := one.rec.lastMatch("a")
	if err := newStore().Retire(t.Context(), one.svc.Instance()); err != nil {
		t.Fatal(err)
	}
	two.rec.waitUntil(t, "b told partner-left (disconnect) and matched again", func() bool {
		m, ok := two.rec.lastMatch("b")
		l := two.rec.partnerLefts("b")
		return len(l) == 1 && l[0] == queue.ReasonDisconnect && ok && m.RoomID != first.RoomID
	})
	one.rec.waitUntil(t, "a told partner-left (disconnect) and matched again", func() bool {
		m, ok := one.rec.lastMatch("a")
		l := one.rec.partnerLefts("a")
		return len(l) == 1 && l[0] == queue.ReasonDisconnect && ok && m.RoomID != first.RoomID
	})
}

// deafTo is a store whose announcements of a partner leaving never reach
// one user, as after a store that lost them.
type deafTo struct {
	queue.Store
	user string
}

func (s deafTo) Listen(ctx context.Context, ready func(), handle func(queue.Event)) error {
	return s.Store.Listen(ctx, ready, func(e queue.Event) {
		if e.Kind == queue.EventPartnerLeft && e.User == s.user {
			return
		}
		handle(e)
	})
}

// The relay check is mutual where both users are connected here: once a
// has moved on, b may no longer reach a, whatever b was told.
func TestPartnerNeedsBothSides(t *testing.T) {
	h := serve(t, deafTo{memory.New(queue.StoreOptions{}), "b"}, queue.Config{})
	h.join(t, "a")
	h.join(t, "b")
	waitPairs(t, h.rec, []string{"a", "b"}, 1)
	if p, ok := h.svc.Partner("b"); !ok || p != "a" {
		t.Fatalf("Partner(b) = %q, %v in the call; want a", p, ok)
	}
	if err := h.svc.Next(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	h.rec.waitUntil(t, "a's next done", func() bool { _, ok := h.svc.Partner("a"); return !ok })
	if p, ok := h.svc.Partner("b"); ok {
		t.Fatalf("Partner(b) = %q after a moved on, want none", p)
	}
}

// Drain refuses joins from then on, and the store lets go of the
// instance's users at once: a partner is told and requeued.
func TestDrainRetires(t *testing.T) {
	st := memory.New(queue.StoreOptions{})
	one := serve(t, st, queue.Config{})
	two := serve(t, st, queue.Config{})
	one.join(t, "a")
	two.join(t, "b")
	two.rec.waitUntil(t, "b matched", func() bool { _, ok := two.rec.lastMatch("b"); return ok })
	if err := one.svc.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	two.rec.waitUntil(t, "b told partner-left (disconnect)", func() bool {
		l := two.rec.partnerLefts("b")
		return len(l) == 1 && l[0] == queue.ReasonDisconnect
	})
	one.svc.Connect("c")
	if err := one.svc.Join(t.Context(), "c", queue.Profile{Name: "c"}); !errors.Is(err, queue.ErrDraining) {
		t.Fatalf("Join while draining = %v, want ErrDraining", err)
	}
	if err := one.svc.Next(t.Context(), "a"); !errors.Is(err, queue.ErrNotJoined) {
		t.Fatalf("Next of a retired user = %v, want ErrNotJoined", err)
	}
}

// A state change that comes before the service listens to the store (a
// client that connects the moment a new instance starts) waits for it,
// within its context, instead of failing.
func TestStateChangesWaitUntilTheServiceListens(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := queue.NewService(memory.New(queue.StoreOptions{}), newRecorder(), log, queue.Config{})
	svc.Connect("a")

	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	if err := svc.Join(short, "a", queue.Profile{Name: "a"}); !errors.Is(err, queue.ErrNotReady) {
		t.Fatalf("join whose context ends before the service listens: %v, want ErrNotReady", err)
	}

	joined := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		joined <- svc.Join(ctx, "a", queue.Profile{Name: "a"})
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_ = svc.Run(ctx)
		close(done)
	}()
	defer func() { cancel(); <-done }()
	if err := <-joined; err != nil {
		t.Fatalf("join sent before the service listened: %v, want it to wait and succeed", err)
	}
}
