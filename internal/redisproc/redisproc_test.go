package redisproc

import (
	"context"
	"strings"
	"testing"
)

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("ping after Start: %v", err)
	}
	if !strings.HasPrefix(s.URL(), "redis://127.0.0.1:") {
		t.Errorf("URL() = %q", s.URL())
	}
	s.Stop(t)
	if err := ping(s.Addr()); err == nil {
		t.Fatal("ping after Stop succeeded")
	}
	s.Restart(t)
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("ping after Restart: %v", err)
	}
	s.Restart(t) // also while running
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("ping after second Restart: %v", err)
	}
}

// A primary's replica is promoted by the sentinels when the primary is
// killed, and the client follows it.
func TestSentinelFailover(t *testing.T) {
	g := StartSentinel(t)
	c := g.Client()
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set through the sentinels: %v", err)
	}
	old := g.KillPrimary(t)
	promoted := g.WaitPromoted(t, old)
	if promoted == old {
		t.Fatalf("promoted %s, the killed primary", promoted)
	}
	if err := c.Set(ctx, "k2", "v", 0).Err(); err != nil {
		t.Fatalf("set after the failover: %v", err)
	}
}

// A cluster serves every slot, its nodes listen on port and bus port, and
// a killed primary's replica takes over its slots.
func TestClusterFailover(t *testing.T) {
	c := StartCluster(t, ClusterOptions{Replicas: true})
	if got := len(c.Primaries(t)); got != 3 {
		t.Fatalf("%d primaries, want 3", got)
	}
	killed, promoted := c.KillPrimary(t, 0)
	if killed == promoted {
		t.Fatalf("slot 0 still served by the killed %s", killed.Addr())
	}
	if got := len(c.Primaries(t)); got != 3 {
		t.Fatalf("%d primaries after the failover, want 3", got)
	}
}
