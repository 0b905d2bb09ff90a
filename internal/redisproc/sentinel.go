package redisproc

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/needbin"
)

// SentinelMaster is the name the sentinels of a SentinelGroup know the
// primary by (REDIS_MASTER_NAME).
const SentinelMaster = "zivro"

// Timings of a SentinelGroup: short, so that a test's failover is over in a
// few seconds (production sentinels wait 30 s before calling a primary down).
const (
	// sentinelDownAfter: a primary silent this long is subjectively down.
	sentinelDownAfter = 1000 * time.Millisecond
	// sentinelFailoverTimeout bounds one failover attempt; the next one
	// waits twice as long.
	sentinelFailoverTimeout = 5000 * time.Millisecond
	// promoteTimeout bounds WaitPromoted.
	promoteTimeout = 30 * time.Second
)

// SentinelGroup is a primary, one replica and three sentinels (quorum 2),
// all on loopback: what a Sentinel deployment runs, small.
type SentinelGroup struct {
	// Sentinels are the sentinels' addresses (host:port).
	Sentinels []string
	// servers are the primary and the replica, in the order they started;
	// which one is primary changes with a failover.
	servers   []*Server
	sentinels []*Server
	// stopped are replicas DetachReplica stopped, for KillPrimary and the
	// cleanup to resume.
	stopped []*Server
}

// StartSentinel runs a primary, a replica of it and three sentinels
// watching it, on free ports, waits until the replica is in sync and every
// sentinel knows the replica and the other sentinels (a failover needs
// both), and stops them all when the test ends. Without redis-server or
// redis-sentinel the test is skipped under -short and fails otherwise.
func StartSentinel(t testing.TB) *SentinelGroup {
	t.Helper()
	bin := needbin.Path(t, "redis-server", "apt-get install redis-server")
	sbin := needbin.Path(t, "redis-sentinel", "apt-get install redis-sentinel")
	g := &SentinelGroup{}
	t.Cleanup(g.close)

	// Diskless replication: nothing is saved, and the first sync is at once.
	primary, err := runWith(bin, t.TempDir(), []string{"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"}, false)
	if err != nil {
		t.Fatalf("redisproc: primary: %v", err)
	}
	g.servers = append(g.servers, primary)
	host, port, _ := net.SplitHostPort(primary.Addr())
	replica, err := runWith(bin, t.TempDir(), []string{"--replicaof", host, port,
		"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"}, false)
	if err != nil {
		t.Fatalf("redisproc: replica: %v", err)
	}
	g.servers = append(g.servers, replica)

	for i := range 3 {
		dir := t.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		body := fmt.Sprintf("sentinel monitor %[1]s %[2]s %[3]s 2\n"+
			"sentinel down-after-milliseconds %[1]s %[4]d\n"+
			"sentinel failover-timeout %[1]s %[5]d\n"+
			"sentinel parallel-syncs %[1]s 1\n",
			SentinelMaster, host, port, sentinelDownAfter.Milliseconds(), sentinelFailoverTimeout.Milliseconds())
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatalf("redisproc: sentinel %d: %v", i, err)
		}
		s := &Server{bin: sbin, dir: dir, conf: conf}
		if err := s.startOnFreePort(); err != nil {
			t.Fatalf("redisproc: sentinel %d: %v", i, err)
		}
		g.sentinels = append(g.sentinels, s)
		g.Sentinels = append(g.Sentinels, s.Addr())
	}

	ctx, cancel := context.WithTimeout(context.Background(), promoteTimeout)
	defer cancel()
	if err := g.waitReady(ctx, replica.Addr()); err != nil {
		t.Fatalf("redisproc: sentinel group not ready: %v", err)
	}
	return g
}

// startOnFreePort is run's retry over free ports, for a Server already
// configured.
func (s *Server) startOnFreePort() error {
	var err error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			continue
		}
		if err = s.start(); err == nil {
			return nil
		}
	}
	return err
}

