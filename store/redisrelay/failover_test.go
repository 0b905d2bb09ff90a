package redisrelay_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/eventually"
	"github.com/zivro/zivro/internal/redisproc"
)

// After a Sentinel failover, a socket's subscription is made again on the
// promoted replica (go-redis resubscribes the PubSub when its connection
// is replaced), and frames published through the new primary reach it.
func TestRelayFollowsSentinelFailover(t *testing.T) {
	g := redisproc.StartSentinel(t)
	client := func() *redis.Client {
		c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: redisproc.SentinelMaster, SentinelAddrs: g.Sentinels, DialTimeout: 200 * time.Millisecond})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	a := newInstance(t, client(), discard())
	b := newInstance(t, client(), discard())
	a.Join("s1")
	b.Send("s1", []byte("before"))
	if d := a.next(t); d.frame != "before" {
		t.Fatalf("delivered %+v, want the frame sent before the failover", d)
	}

	g.WaitPromoted(t, g.KillPrimary(t))
	// Frames sent before the subscription is back are lost, as a frame to
	// a socket connected nowhere is: send until one arrives.
	n := 0
	eventually.True(t, 30*time.Second, func() (bool, string) {
		select {
		case d := <-a.got:
			return d.to == "s1", fmt.Sprintf("delivered %+v", d)
		default:
		}
		n++
		b.Send("s1", fmt.Appendf(nil, "after %d", n))
		return false, fmt.Sprintf("none of %d frames sent after the failover arrived", n)
	})
}
