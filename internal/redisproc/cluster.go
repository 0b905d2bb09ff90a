package redisproc

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zivro/zivro/internal/needbin"
)

// clusterBusOffset: a cluster node also listens on its port + 10000, for
// the other nodes.
const clusterBusOffset = 10000

// nodeTimeout is the cluster's cluster-node-timeout: how long a primary
// may be silent before its replica takes over. Short, for the failover
// tests; loopback never drops a packet.
const nodeTimeout = 1000 * time.Millisecond

// ClusterOptions shape a cluster.
type ClusterOptions struct {
	// Primaries is the number of shards (3 when 0: the fewest Redis
	// Cluster accepts).
	Primaries int
	// Replicas gives each primary one replica, which takes over when it
	// dies.
	Replicas bool
}

// Cluster is a Redis Cluster of redis-server child processes on
// 127.0.0.1, the slots spread evenly over its primaries.
type Cluster struct {
	// Nodes are every node, primaries first (the i-th replica, when there
	// are replicas, replicates the i-th primary at the start).
	Nodes     []*Server
	primaries int
}

// StartCluster starts a cluster (redis-server and redis-cli from PATH),
// waits until every slot is served and every node agrees, and kills it
// when the test ends. Skipped under -short without redis-server.
func StartCluster(t testing.TB, o ClusterOptions) *Cluster {
	t.Helper()
	bin := needbin.Path(t, "redis-server", "apt-get install redis-server")
	cli := needbin.Path(t, "redis-cli", "apt-get install redis-tools")
	c, err := runCluster(bin, cli, t.TempDir(), o)
	if err != nil {
		t.Fatalf("redisproc: %v", err)
	}
	t.Cleanup(c.kill)
	return c
}

// RunCluster is StartCluster for programs (the benchmark); Close stops it.
func RunCluster(bin, cli string, o ClusterOptions) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "redisproc-cluster-")
	if err != nil {
		return nil, fmt.Errorf("redisproc: %w", err)
	}
	c, err := runCluster(bin, cli, dir, o)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("redisproc: %w", err)
	}
	return c, nil
}

// Close kills every node and removes their directories.
func (c *Cluster) Close() {
	c.kill()
	for _, n := range c.Nodes {
		_ = os.RemoveAll(filepath.Dir(n.dir))
	}
}

func (c *Cluster) kill() {
	for _, n := range c.Nodes {
		n.kill()
	}
}

func runCluster(bin, cli, dir string, o ClusterOptions) (*Cluster, error) {
	if o.Primaries == 0 {
		o.Primaries = 3
	}
	n := o.Primaries
	if o.Replicas {
		n *= 2
	}
	c := &Cluster{primaries: o.Primaries}
	for i := range n {
		d := filepath.Join(dir, "node"+strconv.Itoa(i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			c.kill()
			return nil, err
		}
		s, err := runWith(bin, d, []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(d, "nodes.conf"),
			"--cluster-node-timeout", strconv.Itoa(int(nodeTimeout.Milliseconds())),
			// A replica that lost its primary takes over whatever its
			// replication offset: the failover tests measure what it lost.
			"--cluster-replica-validity-factor", "0",
		}, true)
		if err != nil {
			c.kill()
			return nil, err
		}
		c.Nodes = append(c.Nodes, s)
	}
	args := []string{"--cluster", "create"}
	for _, s := range c.Nodes {
		args = append(args, s.Addr())
	}
	if o.Replicas {
		args = append(args, "--cluster-replicas", "1")
	}
	args = append(args, "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		c.kill()
		return nil, fmt.Errorf("redis-cli --cluster create: %w: %s", err, out)
	}
	if err := c.waitReady(ctx); err != nil {
		c.kill()
		return nil, err
	}
	return c, nil
}

// waitReady waits until every live node says cluster_state:ok and knows
// every other live node, and every replica has synchronised with its
// primary.
func (c *Cluster) waitReady(ctx context.Context) error {
	for {
		err := c.ready()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ready: %w", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *Cluster) ready() error {
	live := 0
	for _, s := range c.Nodes {
		if s.alive() {
			live++
		}
	}
	for _, s := range c.Nodes {
		if !s.alive() {
			continue
		}
		info, err := command(s.Addr(), "CLUSTER", "INFO")
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("%s: not ok", s.Addr())
		}
		nodes, err := command(s.Addr(), "CLUSTER", "NODES")
		if err != nil {
			return err
		}
		if known := strings.Count(nodes, "connected") - strings.Count(nodes, "disconnected"); known < live {
			return fmt.Errorf("%s knows %d nodes of %d", s.Addr(), known, live)
		}
		repl, err := command(s.Addr(), "INFO", "replication")
		if err != nil {
			return err
		}
		if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
			return fmt.Errorf("%s: replica not in sync", s.Addr())
		}
	}
	return nil
}

// URL is the first live node's address as a redis:// URL: a seed, as
// REDIS_URL names one in cluster mode.
func (c *Cluster) URL() string {
	for _, s := range c.Nodes {
		if s.alive() {
			return s.URL()
		}
	}
	return c.Nodes[0].URL()
}

// Addrs are the addresses of every node.
func (c *Cluster) Addrs() []string {
	var a []string
	for _, s := range c.Nodes {
		a = append(a, s.Addr())
	}
	return a
}