// waitReady waits until the replica is in sync with the primary and each
// sentinel sees one replica and two other sentinels.
func (g *SentinelGroup) waitReady(ctx context.Context, replica string) error {
	r := redis.NewClient(&redis.Options{Addr: replica})
	defer r.Close()
	for {
		info, err := r.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") && g.sentinelsKnowEachOther(ctx) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replica in sync and sentinels acquainted: %w (last: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (g *SentinelGroup) sentinelsKnowEachOther(ctx context.Context) bool {
	for _, addr := range g.Sentinels {
		s := redis.NewSentinelClient(&redis.Options{Addr: addr})
		replicas, err1 := s.Replicas(ctx, SentinelMaster).Result()
		others, err2 := s.Sentinels(ctx, SentinelMaster).Result()
		_ = s.Close()
		if err1 != nil || err2 != nil || len(replicas) != 1 || len(others) != 2 {
			return false
		}
	}
	return true
}

// DataNodes are the addresses of the primary and the replica, in the
// order they started (which one is primary changes with a failover).
func (g *SentinelGroup) DataNodes() []string {
	var a []string
	for _, s := range g.servers {
		a = append(a, s.Addr())
	}
	return a
}

// Primary is the address of the current primary, as the sentinels'
// majority reports it.
func (g *SentinelGroup) Primary(ctx context.Context) (string, error) {
	votes := map[string]int{}
	var lastErr error
	for _, addr := range g.Sentinels {
		s := redis.NewSentinelClient(&redis.Options{Addr: addr})
		hp, err := s.GetMasterAddrByName(ctx, SentinelMaster).Result()
		_ = s.Close()
		if err != nil {
			lastErr = err
			continue
		}
		if len(hp) == 2 {
			votes[net.JoinHostPort(hp[0], hp[1])]++
		}
	}
	for addr, n := range votes {
		if n >= 2 {
			return addr, nil
		}
	}
	return "", fmt.Errorf("no primary named by two sentinels (%v, last error: %v)", votes, lastErr)
}

// KillPrimary SIGKILLs the current primary (no goodbye, nothing flushed:
// what the replica has not received yet is lost) and returns its address.
func (g *SentinelGroup) KillPrimary(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addr, err := g.Primary(ctx)
	if err != nil {
		t.Fatalf("redisproc: kill primary: %v", err)
	}
	for _, s := range g.servers {
		if s.Addr() == addr {
			s.kill()
			g.resumeStopped()
			return addr
		}
	}
	t.Fatalf("redisproc: kill primary: %s is none of the group's servers", addr)
	return ""
}

// DetachReplica makes sure that the replica receives nothing more from the
// primary until KillPrimary: it is stopped (SIGSTOP: it can neither read
// nor reconnect) and the primary closes its link, so that what the
// primary writes from now on is lost in the failover, as the last writes
// before a crash are when replication lags. KillPrimary resumes it
// (SIGCONT) right after the kill, in time for the sentinels to promote it.
func (g *SentinelGroup) DetachReplica(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addr, err := g.Primary(ctx)
	if err != nil {
		t.Fatalf("redisproc: detach replica: %v", err)
	}
	for _, s := range g.servers {
		if s.Addr() != addr {
			if err := s.freeze(); err != nil {
				t.Fatalf("redisproc: detach replica: %v", err)
			}
			g.stopped = append(g.stopped, s)
		}
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	if err := c.ClientKillByFilter(ctx, "TYPE", "replica").Err(); err != nil {
		t.Fatalf("redisproc: detach replica: close its link: %v", err)
	}
}

func (g *SentinelGroup) resumeStopped() {
	for _, s := range g.stopped {
		_ = s.thaw()
	}
	g.stopped = nil
}

// WaitPromoted waits until two sentinels name a primary other than old
// and that server answers as a primary (ROLE master), and returns its
// address.
func (g *SentinelGroup) WaitPromoted(t testing.TB, old string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), promoteTimeout)
	defer cancel()
	for {
		addr, err := g.Primary(ctx)
		if err == nil && addr != old && isPrimary(ctx, addr) {
			return addr
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redisproc: no replica promoted within %v (primary %q, %v)", promoteTimeout, addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func isPrimary(ctx context.Context, addr string) bool {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	role, err := c.Do(ctx, "ROLE").Slice()
	return err == nil && len(role) > 0 && role[0] == "master"
}

// Client is a go-redis client that follows the group's primary through
// its sentinels.
func (g *SentinelGroup) Client() *redis.Client {
	return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: SentinelMaster, SentinelAddrs: g.Sentinels})
}

// URL is the address of the first sentinel as a redis:// URL (REDIS_URL
// in sentinel mode names a sentinel).
func (g *SentinelGroup) URL() string { return "redis://" + g.Sentinels[0] }

func (g *SentinelGroup) close() {
	// Sentinels first: a sentinel that outlives the servers may try a
	// failover meanwhile.
	for _, s := range g.sentinels {
		s.kill()
	}
	g.resumeStopped()
	for _, s := range g.servers {
		s.kill()
	}
}
