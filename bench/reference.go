package bench

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"time"
)

// ReferenceOptions tunes RunReference.
type ReferenceOptions struct {
	// Rounds: each figure is measured this many times on each server,
	// alternated (ours, reference, ours, ...), each time on a fresh
	// process; the table gives the medians. 0: 3.
	Rounds        int
	RelayPairs    int           // 0: 100
	RelayDuration time.Duration // 0: 5 s
	IdleN         []int         // idle websocket connections, one reading each
	PollingN      int           // idle polling connections (0: none)
	IdleSettle    time.Duration
	IdleHold      time.Duration
}

// Ratio is one figure of ours beside the reference's: the medians of the
// rounds, and ours divided by the reference's.
type Ratio struct {
	Figure string  `json:"figure"`
	Unit   string  `json:"unit"`
	Ours   float64 `json:"ours"`
	Ref    float64 `json:"reference"`
	Ratio  float64 `json:"ratio"`            // Ours / Ref
	Target string  `json:"target,omitempty"` // what the ratio should be (issue 21)
	// RunsOurs and RunsRef: the readings the medians are of, each side's
	// runs whose checks all passed.
	RunsOurs int `json:"runs_ours"`
	RunsRef  int `json:"runs_reference"`
}

// Side starts a fresh server of one side for one reading.
type Side func(context.Context) (*Server, error)

// refFigure is one figure: how to read it from a run's result.
type refFigure struct {
	name, unit, target string
	read               func(Result) (float64, bool)
}

// RunReference measures ours and the reference server (bench/noderef,
// socket.io on Node) in one run, alternated, each reading on a fresh
// process of its side: the relay scenario (relayed messages per second,
// server CPU per relayed message from /proc, p99 round trip, RSS per
// connection under that load), and RSS per idle connection (websocket at
// each of IdleN, polling at PollingN). It returns every run's result (their
// scenario prefixed "ref-", their store "memory" for ours and "node" for
// the reference) and the table of medians and ratios.
func RunReference(ctx context.Context, ours, ref Side, o ReferenceOptions, logf func(string, ...any)) ([]Result, []Ratio) {
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.RelayPairs <= 0 {
		o.RelayPairs = 100
	}
	if o.RelayDuration <= 0 {
		o.RelayDuration = 5 * time.Second
	}
	var results []Result
	var ratios []Ratio
	// measure runs one kind of reading Rounds times on each side, and adds
	// a row per figure.
	measure := func(label string, run func(Target) Result, figs ...refFigure) {
		var oursRs, refRs []Result
		for round := 1; round <= o.Rounds; round++ {
			for _, side := range []struct {
				name, store string
				start       Side
				into        *[]Result
			}{{"ours", "memory", ours, &oursRs}, {"reference", "node", ref, &refRs}} {
				if ctx.Err() != nil {
					return
				}
				logf("reference: %s, %s, round %d of %d", label, side.name, round, o.Rounds)
				r := refRun(ctx, side.start, side.store, run)
				r.Extra["round"] = float64(round)
				*side.into = append(*side.into, r)
				results = append(results, r)
				logf("  %s %.1f %s (p99 %.2f ms) ok=%v", r.Scenario, r.Throughput, r.Unit, r.Latency.P99, r.OK)
				for _, f := range r.Failed() {
					logf("  FAIL %s", f)
				}
			}
		}
		for _, f := range figs {
			ro, no := median(oursRs, f.read)
			nr, nn := median(refRs, f.read)
			q := Ratio{Figure: f.name, Unit: f.unit, Ours: ro, Ref: nr, Target: f.target, RunsOurs: no, RunsRef: nn}
			if nr != 0 {
				q.Ratio = ro / nr
			}
			ratios = append(ratios, q)
		}
	}
	relay := func(t Target) Result {
		return RunRelay(ctx, t, RelayOptions{Pairs: o.RelayPairs, Duration: o.RelayDuration})
	}
	measure("relay", relay,
		refFigure{fmt.Sprintf("relayed messages/s, %d pairs", o.RelayPairs), "msgs/s", "", throughput},
		refFigure{"server CPU per relayed message", "µs", "≤ 0.33", cpuPerRelayed},
		refFigure{"p99 round trip (signal → chat-message back)", "ms", "", func(r Result) (float64, bool) { return r.Latency.P99, r.Latency.Count > 0 }},
		refFigure{fmt.Sprintf("RSS per connection under the relay load (%d conns)", 2*o.RelayPairs), "kB", "", extra("rss_kb_per_conn_under_load")})
	limit := fileLimit()
	for _, n := range o.IdleN {
		m := capConns(n, limit)
		name := fmt.Sprintf("RSS per idle websocket, %d conns", m)
		if m != n {
			name = fmt.Sprintf("RSS per idle websocket, %d conns (%d asked; open files capped at %d)", m, n, limit)
		}
		measure(fmt.Sprintf("idle websocket %d", m), func(t Target) Result {
			return RunIdle(ctx, t, IdleOptions{N: m, Settle: o.IdleSettle, Hold: o.IdleHold, ReadingOnly: true})
		}, refFigure{name, "kB", "≤ 1", throughput})
	}
	if o.PollingN > 0 {
		m := capConns(o.PollingN, limit)
		measure(fmt.Sprintf("idle polling %d", m), func(t Target) Result {
			return RunIdle(ctx, t, IdleOptions{N: m, Settle: o.IdleSettle, Hold: o.IdleHold, Polling: true, ReadingOnly: true})
		}, refFigure{fmt.Sprintf("RSS per idle polling connection, %d conns", m), "kB", "", throughput})
	}
	return results, ratios
}

// refRun starts a fresh server of a side, runs one reading on it, and
// stops it.
func refRun(ctx context.Context, start Side, store string, run func(Target) Result) Result {
	srv, err := start(ctx)
	if err != nil {
		return newResult("ref", store, 0, "", &Checks{}, fmt.Errorf("start server: %w", err))
	}
	defer srv.Stop()
	r := run(Target{URL: srv.URL, Store: store, Server: srv})
	r.Scenario = "ref-" + r.Scenario
	r.Store = store
	if r.Extra == nil {
		r.Extra = map[string]float64{}
	}
	r.Extra["loadavg_1m"] = loadAvg()
	return r
}

func throughput(r Result) (float64, bool) { return r.Throughput, r.Throughput > 0 }

func cpuPerRelayed(r Result) (float64, bool) {
	cpu, ok1 := r.Extra["server_cpu_s"]
	n := r.Extra["relayed"]
	return cpu / n * 1e6, ok1 && n > 0
}

func extra(key string) func(Result) (float64, bool) {
	return func(r Result) (float64, bool) { v, ok := r.Extra[key]; return v, ok }
}

// median of what read reports of the runs whose checks all passed, and
// how many they are (0, 0 when none).
func median(rs []Result, read func(Result) (float64, bool)) (float64, int) {
	var v []float64
	for _, r := range rs {
		if x, ok := read(r); ok && r.OK {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return 0, 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], len(v)
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, len(v)
}

// fileLimit is this process's RLIMIT_NOFILE (after RaiseFileLimit: the
// hard limit, which the server inherits).
func fileLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return int(min(rl.Cur, 1<<30))
}

// capConns is n, or less when n connections would not fit in limit open
// files: the server holds one descriptor per connection and the load
// generator another, each process under the same limit, and both need a
// few hundred more of their own. Whole thousands, so that the figure says
// it was capped.
func capConns(n, limit int) int {
	const spare = 1000
	if limit <= 0 || n+spare <= limit {
		return n
	}
	return max((limit-spare)/1000*1000, 1000)
}
