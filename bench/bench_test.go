package bench

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/needbin"
)

// serverBin builds the server (the module root's main package) into a temp
// dir, or uses $ZIVRO_SERVER_BIN when set.
func serverBin(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("ZIVRO_SERVER_BIN"); bin != "" {
		return bin
	}
	return buildBin(t, "github.com/zivro/zivro")
}

// buildBin builds the command pkg into the test's temporary directory.
func buildBin(t *testing.T, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// startTarget runs a fresh server for the test: on the embedded store, or on
// rd when it is given.
func startTarget(t *testing.T, bin string, rd *Redis, env ...string) Target {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Pprof: the idle scenario's memory check reads RSS after a forced
	// collection; without one, a heap that has not yet reached its GC
	// target looks like a leak.
	opts := ServerOptions{Bin: bin, NodeEnv: "test", Pprof: true, Env: env}
	tg := Target{Store: "memory"}
	if rd != nil {
		opts.RedisURL, tg.Store, tg.Redis = rd.URL, "redis", rd
	}
	s, err := StartServer(ctx, opts)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("server log tail:\n%s", lastLines(s.Log(), 40))
		}
	})
	tg.URL, tg.Server = s.URL, s
	return tg
}

func requireOK(t *testing.T, r Result) {
	t.Helper()
	t.Logf("%s/%s N=%d: %.1f %s, p50 %.2f ms, p99 %.2f ms, extra %v", r.Scenario, r.Store, r.N, r.Throughput, r.Unit, r.Latency.P50, r.Latency.P99, r.Extra)
	for _, f := range r.Failed() {
		t.Error(f)
	}
	if len(r.Checks) == 0 && r.Error == "" {
		t.Error("no checks ran")
	}
}

func TestScenarios(t *testing.T) {
	bin := serverBin(t)
	if err := RaiseFileLimit(); err != nil {
		t.Logf("raise file limit: %v", err)
	}
	tests := []struct {
		name string
		run  func(context.Context, Target) Result
	}{
		{name: "match", run: func(ctx context.Context, tg Target) Result { return RunMatch(ctx, tg, 20) }},
		{name: "relay", run: func(ctx context.Context, tg Target) Result {
			return RunRelay(ctx, tg, RelayOptions{Pairs: 5, Duration: 500 * time.Millisecond})
		}},
		{name: "churn", run: func(ctx context.Context, tg Target) Result {
			return RunChurn(ctx, tg, ChurnOptions{Pairs: 3, Duration: 500 * time.Millisecond})
		}},
		{name: "churn-chaos", run: func(ctx context.Context, tg Target) Result {
			return RunChurn(ctx, tg, ChurnOptions{Pairs: 3, Duration: 500 * time.Millisecond, Chaos: true})
		}},
		{name: "idle", run: func(ctx context.Context, tg Target) Result {
			return RunIdle(ctx, tg, IdleOptions{N: 50, Settle: 200 * time.Millisecond})
		}},
		{name: "idle-polling", run: func(ctx context.Context, tg Target) Result {
			return RunIdle(ctx, tg, IdleOptions{N: 20, Settle: 200 * time.Millisecond, Polling: true})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := startTarget(t, bin, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			requireOK(t, tc.run(ctx, tg))
		})
	}
}

// startRedis runs a private redis-server until the test ends.
func startRedis(t *testing.T) *Redis {
	t.Helper()
	rbin := needbin.Path(t, "redis-server", "apt-get install redis-server")
	rd, err := StartRedis(rbin)
	if err != nil {
		t.Fatalf("start redis: %v", err)
	}
	t.Cleanup(rd.Stop)
	return rd
}

// redisScenario is what a Redis scenario's test needs, unless -short: a
// private redis-server, the server binary, and a minute.
func redisScenario(t *testing.T) (context.Context, *Redis, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("short")
	}
	rd := startRedis(t)
	bin := serverBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx, rd, bin
}

// TestCostRedis runs the cost scenario on a private redis-server.
func TestCostRedis(t *testing.T) {
	ctx, rd, bin := redisScenario(t)
	rs := RunCost(ctx, startTarget(t, bin, rd), CostOptions{Pairs: 5, Messages: 10})
	if len(rs) < 6 {
		t.Errorf("%d cost phases, want 6", len(rs))
	}
	for _, r := range rs {
		requireOK(t, r)
	}
	if len(rs) > 1 && rs[1].Throughput <= 0 {
		t.Errorf("join cost %.2f commands: the server issued no Redis command for a join", rs[1].Throughput)
	}
}

