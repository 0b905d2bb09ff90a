// Command zivro-bench runs the Zivro load scenarios against a server binary
// it starts itself, once on the embedded store and once on a private Redis,
// prints a table and writes the results as JSON.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/zivro/zivro/bench"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "zivro-bench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("zivro-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg       bench.Config
		stores    = fs.String("stores", "memory,redis", "stores to run on, comma-separated: memory, redis")
		scenarios = fs.String("scenarios", "match,relay,churn,idle,cost,abuse,instances,instances-cluster,rollover,reference", "scenarios to run, comma-separated (also: soak)")
		attacks   = fs.String("attacks", "", "abuse: attacks to play, comma-separated (empty: all)")
		instN     = fs.String("instances-n", "1,2,4", "instances: server instances on one Redis, comma-separated")
		matchN    = fs.String("match-n", "200,1000,2000", "match: clients joining at once, comma-separated")
		churnP    = fs.String("churn-pairs", "3,50", "churn: pairs pressing next, comma-separated")
		idleN     = fs.String("idle-n", "1000,5000", "idle: idle connections, comma-separated")
		refIdleN  = fs.String("ref-idle-n", "5000,20000", "reference: idle websocket connections, comma-separated (capped by the open-files limit)")
		out       = fs.String("out", "bench/results.json", "JSON results file (empty: none)")
		timeout   = fs.Duration("timeout", 10*time.Minute, "bound for the whole run (a soak's duration is added to it)")
		cpuprof   = fs.String("cpuprofile", "", "write the bench's own CPU profile here (to see what the load generator costs)")
	)
	fs.StringVar(&cfg.ServerBin, "server-bin", "", "path to the built server binary (required)")
	fs.StringVar(&cfg.RedisBin, "redis-server", "redis-server", "redis-server binary for the redis store")
	fs.StringVar(&cfg.NodeEnv, "node-env", "production", "NODE_ENV for the server")
	fs.StringVar(&cfg.Origin, "origin", "", "Origin header to send, also given to the server as CLIENT_URL (empty: none)")
	fs.IntVar(&cfg.RelayPairs, "relay-pairs", 100, "relay: pairs bouncing messages")
	fs.DurationVar(&cfg.RelayDuration, "relay-duration", 5*time.Second, "relay: how long")
	fs.DurationVar(&cfg.ChurnDuration, "churn-duration", 5*time.Second, "churn: how long each churn run lasts")
	fs.IntVar(&cfg.ChaosPairs, "chaos-pairs", 50, "churn: pairs in the chaos run (0: none)")
	fs.DurationVar(&cfg.ChaosGap, "chaos-gap", 20*time.Millisecond, "churn chaos: mean gap between a client's random nexts")
	fs.DurationVar(&cfg.IdleSettle, "idle-settle", 2*time.Second, "idle: settle time before each RSS reading")
	fs.DurationVar(&cfg.IdleHold, "idle-hold", 12*time.Second, "idle: keep the connections open this long after the reading, through a heartbeat (0: no hold)")
	fs.IntVar(&cfg.CostPairs, "cost-pairs", 50, "cost: pairs")
	fs.IntVar(&cfg.CostMessages, "cost-messages", 20, "cost: relayed messages per pair")
	fs.IntVar(&cfg.RolloverPairs, "rollover-pairs", 200, "rollover: resumable pairs through a rolling deploy")
	fs.StringVar(&cfg.Ref.Dir, "ref-dir", "bench/noderef", "reference: the reference server's directory (npm ci done)")
	fs.StringVar(&cfg.Ref.Node, "node", "node", "reference: the node binary")
	fs.IntVar(&cfg.RefRounds, "ref-rounds", 3, "reference: alternated rounds per figure (medians)")
	fs.IntVar(&cfg.RefPollingN, "ref-polling-n", 1000, "reference: idle polling connections (0: none)")
	fs.IntVar(&cfg.Soak.Users, "soak-users", 2000, "soak: users online at once")
	fs.DurationVar(&cfg.Soak.Duration, "soak", 10*time.Minute, "soak: how long")
	fs.DurationVar(&cfg.Soak.Sample, "soak-sample", 5*time.Second, "soak: time between samples")
	fs.StringVar(&cfg.Soak.CSV, "soak-csv", "bench/soak.csv", "soak: the samples' CSV file (empty: none)")
	fs.StringVar(&cfg.Soak.PNG, "soak-png", "bench/soak.png", "soak: the samples' plot (empty: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.ServerBin == "" {
		fs.Usage()
		return errors.New("-server-bin is required")
	}
	var err error
	cfg.Stores = list(*stores)
	cfg.Scenarios = list(*scenarios)
	if *attacks != "" {
		cfg.Attacks = list(*attacks)
	}
	if cfg.MatchN, err = ints(*matchN); err != nil {
		return fmt.Errorf("-match-n: %w", err)
	}
	if cfg.ChurnPairs, err = ints(*churnP); err != nil {
		return fmt.Errorf("-churn-pairs: %w", err)
	}
	if cfg.IdleN, err = ints(*idleN); err != nil {
		return fmt.Errorf("-idle-n: %w", err)
	}
	if cfg.RefIdleN, err = ints(*refIdleN); err != nil {
		return fmt.Errorf("-ref-idle-n: %w", err)
	}
	if cfg.InstancesN, err = ints(*instN); err != nil {
		return fmt.Errorf("-instances-n: %w", err)
	}
	cfg.Progress = stderr
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if err := bench.RaiseFileLimit(); err != nil {
		fmt.Fprintln(stderr, "warning:", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Soak.Duration > 0 && slices.Contains(cfg.Scenarios, "soak") {
		*timeout += cfg.Soak.Duration
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	rep, runErr := bench.Run(ctx, cfg)
	rep.Args = args
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	if *out != "" {
		if err := rep.WriteJSON(*out); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	if !rep.OK() {
		return errors.New("some checks failed")
	}
	return nil
}

func list(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range list(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}
