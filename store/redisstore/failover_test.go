package redisstore_test

import (
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/redisstore"
)

// nextEvent is the next event Listen delivers, within 20 s.
func nextEvent(t *testing.T, events <-chan queue.Event) queue.Event {
	t.Helper()
	select {
	case e := <-events:
		return e
	case <-time.After(20 * time.Second):
		t.Fatal("no event")
		return queue.Event{}
	}
}

// A failover loses the stream entries the replica had not received, which
// the listener may have read already: when its connection breaks and the
// entry it read last is gone, it says so (EventGap, at the newest entry
// still there) and reads on from there, so that it gets what the new
// primary adds. Here the loss is made by deleting the entries.
func TestListenNoticesLostEntries(t *testing.T) {
	_, client := newClient(t)
	s := redisstore.New(client, queue.StoreOptions{})
	events, ready := listen(t, s)
	awaitReady(t, ready)
	ctx := t.Context()
	join := func(ids ...string) {
		for _, id := range ids {
			if err := s.Join(ctx, id, queue.Profile{Name: id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	join("a", "b")
	nextEvent(t, events)
	kept := nextEvent(t, events)
	join("c", "d")
	lost := []string{nextEvent(t, events).ID, nextEvent(t, events).ID}
	if err := client.XDel(ctx, redisstore.SingleKeys().Events, lost...).Err(); err != nil {
		t.Fatal(err)
	}
	// What a dead primary does to the listener's connection.
	if err := client.ClientKillByFilter(ctx, "TYPE", "normal").Err(); err != nil {
		t.Fatal(err)
	}
	if e := nextEvent(t, events); e.Kind != queue.EventGap || e.ID != kept.ID {
		t.Fatalf("after the loss: %+v, want EventGap at %s, the newest entry kept", e, kept.ID)
	}
	join("e", "f")
	awaitMatched(t, events, "e", "f")
}

// Beat reports Switched once when another server process answers for the
// store (here a restart; in production a promoted replica).
func TestBeatNoticesAnotherServer(t *testing.T) {
	srv, client := newClient(t)
	s := redisstore.New(client, queue.StoreOptions{})
	beat := func() queue.Presence {
		t.Helper()
		var p queue.Presence
		var err error
		for range 50 { // the pool's connections to the old process fail first
			if p, err = s.Beat(t.Context(), "i", time.Minute); err == nil {
				return p
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("Beat: %v", err)
		return p
	}
	if p := beat(); p.Switched {
		t.Fatalf("first Beat = %+v, want no switch", p)
	}
	if p := beat(); p.Switched {
		t.Fatalf("second Beat on the same server = %+v, want no switch", p)
	}
	srv.Restart(t)
	if p := beat(); !p.Switched {
		t.Fatalf("Beat after a restart = %+v, want Switched", p)
	}
	if p := beat(); p.Switched {
		t.Fatalf("Beat after that = %+v, want no switch", p)
	}
}
