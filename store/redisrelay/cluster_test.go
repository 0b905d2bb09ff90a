package redisrelay_test

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/eventually"
	"github.com/zivro/zivro/internal/redisproc"
	"github.com/zivro/zivro/internal/syncbuf"
	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/redisrelay"
	"github.com/zivro/zivro/store/redisstore"
)

func newClusterClient(t *testing.T, c *redisproc.Cluster) *redis.ClusterClient {
	t.Helper()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// subscribedOn lists, per primary, the sharded channels subscribed to
// there.
func subscribedOn(t *testing.T, c *redisproc.Cluster) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for _, p := range c.Primaries(t) {
		node := redis.NewClient(&redis.Options{Addr: p.Addr()})
		chans, err := node.PubSubShardChannels(t.Context(), "*").Result()
		_ = node.Close()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(chans)
		got[p.Addr()] = chans
	}
	return got
}

// On a cluster, the socket channels spread over the shards, each
// subscribed on the primary that serves its slot, and every frame arrives
// once, in order, kept instead when its socket is held.
func TestClusterRelaySpreadsOverTheShards(t *testing.T) {
	c := redisproc.StartCluster(t, redisproc.ClusterOptions{})
	client := newClusterClient(t, c)
	store := redisstore.New(client, queue.StoreOptions{})
	a := newInstance(t, client, discard())
	b := instance{Relay: redisrelay.New(client, discard()).KeepHeld(store), got: make(chan delivery, 16)}
	b.Start(t.Context(), func(to string, frame []byte) { b.got <- delivery{to, string(frame)} })
	const sockets = 30
	for i := range sockets {
		a.Join(fmt.Sprint("s", i))
	}
	on := subscribedOn(t, c)
	shards := 0
	for addr, chans := range on {
		if len(chans) > 0 {
			shards++
		}
		for _, ch := range chans {
			if owner := c.SlotOwner(t, c.KeySlot(t, ch)).Addr(); owner != addr {
				t.Errorf("%s subscribed on %s, its slot is on %s", ch, addr, owner)
			}
		}
	}
	if shards < 2 {
		t.Fatalf("channels on %d shards, want them spread: %v", shards, on)
	}

	// s0 is held, and its instance unsubscribed, as after a dropped
	// connection.
	if err := store.Hold(t.Context(), "s0", queue.HeldSession{PIDHash: "pid", Next: 1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	a.Leave("s0")
	for round := range 2 {
		for i := range sockets {
			b.Send(fmt.Sprint("s", i), fmt.Appendf(nil, "frame %d", round))
		}
	}
	got := map[string][]string{}
	for range 2 * (sockets - 1) {
		d := a.next(t)
		got[d.to] = append(got[d.to], d.frame)
	}
	for i := 1; i < sockets; i++ {
		if s := fmt.Sprint("s", i); !slices.Equal(got[s], []string{"frame 0", "frame 1"}) {
			t.Errorf("%s got %q, want frame 0 then frame 1, once each", s, got[s])
		}
	}
	if len(got["s0"]) != 0 {
		t.Errorf("held s0 got %q: want its frames kept", got["s0"])
	}
	r, err := store.Resume(t.Context(), "s0", "pid", 0, "")
	if err != nil || len(r.Frames) != 2 || string(r.Frames[0].Frame) != "frame 0" || string(r.Frames[1].Frame) != "frame 1" {
		t.Fatalf("resumed %+v, %v: want both frames kept, in order", r, err)
	}
	select {
	case d := <-a.got:
		t.Fatalf("a got %+v more: a frame arrived twice", d)
	case <-time.After(200 * time.Millisecond):
	}
}

// While frames flow to a socket, its channel's slot moves to another
// primary (a resharding): the relay follows it, and the frames keep
// arriving, every one, once, in order (those sent while the subscription
// moved wait for it: waiting.go).
func TestClusterRelayFollowsASlotMove(t *testing.T) {
	c := redisproc.StartCluster(t, redisproc.ClusterOptions{})
	client := newClusterClient(t, c)
	a, b := newInstance(t, client, discard()), newInstance(t, client, discard())
	a.Join("s")
	slot := c.KeySlot(t, "zivro:to:s")
	owner := c.SlotOwner(t, slot)
	var to *redisproc.Server
	for _, p := range c.Primaries(t) {
		if p != owner {
			to = p
			break
		}
	}
	stop := make(chan struct{})
	sent := make(chan int, 1)
	go func() {
		i := 0
		defer func() { sent <- i }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			b.Send("s", fmt.Appendf(nil, "%d", i))
			i++
			time.Sleep(2 * time.Millisecond)
		}
	}()
	// Some frames before the move.
	last := -1
	receive := func() {
		t.Helper()
		var n int
		d := a.next(t)
		if _, err := fmt.Sscan(d.frame, &n); err != nil || n != last+1 {
			t.Fatalf("frame %q after %d: want %d (every frame, once, in order)", d.frame, last, last+1)
		}
		last = n
	}
	for range 20 {
		receive()
	}
	c.MoveSlot(t, slot, to)
	eventually.True(t, wait, func() (bool, string) {
		on := subscribedOn(t, c)
		return slices.Contains(on[to.Addr()], "zivro:to:s"), fmt.Sprintf("subscribed: %v", on)
	})
	// Frames sent from now on arrive, through the new primary.
	moved := last
	for last < moved+50 {
		receive()
	}
	close(stop)
	total := <-sent
	for last < total-1 {
		receive()
	}
}

// When the primary of a socket's channel dies, its replica takes over and
// the relay subscribes there: frames reach the socket again.
func TestClusterRelayFollowsAFailover(t *testing.T) {
	c := redisproc.StartCluster(t, redisproc.ClusterOptions{Replicas: true})
	client := newClusterClient(t, c)
	a, b := newInstance(t, client, discard()), newInstance(t, client, discard())
	a.Join("s")
	b.Send("s", []byte("before"))
	if got := a.next(t); got.frame != "before" {
		t.Fatalf("a got %+v", got)
	}
	_, promoted := c.KillPrimary(t, c.KeySlot(t, "zivro:to:s"))
	eventually.True(t, 3*wait, func() (bool, string) {
		on := subscribedOn(t, c)
		return slices.Contains(on[promoted.Addr()], "zivro:to:s"), fmt.Sprintf("subscribed: %v", on)
	})
	b.Send("s", []byte("after"))
	for {
		if got := a.next(t); got.frame == "after" {
			return
		}
	}
}

// Frames to a socket subscribed nowhere wait for it, at most
// MaxWaitingFrames of them: a socket that subscribes within the wait gets
// those, in order, and nothing past the bound; frames that waited longer
// than WaitFor are dropped, and the frames after them are published at
// once.
func TestClusterRelayFramesWaitForASubscriberWithinBounds(t *testing.T) {
	c := redisproc.StartCluster(t, redisproc.ClusterOptions{})
	client := newClusterClient(t, c)
	a, b := newInstance(t, client, discard()), newInstance(t, client, discard())

	t.Run("a subscriber within the wait gets the frames up to the bound", func(t *testing.T) {
		for i := range redisrelay.MaxWaitingFrames + 10 {
			b.Send("late", fmt.Appendf(nil, "%d", i))
		}
		a.Join("late")
		for i := range redisrelay.MaxWaitingFrames {
			if got := a.next(t); got.frame != fmt.Sprint(i) {
				t.Fatalf("frame %d: got %+v", i, got)
			}
		}
		b.Send("late", []byte("end"))
		if got := a.next(t); got.frame != "end" {
			t.Fatalf("after the bound: got %+v, want end (the frames past the bound are dropped)", got)
		}
	})
	t.Run("frames that waited longer are dropped", func(t *testing.T) {
		var logs syncbuf.Buffer
		sender := newInstance(t, client, slog.New(slog.NewTextHandler(&logs, nil)))
		sender.Send("gone", []byte("lost"))
		eventually.True(t, redisrelay.WaitFor+wait, func() (bool, string) {
			return strings.Contains(logs.String(), "relay frames dropped"), "the frame to a socket subscribed nowhere dropped: " + logs.String()
		})
		a.Join("gone")
		sender.Send("gone", []byte("later"))
		if got := a.next(t); got.frame != "later" {
			t.Fatalf("got %+v, want later (the frame that waited past WaitFor is dropped)", got)
		}
	})
}
