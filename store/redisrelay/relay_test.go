package redisrelay_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
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

// wait bounds how long a test waits for something that must happen.
const wait = 5 * time.Second

type delivery struct{ to, frame string }

// instance is one server's relay, with what it delivered.
type instance struct {
	*redisrelay.Relay
	got chan delivery
}

// newInstance starts a relay on client until the test ends.
func newInstance(t *testing.T, client redis.UniversalClient, log *slog.Logger) instance {
	t.Helper()
	in := instance{Relay: redisrelay.New(client, log), got: make(chan delivery, 1024)}
	in.Start(t.Context(), func(to string, frame []byte) { in.got <- delivery{to, string(frame)} })
	return in
}

// next is the next delivery, within wait.
func (in instance) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-in.got:
		return d
	case <-time.After(wait):
		t.Fatal("nothing delivered")
		return delivery{}
	}
}

func newClient(t *testing.T) *redis.Client {
	t.Helper()
	srv := redisproc.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// shardChannels lists the sharded channels subscribed to on the server.
func shardChannels(t *testing.T, client *redis.Client) []string {
	t.Helper()
	chans, err := client.PubSubShardChannels(t.Context(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(chans)
	return chans
}

// waitShardChannels waits until the subscribed channels are want.
func waitShardChannels(t *testing.T, client *redis.Client, want ...string) {
	t.Helper()
	eventually.True(t, wait, func() (bool, string) {
		got := shardChannels(t, client)
		return slices.Equal(got, want), fmt.Sprintf("shard channels %q, want %q", got, want)
	})
}

// A frame sent to a socket reaches the instance that joined it, as the
// bytes sent, and no other; the channel is zivro:to:<id>, which the
// instances of a deployment (and of a rolling upgrade) share.
func TestRelayDeliversToTheInstanceThatHoldsTheSocket(t *testing.T) {
	client := newClient(t)
	a, b := newInstance(t, client, discard()), newInstance(t, client, discard())
	a.Join("sa")
	b.Join("sb")
	// Join returns once subscribed.
	if got, want := shardChannels(t, client), []string{"zivro:to:sa", "zivro:to:sb"}; !slices.Equal(got, want) {
		t.Fatalf("shard channels %q, want %q", got, want)
	}

	b.Send("sa", []byte(`2["signal",{"from":"sb"}]`))
	if got, want := a.next(t), (delivery{"sa", `2["signal",{"from":"sb"}]`}); got != want {
		t.Fatalf("a got %+v, want %+v", got, want)
	}
	// b's first delivery is its own socket's frame: the one to sa did not
	// reach it.
	a.Send("sb", []byte(`2["partner-left"]`))
	if got, want := b.next(t), (delivery{"sb", `2["partner-left"]`}); got != want {
		t.Fatalf("b got %+v, want %+v", got, want)
	}

	// Another process publishing to the channel by its name reaches the
	// socket, and the relay publishes to that name.
	if err := client.SPublish(t.Context(), "zivro:to:sa", "from outside").Err(); err != nil {
		t.Fatal(err)
	}
	if got, want := a.next(t), (delivery{"sa", "from outside"}); got != want {
		t.Fatalf("a got %+v, want %+v", got, want)
	}
	outside := client.SSubscribe(t.Context(), "zivro:to:elsewhere")
	defer outside.Close()
	if _, err := outside.Receive(t.Context()); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	a.Send("elsewhere", []byte("to outside"))
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	msg, err := outside.ReceiveMessage(ctx)
	if err != nil || msg.Channel != "zivro:to:elsewhere" || msg.Payload != "to outside" {
		t.Fatalf("outside got %+v, %v", msg, err)
	}
}

// Frames published to one socket in quick succession all arrive, in order
// (the library's adapters lost the last of a burst).
func TestRelayKeepsABurstInOrder(t *testing.T) {
	client := newClient(t)
	a, b := newInstance(t, client, discard()), newInstance(t, client, discard())
	a.Join("s")
	const n = 500
	go func() {
		for i := range n {
			b.Send("s", fmt.Appendf(nil, "frame %d", i))
		}
	}()
	for i := range n {
		if got, want := a.next(t), (delivery{"s", fmt.Sprintf("frame %d", i)}); got != want {
			t.Fatalf("delivery %d: %+v, want %+v", i, got, want)
		}
	}
}

// A socket that left gets nothing more, and its channel is unsubscribed.
func TestRelayLeave(t *testing.T) {
	client := newClient(t)
	a, b := newInstance(t, client, discard()), newInstance(t, client, discard())
	a.Join("gone")
	a.Join("here")
	a.Leave("gone")
	if got, want := shardChannels(t, client), []string{"zivro:to:here"}; !slices.Equal(got, want) {
		t.Fatalf("shard channels %q, want %q", got, want)
	}
	b.Send("gone", []byte("lost"))
	b.Send("here", []byte("kept"))
	if got, want := a.next(t), (delivery{"here", "kept"}); got != want {
		t.Fatalf("a got %+v, want %+v: a frame reached a socket that left", got, want)
	}
}

// Start's context ends the subscription: the instance stops holding its
// sockets' channels.
func TestRelayStopsWithItsContext(t *testing.T) {
	client := newClient(t)
	r := redisrelay.New(client, discard())
	ctx, cancel := context.WithCancel(t.Context())
	r.Start(ctx, func(string, []byte) {})
	r.Join("s")
	waitShardChannels(t, client, "zivro:to:s")
	cancel()
	waitShardChannels(t, client)
}

// Without Redis, a send is a logged failure, one line for a run of them,
// and the caller goes on.
func TestRelayWithoutRedisLogsOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = client.Close() })
	var logs syncbuf.Buffer
	r := redisrelay.New(client, slog.New(slog.NewTextHandler(&logs, nil)))
	for range 3 {
		r.Send("s", []byte("x"))
	}
	if got := strings.Count(logs.String(), "relay publish failed"); got != 1 {
		t.Fatalf("%d log lines for 3 failed sends, want 1:\n%s", got, logs.String())
	}
}

