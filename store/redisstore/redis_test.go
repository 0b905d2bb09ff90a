package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/eventually"
	"github.com/zivro/zivro/internal/redisproc"
	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/redisstore"
	"github.com/zivro/zivro/store/storetest"
)

// newClient starts a fresh redis-server for t and returns a client for it.
func newClient(t *testing.T) (*redisproc.Server, *redis.Client) {
	srv := redisproc.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = client.Close() })
	return srv, client
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts queue.StoreOptions) queue.Store {
		_, client := newClient(t)
		return redisstore.New(client, opts)
	})
}

// listen runs Listen until the test ends and returns the channel it delivers
// to and one that is closed when Listen is ready.
func listen(t *testing.T, s *redisstore.Store) (<-chan queue.Event, <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan queue.Event, 1024)
	stopped := make(chan error, 1)
	ready := make(chan struct{})
	go func() { stopped <- s.Listen(ctx, func() { close(ready) }, func(e queue.Event) { events <- e }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-stopped:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Listen = %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Listen did not return after cancel")
		}
	})
	return events, ready
}

func awaitReady(t *testing.T, ready <-chan struct{}) {
	t.Helper()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("Listen not ready")
	}
}

// awaitMatched waits for the two matched events of a pairing of a and b.
func awaitMatched(t *testing.T, events <-chan queue.Event, a, b string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	want := map[string]bool{a: true, b: true}
	for len(want) > 0 {
		select {
		case e := <-events:
			if e.Kind == queue.EventMatched {
				delete(want, e.User)
			}
		case <-deadline:
			t.Fatalf("no matched events for %s and %s", a, b)
		}
	}
}

func TestOutage(t *testing.T) {
	srv, client := newClient(t)
	s := redisstore.New(client, queue.StoreOptions{})
	events, ready := listen(t, s)
	awaitReady(t, ready)
	for _, id := range []string{"before-a", "before-b"} {
		if err := s.Join(t.Context(), id, queue.Profile{Name: id}); err != nil {
			t.Fatalf("Join(%s): %v", id, err)
		}
	}
	awaitMatched(t, events, "before-a", "before-b")

	srv.Stop(t)
	// A listener that starts while Redis is down gets ready once Redis is
	// back.
	late, lateReady := listen(t, s)
	ops := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Join", func(ctx context.Context) error { return s.Join(ctx, "x", queue.Profile{}) }},
		{"Next", func(ctx context.Context) error { return s.Next(ctx, "x") }},
		{"Leave", func(ctx context.Context) error { return s.Leave(ctx, "x", queue.ReasonLeave) }},
		{"Match", s.Match},
		{"Sweep", s.Sweep},
		{"Refresh", func(ctx context.Context) error { return s.Refresh(ctx, map[string]queue.Profile{"x": {}}) }},
		{"Ping", s.Ping},
		{"Beat", func(ctx context.Context) error { _, err := s.Beat(ctx, "i", time.Minute); return err }},
		{"Retire", func(ctx context.Context) error { return s.Retire(ctx, "i") }},
	}
	for _, op := range ops {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err := op.call(ctx)
		cancel()
		if err == nil || errors.Is(err, queue.ErrBusy) || errors.Is(err, queue.ErrNotJoined) {
			t.Errorf("%s while Redis is down = %v, want a Redis error", op.name, err)
		} else if !strings.HasPrefix(err.Error(), "redisstore: ") {
			t.Errorf("%s error lacks context: %v", op.name, err)
		}
	}

	select {
	case <-lateReady:
		t.Fatal("Listen ready while Redis is down")
	default:
	}

	srv.Restart(t)
	awaitReady(t, lateReady)
	eventually.True(t, 20*time.Second, func() (bool, string) {
		err := s.Ping(t.Context())
		return err == nil, fmt.Sprintf("Ping fails after restart: %v", err)
	})
	// The restarted Redis is empty: a fresh pair meets, and both listeners
	// see it.
	for _, id := range []string{"after-a", "after-b"} {
		if err := s.Join(t.Context(), id, queue.Profile{Name: id}); err != nil {
			t.Fatalf("Join(%s) after restart: %v", id, err)
		}
	}
	awaitMatched(t, events, "after-a", "after-b")
	awaitMatched(t, late, "after-a", "after-b")
}

