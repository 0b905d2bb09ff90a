package queue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/redisproc"
	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/redisstore"
)

// A ban made through one instance drops the address's users on another
// instance (the store's event stream carries it), and refuses their joins
// with a *BannedError until it is lifted; other addresses are left alone.
func TestBanDropsUsersOnEveryInstance(t *testing.T) {
	srv := redisproc.Start(t)
	newStore := func() queue.Store {
		client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
		t.Cleanup(func() { _ = client.Close() })
		return redisstore.New(client, queue.StoreOptions{})
	}
	stA := newStore()
	// Instance B serves the users; instance A only bans.
	_ = serve(t, stA, queue.Config{})
	b := serve(t, newStore(), queue.Config{})
	b.mustJoinAt(t, "bad", "x")
	b.mustJoinAt(t, "good", "y")
	waitPairs(t, b.rec, []string{"bad", "good"}, 1)

	const addr = "x" // joinAt's address is the key as it is
	if err := stA.Ban(context.Background(), queue.Ban{Addr: addr, By: "mod", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	b.rec.waitUntil(t, "bad dropped on instance B", func() bool {
		for _, a := range b.rec.of("bad") {
			if a.banned {
				return true
			}
		}
		return false
	})
	for _, a := range b.rec.of("good") {
		if a.banned {
			t.Fatal("a user of another address was dropped")
		}
	}
	// The drop is a disconnect: the handler's Closed calls it.
	if err := b.svc.Disconnect(context.Background(), "bad"); err != nil {
		t.Fatal(err)
	}
	b.rec.waitUntil(t, "good told its partner left", func() bool { _, ok := b.rec.lastMatch("good"); return !ok })

	err := b.joinAt(t, "bad-again", "x")
	var banned *queue.BannedError
	if !errors.As(err, &banned) || !errors.Is(err, queue.ErrBanned) {
		t.Fatalf("join of a banned address = %v, want a BannedError", err)
	}
	if lifted, err := stA.Lift(context.Background(), addr); err != nil || !lifted {
		t.Fatalf("Lift = %v, %v", lifted, err)
	}
	b.mustJoinAt(t, "bad-again", "x")
}
