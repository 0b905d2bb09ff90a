package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/redisstore"
)

// snapshot is the queue's state in Redis, for comparison.
func snapshot(t *testing.T, client *redis.Client) string {
	t.Helper()
	ctx := t.Context()
	var b strings.Builder
	fmt.Fprintf(&b, "list %q\n", client.LRange(ctx, redisstore.SingleKeys().QueueList, 0, -1).Val())
	set := client.SMembers(ctx, redisstore.SingleKeys().QueueSet).Val()
	slices.Sort(set)
	fmt.Fprintf(&b, "set %q\n", set)
	for _, key := range []string{redisstore.SingleKeys().Rooms, redisstore.SingleKeys().RoomDetails} {
		h := client.HGetAll(ctx, key).Val()
		for _, k := range slices.Sorted(maps.Keys(h)) {
			fmt.Fprintf(&b, "%s %s=%s\n", key, k, h[k])
		}
	}
	keys := client.Keys(ctx, "zivro:*").Val()
	slices.Sort(keys)
	fmt.Fprintf(&b, "keys %q\n", keys)
	fmt.Fprintf(&b, "events %d\n", client.XLen(ctx, redisstore.SingleKeys().Events).Val())
	return b.String()
}

// Under maxmemory with noeviction (Render Key Value's default), a state
// change is refused whole, with ErrStoreFull, and leaves Redis as it was;
// once Redis has room again, it is applied and announced.
func TestOutOfMemoryRefusesChangesWhole(t *testing.T) {
	_, client := newClient(t)
	s := redisstore.New(client, queue.StoreOptions{})
	ctx := t.Context()
	events, ready := listen(t, s)
	awaitReady(t, ready)
	for _, id := range []string{"a", "b", "c"} {
		if err := s.Join(ctx, id, queue.Profile{Name: id}); err != nil {
			t.Fatalf("Join(%s): %v", id, err)
		}
	}
	awaitMatched(t, events, "a", "b")

	// Over the limit: fill Redis, then set the limit below what it holds.
	if err := client.Set(ctx, "fill", strings.Repeat("x", 4<<20), 0).Err(); err != nil {
		t.Fatal(err)
	}
	full := func(limit string) {
		t.Helper()
		for _, kv := range [][2]string{{"maxmemory-policy", "noeviction"}, {"maxmemory", limit}} {
			if err := client.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
				t.Fatalf("CONFIG SET %s %s: %v", kv[0], kv[1], err)
			}
		}
	}
	full("1mb")
	t.Cleanup(func() { _ = client.ConfigSet(context.Background(), "maxmemory", "0").Err() })
	if err := client.Set(ctx, "probe", "1", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "OOM") {
		t.Fatalf("SET while over maxmemory = %v: the test did not fill Redis", err)
	}

	before := snapshot(t, client)
	changes := []struct {
		name string
		call func(ctx context.Context) error
	}{
		// A leave's first write is a DEL, which Redis lets through when
		// full: without declared flags the whole leave ran.
		{"Leave a (in a call)", func(ctx context.Context) error { return s.Leave(ctx, "a", queue.ReasonLeave) }},
		{"Next b (in a call)", func(ctx context.Context) error { return s.Next(ctx, "b") }},
		{"Leave c (queued)", func(ctx context.Context) error { return s.Leave(ctx, "c", queue.ReasonDisconnect) }},
		{"Join d", func(ctx context.Context) error { return s.Join(ctx, "d", queue.Profile{Name: "d"}) }},
		{"Match", s.Match},
		{"Sweep", s.Sweep},
		{"Hold a", func(ctx context.Context) error {
			return s.Hold(ctx, "a", queue.HeldSession{PIDHash: "pid", Announced: "b"}, time.Minute)
		}},
	}
	for _, c := range changes {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := c.call(cctx)
		cancel()
		if !errors.Is(err, queue.ErrStoreFull) {
			t.Errorf("%s while Redis is full = %v, want ErrStoreFull", c.name, err)
		}
	}
	if after := snapshot(t, client); after != before {
		t.Fatalf("Redis changed while full:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// Relays still go through: a full Redis stops no call.
	if _, err := s.KeepOrPublish(ctx, "b", "zivro:to:b", []byte("relay")); err != nil {
		t.Fatalf("KeepOrPublish while Redis is full: %v", err)
	}
	// The instance's health check still answers: a full Redis is not an
	// outage that would requeue everyone.
	if _, err := s.Beat(ctx, "i", time.Minute); err != nil {
		t.Fatalf("Beat while Redis is full: %v", err)
	}

	full("0")
	if err := s.Leave(ctx, "a", queue.ReasonLeave); err != nil {
		t.Fatalf("Leave a once Redis has room: %v", err)
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Kind == queue.EventPartnerLeft && e.User == "b" {
				return
			}
		case <-deadline:
			t.Fatal("b was not told that a left")
		}
	}
}