// Keys of the original data model, checked from outside: another tool (or
// the old Node.js server during a migration) reads the same keys.
func TestDataModel(t *testing.T) {
	_, client := newClient(t)
	s := redisstore.New(client, queue.StoreOptions{})
	ctx := t.Context()
	for _, id := range []string{"a", "b", "c"} {
		if err := s.Join(ctx, id, queue.Profile{Name: "N" + id, Gender: "g", Region: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := client.LRange(ctx, redisstore.SingleKeys().QueueList, 0, -1).Val(); !slices.Equal(got, []string{"c"}) {
		t.Errorf("queue list = %q, want [c]", got)
	}
	if got := client.SMembers(ctx, redisstore.SingleKeys().QueueSet).Val(); !slices.Equal(got, []string{"c"}) {
		t.Errorf("queue set = %q, want [c]", got)
	}
	rooms := client.HGetAll(ctx, redisstore.SingleKeys().Rooms).Val()
	if rooms["a"] != "b" || rooms["b"] != "a" || len(rooms) != 2 {
		t.Errorf("rooms = %v", rooms)
	}
	details := client.HGetAll(ctx, redisstore.SingleKeys().RoomDetails).Val()
	if details["a"] == "" || details["a"] != details["b"] || len(details) != 2 {
		t.Errorf("room details = %v", details)
	}
	if got := client.Get(ctx, redisstore.SingleKeys().UserPrefix+"a").Val(); got != `{"name":"Na","gender":"g","region":"r"}` {
		t.Errorf("profile = %s", got)
	}
	if ttl := client.PTTL(ctx, redisstore.SingleKeys().UserPrefix+"a").Val(); ttl <= 9*time.Minute || ttl > 10*time.Minute {
		t.Errorf("profile TTL = %v, want 10m", ttl)
	}
	if err := s.Next(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{"a", "b"}, {"b", "a"}} {
		key := redisstore.SingleKeys().LastPartnerPrefix + pair[0]
		if got := client.Get(ctx, key).Val(); got != pair[1] {
			t.Errorf("%s = %q, want %q", key, got, pair[1])
		}
		if ttl := client.PTTL(ctx, key).Val(); ttl <= 110*time.Second || ttl > 120*time.Second {
			t.Errorf("%s TTL = %v, want 120s", key, ttl)
		}
	}
}

// A Redis that lost its data (a restart without persistence, FLUSHALL) has
// lost every instance's presence, however short the outage: the next beat
// says so.
func TestPresenceLost(t *testing.T) {
	srv, client := newClient(t)
	s := redisstore.New(client, queue.StoreOptions{})
	beat := func(s *redisstore.Store) bool {
		t.Helper()
		var kept bool
		eventually.True(t, 20*time.Second, func() (bool, string) {
			p, err := s.Beat(t.Context(), "i", time.Hour)
			kept = p.Kept
			return err == nil, fmt.Sprintf("Beat: %v", err)
		})
		return kept
	}
	if beat(s) {
		t.Fatal("first Beat: presence kept, want new")
	}
	if !beat(s) {
		t.Fatal("second Beat: presence lost without a restart")
	}
	// Another store on the same Redis (the same instance restarting its
	// client) sees the same presence.
	if !beat(redisstore.New(client, queue.StoreOptions{})) {
		t.Fatal("second store: presence lost")
	}
	srv.Restart(t)
	if beat(s) {
		t.Fatal("presence kept across a restart without persistence")
	}
	if err := client.FlushAll(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if beat(s) {
		t.Fatal("presence kept after FLUSHALL")
	}
}

// A takeover and a retirement leave nothing of the instance in Redis: no
// presence, member set, census figure, profile, last partner, queue place
// or room of its users.
func TestTakeOverLeavesNothing(t *testing.T) {
	_, client := newClient(t)
	s := redisstore.New(client, queue.StoreOptions{})
	events, ready := listen(t, s)
	awaitReady(t, ready)
	ctx := t.Context()
	join := func(inst, id string) {
		t.Helper()
		if err := s.Join(ctx, id, queue.Profile{Name: id, Instance: inst}); err != nil {
			t.Fatalf("Join %s via %s: %v", id, inst, err)
		}
	}
	for _, tc := range []struct {
		name string
		end  func(inst string)
	}{
		{"takeover", func(inst string) {
			time.Sleep(100 * time.Millisecond) // its 50 ms presence lapses
			if p, err := s.Beat(ctx, "survivor", time.Hour); err != nil || p.TakenOver != 1 {
				t.Fatalf("Beat = %+v, %v; want one takeover", p, err)
			}
		}},
		{"retire", func(inst string) {
			if err := s.Retire(ctx, inst); err != nil {
				t.Fatalf("Retire: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst := "dying-" + tc.name
			if _, err := s.Beat(ctx, "survivor", time.Hour); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Beat(ctx, inst, 50*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Census(ctx, inst, 3, time.Hour); err != nil {
				t.Fatal(err)
			}
			mine := []string{tc.name + "-x", tc.name + "-y", tc.name + "-z"}
			join(inst, mine[0])
			join("survivor", tc.name+"-s")
			awaitMatched(t, events, mine[0], tc.name+"-s")
			join(inst, mine[1])
			join(inst, mine[2])
			awaitMatched(t, events, mine[1], mine[2])
			tc.end(inst)
			if n := client.Exists(ctx, redisstore.SingleKeys().MembersPrefix+inst).Val(); n != 0 {
				t.Errorf("members of %s still in Redis", inst)
			}
			for _, h := range []string{redisstore.SingleKeys().Instances, redisstore.SingleKeys().Online} {
				if client.HExists(ctx, h, inst).Val() {
					t.Errorf("%s still holds %s", h, inst)
				}
			}
			for _, id := range mine {
				for _, k := range []string{redisstore.SingleKeys().UserPrefix + id, redisstore.SingleKeys().LastPartnerPrefix + id} {
					if client.Exists(ctx, k).Val() != 0 {
						t.Errorf("%s still in Redis", k)
					}
				}
				if client.SIsMember(ctx, redisstore.SingleKeys().QueueSet, id).Val() || client.HExists(ctx, redisstore.SingleKeys().Rooms, id).Val() {
					t.Errorf("%s still queued or in a room", id)
				}
				if slices.Contains(client.LRange(ctx, redisstore.SingleKeys().QueueList, 0, -1).Val(), id) {
					t.Errorf("%s still in the queue list", id)
				}
			}
			if !client.SIsMember(ctx, redisstore.SingleKeys().QueueSet, tc.name+"-s").Val() {
				t.Errorf("the survivor's user was not requeued")
			}
			if err := s.Leave(ctx, tc.name+"-s", queue.ReasonLeave); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Data written by another program (the Node.js server during a migration) may
// have a list and set that disagree; matching must still end and never pair a
// user with itself.
func TestInconsistentQueue(t *testing.T) {
	_, client := newClient(t)
	s := redisstore.New(client, queue.StoreOptions{})
	ctx := t.Context()
	events, ready := listen(t, s)
	awaitReady(t, ready)
	client.RPush(ctx, redisstore.SingleKeys().QueueList, "ghost", "dup", "dup")
	client.SAdd(ctx, redisstore.SingleKeys().QueueSet, "dup")
	client.Set(ctx, redisstore.SingleKeys().UserPrefix+"dup", `{"name":"dup"}`, time.Minute)
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Match(mctx); err != nil {
		t.Fatalf("Match: %v", err)
	}
	if got := client.LRange(ctx, redisstore.SingleKeys().QueueList, 0, -1).Val(); !slices.Equal(got, []string{"dup", "dup"}) {
		t.Fatalf("queue = %q, want the ghost gone and dup waiting", got)
	}
	if err := s.Join(ctx, "b", queue.Profile{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	awaitMatched(t, events, "dup", "b")
	if got := client.LRange(ctx, redisstore.SingleKeys().QueueList, 0, -1).Val(); len(got) != 0 {
		t.Fatalf("queue = %q after the pairing, want empty", got)
	}
}

// The address secret is made once and kept: every client of one Redis
// gets the same; another Redis has another (random, not derived from
// anything); a proposed secret is kept only where none is, so that after a
// Redis lost its data an instance writes its secret back.
func TestAddressSecret(t *testing.T) {
	ctx := context.Background()
	srv, client := newClient(t)
	first, err := redisstore.AddressSecret(ctx, client, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) < 32 {
		t.Fatalf("secret of %d characters, want at least 32", len(first))
	}
	other := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer other.Close()
	for _, proposed := range [][]byte{nil, []byte("a proposal that comes too late")} {
		again, err := redisstore.AddressSecret(ctx, other, proposed)
		if err != nil || string(again) != string(first) {
			t.Fatalf("second instance (proposing %q): %q %v, want the first's %q", proposed, again, err, first)
		}
	}
	if ttl := client.PTTL(ctx, redisstore.SingleKeys().AddressKey).Val(); ttl != -1 {
		t.Fatalf("%s has TTL %v, want none", redisstore.SingleKeys().AddressKey, ttl)
	}
	_, elsewhere := newClient(t)
	if s, _ := redisstore.AddressSecret(ctx, elsewhere, nil); string(s) == string(first) {
		t.Fatal("two Redis servers, one secret: not random")
	}
	client.FlushAll(ctx)
	if back, _ := redisstore.AddressSecret(ctx, client, first); string(back) != string(first) {
		t.Fatalf("after a flush, the known secret proposed: %q, want it back", back)
	}
	if got := client.Get(ctx, redisstore.SingleKeys().AddressKey).Val(); got != string(first) {
		t.Fatalf("stored %q, want the proposed secret", got)
	}
}
