package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is a whole benchmark run: which stores, which scenarios, how big.
type Config struct {
	ServerBin string   // the built server binary
	RedisBin  string   // redis-server, for the redis store
	Stores    []string // "memory", "redis"
	Scenarios []string // "match", "relay", "churn", "idle", "cost", "abuse", "instances", "instances-cluster", "rollover"
	NodeEnv   string
	Origin    string // when set: sent as Origin and given as CLIENT_URL

	MatchN        []int
	RelayPairs    int
	RelayDuration time.Duration
	ChurnPairs    []int
	ChurnDuration time.Duration
	ChaosPairs    int // 0: no chaos run
	ChaosGap      time.Duration
	IdleN         []int
	IdleSettle    time.Duration
	IdleHold      time.Duration
	CostPairs     int
	CostMessages  int
	InstancesN    []int    // instances: how many server instances, one run each
	RolloverPairs int      // rollover: resumable pairs through the rolling deploy
	Attacks       []string // abuse: which attacks (empty: all of Attacks)

	Progress io.Writer // one line per scenario; nil for none
}

func (c *Config) wants(s string) bool { return slices.Contains(c.Scenarios, s) }

func (c *Config) logf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}

// Run runs every configured scenario on every configured store, each store
// on a fresh server (and, for redis, a private redis-server), and returns
// the report. Idle runs get a fresh server of their own each, so that
// memory left over from the load scenarios does not hide their growth.
// ctx bounds the whole run: a scenario cut short reports its error.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	rep := &Report{Started: time.Now().UTC(), Server: cfg.ServerBin, GoMaxPro: runtime.GOMAXPROCS(0)}
	for _, store := range cfg.Stores {
		if err := runStore(ctx, cfg, store, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func runStore(ctx context.Context, cfg Config, store string, rep *Report) error {
	opt := ServerOptions{Bin: cfg.ServerBin, NodeEnv: cfg.NodeEnv, Origin: cfg.Origin}
	var rd *Redis
	switch store {
	case "memory":
	case "redis":
		var err error
		rd, err = StartRedis(cfg.RedisBin)
		if err != nil {
			return fmt.Errorf("store redis: %w", err)
		}
		defer rd.Stop()
		opt.RedisURL = rd.URL
	default:
		return fmt.Errorf("unknown store %q", store)
	}
	add := func(rs ...Result) {
		load := loadAvg()
		for _, r := range rs {
			if r.Extra == nil {
				r.Extra = map[string]float64{}
			}
			r.Extra["loadavg_1m"] = load
			cfg.logf("%-12s %-6s N=%-5d %10.1f %-11s p50 %.2f p99 %.2f ms ok=%v", r.Scenario, r.Store, r.N, r.Throughput, r.Unit, r.Latency.P50, r.Latency.P99, r.OK)
			for _, f := range r.Failed() {
				cfg.logf("  FAIL %s", f)
			}
			rep.Results = append(rep.Results, r)
		}
	}
	var srv *Server
	defer func() {
		if srv != nil {
			srv.Stop()
		}
	}()
	// target returns a healthy server, starting a fresh one when fresh is
	// set or the current one died.
	target := func(fresh, pprof bool, env []string) (Target, error) {
		if srv != nil {
			select {
			case <-srv.Exited():
				cfg.logf("server died; log tail:\n%s", srv.Log())
				srv = nil
			default:
			}
		}
		if srv != nil && (fresh || pprof || env != nil) {
			srv.Stop()
			srv = nil
		}
		if srv == nil {
			if rd != nil {
				if err := rd.FlushAll(ctx); err != nil {
					return Target{}, fmt.Errorf("flush redis: %w", err)
				}
			}
			var err error
			o := opt
			o.Pprof = pprof
			o.Env = append(slices.Clone(o.Env), env...)
			srv, err = StartServer(ctx, o)
			if err != nil {
				return Target{}, fmt.Errorf("store %s: %w", store, err)
			}
		}
		// Let the previous scenario's disconnects drain.
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
		}
		return Target{URL: srv.URL, Store: store, Origin: cfg.Origin, Server: srv, Redis: rd}, nil
	}
	type job struct {
		name  string
		fresh bool     // a fresh server (on a flushed redis), not the running one
		pprof bool     // a fresh server that serves pprof, for forced collections
		env   []string // a fresh server with these variables too
		run   func(Target) []Result
	}
	var jobs []job
	if cfg.wants("match") {
		for _, n := range cfg.MatchN {
			jobs = append(jobs, job{name: fmt.Sprintf("match %d", n), run: func(t Target) []Result { return []Result{RunMatch(ctx, t, n)} }})
		}
	}
	if cfg.wants("relay") {
		jobs = append(jobs, job{name: "relay", run: func(t Target) []Result {
			return []Result{RunRelay(ctx, t, RelayOptions{Pairs: cfg.RelayPairs, Duration: cfg.RelayDuration})}
		}})
	}
	if cfg.wants("churn") {
		for _, p := range cfg.ChurnPairs {
			jobs = append(jobs, job{name: fmt.Sprintf("churn %d", p), run: func(t Target) []Result {
				return []Result{RunChurn(ctx, t, ChurnOptions{Pairs: p, Duration: cfg.ChurnDuration})}
			}})
		}
		if cfg.ChaosPairs > 0 {
			jobs = append(jobs, job{name: "churn-chaos", run: func(t Target) []Result {
				return []Result{RunChurn(ctx, t, ChurnOptions{Pairs: cfg.ChaosPairs, Duration: cfg.ChurnDuration, Chaos: true, ChaosGap: cfg.ChaosGap})}
			}})
		}
	}
	if cfg.wants("cost") && rd != nil {
		jobs = append(jobs, job{name: "cost", fresh: true, run: func(t Target) []Result {
			return RunCost(ctx, t, CostOptions{Pairs: cfg.CostPairs, Messages: cfg.CostMessages})
		}})
	}
	if cfg.wants("instances") && rd != nil {
		for _, k := range cfg.InstancesN {
			jobs = append(jobs, job{name: fmt.Sprintf("instances %d", k), run: func(t Target) []Result {
				return []Result{RunInstances(ctx, t, opt, k, RelayOptions{Pairs: cfg.RelayPairs, Duration: cfg.RelayDuration})}
			}})
		}
	}
	if cfg.wants("instances-cluster") && rd != nil {
		for _, k := range cfg.InstancesN {
			jobs = append(jobs, job{name: fmt.Sprintf("instances-cluster %d", k), run: func(Target) []Result {
				return []Result{RunInstancesCluster(ctx, cfg.RedisBin, opt, k, 3, RelayOptions{Pairs: cfg.RelayPairs, Duration: cfg.RelayDuration})}
			}})
		}
	}
	if cfg.wants("rollover") && rd != nil {
		jobs = append(jobs, job{name: "rollover", run: func(t Target) []Result {
			return []Result{RunRollover(ctx, t, opt, RolloverOptions{Pairs: cfg.RolloverPairs})}
		}})
	}
	if cfg.wants("abuse") {
		for _, a := range Attacks {
			if len(cfg.Attacks) > 0 && !slices.Contains(cfg.Attacks, a) {
				continue
			}
			jobs = append(jobs, job{name: "abuse " + a, fresh: true, pprof: true, env: AbuseEnv(a), run: func(t Target) []Result {
				return []Result{RunAbuse(ctx, t, a, AbuseOptions{})}
			}})
		}
	}
	if cfg.wants("idle") {
		for _, n := range cfg.IdleN {
			jobs = append(jobs, job{name: fmt.Sprintf("idle %d", n), fresh: true, pprof: true, run: func(t Target) []Result {
				return []Result{RunIdle(ctx, t, IdleOptions{N: n, Settle: cfg.IdleSettle, Hold: cfg.IdleHold})}
			}})
		}
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			return fmt.Errorf("store %s: %s: %w", store, j.name, ctx.Err())
		}
		cfg.logf("%s: %s", store, j.name)
		t, err := target(j.fresh, j.pprof, j.env)
		if err != nil {
			return err
		}
		rs := j.run(t)
		add(rs...)
		for _, r := range rs {
			if !r.OK {
				cfg.logf("server log tail after failed %s:\n%s", j.name, lastLines(srv.Log(), 30))
				break
			}
		}
	}
	return nil
}

// loadAvg reads the 1-minute load average: the machine is shared, and a
// result taken under load says so.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