// With KeepHeld, a frame to a held socket is kept for its resume, not
// published; a frame to any other socket is published as before.
func TestRelayKeepsForHeldSockets(t *testing.T) {
	client := newClient(t)
	store := redisstore.New(client, queue.StoreOptions{})
	a := newInstance(t, client, discard())
	b := instance{Relay: redisrelay.New(client, discard()).KeepHeld(store), got: make(chan delivery, 16)}
	b.Start(t.Context(), func(to string, frame []byte) { b.got <- delivery{to, string(frame)} })
	a.Join("held")
	a.Join("here")
	if err := store.Hold(t.Context(), "held", queue.HeldSession{PIDHash: "pid", Next: 3}, time.Minute); err != nil {
		t.Fatal(err)
	}
	b.Send("held", []byte("kept 3"))
	b.Send("here", []byte("published"))
	b.Send("held", []byte("kept 4"))
	b.Send("here", []byte("published too"))
	for _, want := range []delivery{{"here", "published"}, {"here", "published too"}} {
		if got := a.next(t); got != want {
			t.Fatalf("a got %+v, want %+v: a frame to the held socket was published", got, want)
		}
	}
	r, err := store.Resume(t.Context(), "held", "pid", 2, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []queue.KeptFrame{{Offset: 3, Frame: []byte("kept 3")}, {Offset: 4, Frame: []byte("kept 4")}}
	if !slices.EqualFunc(r.Frames, want, func(x, y queue.KeptFrame) bool { return x.Offset == y.Offset && bytes.Equal(x.Frame, y.Frame) }) || r.Next != 5 {
		t.Fatalf("resumed frames %+v, next %d; want %+v, next 5", r.Frames, r.Next, want)
	}
	// Resumed: published again.
	b.Send("held", []byte("after the resume"))
	if got, want := a.next(t), (delivery{"held", "after the resume"}); got != want {
		t.Fatalf("a got %+v, want %+v", got, want)
	}
}