// TestAbuse plays every attack, small, each against a fresh server with
// the limits of real users and the memory limit, as make bench does: each
// must leave it healthy and under the growth limit; empty-sid (300
// websockets and 25 polling sessions) must hold at most MAX_CONNS_PER_IP,
// and phantom-loop (300 sessions) leave no socket, no user online and no
// descriptor behind (RunAbuse's checks).
func TestAbuse(t *testing.T) {
	bin := serverBin(t)
	for _, a := range Attacks {
		t.Run(a, func(t *testing.T) {
			tg := startTarget(t, bin, nil, AbuseEnv(a)...)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			requireOK(t, RunAbuse(ctx, tg, a, AbuseOptions{Scale: 0.05, Tail: 100 * time.Millisecond}))
		})
	}
}

// TestInstancesRedis runs the instances scenario small, on two instances:
// relays across them arrive (the relay checks), and each relayed message
// costs at most one sharded publish and no broadcast.
func TestInstancesRedis(t *testing.T) {
	ctx, rd, bin := redisScenario(t)
	r := RunInstances(ctx, Target{Store: "redis", Redis: rd}, ServerOptions{Bin: bin, NodeEnv: "test", RedisURL: rd.URL}, 2, RelayOptions{Pairs: 6, Duration: 500 * time.Millisecond})
	requireOK(t, r)
	if r.Extra["pairs_across_instances"] == 0 {
		t.Fatal("no pair across the two instances: the scenario measured nothing")
	}
	if p := r.Extra["spublish_per_relayed"]; p <= 0 || p > 1 {
		t.Errorf("%.2f SPUBLISH per relayed message, want (0, 1]", p)
	}
	if p := r.Extra["publish_per_relayed"]; p != 0 {
		t.Errorf("%.2f PUBLISH per relayed message, want none", p)
	}
}

// TestRolloverRedis runs the rollover scenario small: every resumable
// call survives the rolling deploy (the scenario's checks), and the
// figures it reports are there.
func TestRolloverRedis(t *testing.T) {
	ctx, rd, bin := redisScenario(t)
	r := RunRollover(ctx, Target{Store: "redis", Redis: rd}, ServerOptions{Bin: bin, NodeEnv: "test", RedisURL: rd.URL}, RolloverOptions{Pairs: 5})
	requireOK(t, r)
	if r.Latency.Count != 10 {
		t.Errorf("%d resumes timed, want 10", r.Latency.Count)
	}
	if r.Extra["handed_over"] != 10 {
		t.Errorf("instance 1 handed over %.0f sessions, want 10", r.Extra["handed_over"])
	}
	if _, ok := r.Extra["calls_dropped"]; !ok {
		t.Error("no calls_dropped figure")
	}
}

// TestRedisStats: the figures the cost and instances scenarios read count
// what another client sent, exactly, and the bench's own reads add nothing
// but INFO (which the scenarios leave out) to them; FLUSHALL empties.
func TestRedisStats(t *testing.T) {
	rd := startRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	other := redis.NewClient(&redis.Options{Addr: rd.Addr})
	defer other.Close()
	// Its connection's handshake happens here, outside the window.
	if err := other.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping: %v", err)
	}
	before, err := rd.CommandStats(ctx)
	if err != nil {
		t.Fatalf("commandstats: %v", err)
	}
	netBefore, err := rd.Info(ctx, "stats", "total_net_output_bytes")
	if err != nil {
		t.Fatalf("info stats: %v", err)
	}
	const sets = 7
	for i := range sets {
		if err := other.Set(ctx, fmt.Sprintf("k%d", i), "v", 0).Err(); err != nil {
			t.Fatalf("set: %v", err)
		}
	}
	if err := other.ConfigGet(ctx, "maxmemory").Err(); err != nil {
		t.Fatalf("config get: %v", err)
	}
	after, err := rd.CommandStats(ctx)
	if err != nil {
		t.Fatalf("commandstats: %v", err)
	}
	netAfter, err := rd.Info(ctx, "stats", "total_net_output_bytes")
	if err != nil {
		t.Fatalf("info stats: %v", err)
	}
	got := map[string]int64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 && k != "info" {
			got[k] = d
		}
	}
	want := map[string]int64{"set": sets, "config|get": 1}
	if !maps.Equal(got, want) {
		t.Errorf("commands between the reads %v, want %v", got, want)
	}
	if d := after["info"] - before["info"]; d != 2 {
		t.Errorf("%d INFO between the reads, want 2 (the bench's own)", d)
	}
	// Seven "+OK\r\n" at least, and the INFO reply read in between.
	if d := netAfter - netBefore; d < sets*5 {
		t.Errorf("total_net_output_bytes grew by %d, want at least %d", d, sets*5)
	}
	if mem, err := rd.Info(ctx, "memory", "used_memory"); err != nil || mem <= 0 {
		t.Errorf("used_memory %d, %v", mem, err)
	}
	if _, err := rd.Info(ctx, "stats", "no_such_field"); err == nil {
		t.Error("INFO stats no_such_field: no error")
	}
	if err := rd.FlushAll(ctx); err != nil {
		t.Fatalf("flushall: %v", err)
	}
	if n, err := other.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Errorf("after FLUSHALL: %d keys, %v", n, err)
	}
}