// Primaries are the nodes that serve slots now, by address.
func (c *Cluster) Primaries(t testing.TB) []*Server {
	t.Helper()
	var p []*Server
	for _, s := range c.Nodes {
		if !s.alive() {
			continue
		}
		repl, err := command(s.Addr(), "INFO", "replication")
		if err != nil {
			t.Fatalf("redisproc: %s: %v", s.Addr(), err)
		}
		if strings.Contains(repl, "role:master") {
			p = append(p, s)
		}
	}
	return p
}

// KillPrimary kills the primary that serves slot (SIGKILL: what it had not
// sent its replica is lost) and waits until its replica has taken over
// and the cluster serves every slot again; it returns the killed node
// and the promoted one. The cluster needs Replicas.
func (c *Cluster) KillPrimary(t testing.TB, slot int) (killed, promoted *Server) {
	t.Helper()
	owner := c.SlotOwner(t, slot)
	owner.kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.waitReady(ctx); err != nil {
		t.Fatalf("redisproc: after killing %s: %v", owner.Addr(), err)
	}
	return owner, c.SlotOwner(t, slot)
}

// SlotOwner is the live node that serves slot, as a live node sees it.
func (c *Cluster) SlotOwner(t testing.TB, slot int) *Server {
	t.Helper()
	for _, s := range c.Nodes {
		if !s.alive() {
			continue
		}
		owner, err := slotOwner(s.Addr(), slot)
		if err != nil {
			t.Fatalf("redisproc: %v", err)
		}
		for _, n := range c.Nodes {
			if n.Addr() == owner {
				return n
			}
		}
		t.Fatalf("redisproc: slot %d served by %s, not a node of the cluster", slot, owner)
	}
	t.Fatal("redisproc: no live node")
	return nil
}

// slotOwner asks addr which node serves slot (CLUSTER SLOTS, through
// redis-cli's plain output: start, end, then the primary's host and
// port, its id, then the replicas').
func slotOwner(addr string, slot int) (string, error) {
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command("redis-cli", "-h", host, "-p", port, "CLUSTER", "SLOTS").Output()
	if err != nil {
		return "", fmt.Errorf("CLUSTER SLOTS on %s: %w", addr, err)
	}
	lines := strings.Fields(string(out))
	// Each range: start end host port id [host port id]...; ranges are
	// told apart by two numbers followed by a host.
	for i := 0; i+3 < len(lines); i++ {
		start, err1 := strconv.Atoi(lines[i])
		end, err2 := strconv.Atoi(lines[i+1])
		if err1 != nil || err2 != nil || net.ParseIP(lines[i+2]) == nil {
			continue
		}
		if start <= slot && slot <= end {
			return net.JoinHostPort(lines[i+2], lines[i+3]), nil
		}
	}
	return "", fmt.Errorf("slot %d served by nobody, as %s sees it", slot, addr)
}

// alive reports whether the process runs.
func (s *Server) alive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// command runs one command through redis-cli and returns its output.
func command(addr string, args ...string) (string, error) {
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s on %s: %w: %s", strings.Join(args, " "), addr, err, out)
	}
	return string(out), nil
}

// busFree reports whether a cluster node on port could bind its bus port.
func busFree(port int) bool {
	if port+clusterBusOffset > 65535 {
		return false
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+clusterBusOffset)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// KeySlot is the slot of key (or sharded channel).
func (c *Cluster) KeySlot(t testing.TB, key string) int {
	t.Helper()
	out, err := command(c.Primaries(t)[0].Addr(), "CLUSTER", "KEYSLOT", key)
	if err != nil {
		t.Fatalf("redisproc: %v", err)
	}
	slot, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("redisproc: CLUSTER KEYSLOT %s: %q", key, out)
	}
	return slot
}

// MoveSlot moves slot, with its keys, to the primary to, as a resharding
// does (redis-cli --cluster reshard, one slot): IMPORTING on to, MIGRATING
// on its owner, MIGRATE of its keys, then NODE on every primary.
func (c *Cluster) MoveSlot(t testing.TB, slot int, to *Server) {
	t.Helper()
	from := c.SlotOwner(t, slot)
	if from == to {
		return
	}
	id := func(s *Server) string {
		out, err := command(s.Addr(), "CLUSTER", "MYID")
		if err != nil {
			t.Fatalf("redisproc: %v", err)
		}
		return strings.TrimSpace(out)
	}
	run := func(s *Server, args ...string) string {
		out, err := command(s.Addr(), args...)
		if err != nil || strings.HasPrefix(out, "ERR") {
			t.Fatalf("redisproc: %s on %s: %v %s", strings.Join(args, " "), s.Addr(), err, out)
		}
		return out
	}
	n := strconv.Itoa(slot)
	run(to, "CLUSTER", "SETSLOT", n, "IMPORTING", id(from))
	run(from, "CLUSTER", "SETSLOT", n, "MIGRATING", id(to))
	host, port, _ := net.SplitHostPort(to.Addr())
	for {
		keys := strings.Fields(run(from, "CLUSTER", "GETKEYSINSLOT", n, "100"))
		if len(keys) == 0 {
			break
		}
		run(from, append([]string{"MIGRATE", host, port, "", "0", "5000", "KEYS"}, keys...)...)
	}
	for _, s := range c.Primaries(t) {
		run(s, "CLUSTER", "SETSLOT", n, "NODE", id(to))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.waitReady(ctx); err != nil {
		t.Fatalf("redisproc: after moving slot %d: %v", slot, err)
	}
}
