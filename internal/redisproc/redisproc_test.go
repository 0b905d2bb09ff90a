package redisproc

import (
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
