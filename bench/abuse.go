package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The abuse scenario plays the attacks of issue 9, each against a fresh
// server, and measures what each makes the server hold: the peak of its
// resident memory during the attack, above where it was before. Every
// attack must stay under MaxGrowth, and the server must answer /health
// afterwards.
//
// The server runs as an operator would run it on a small instance (see
// abuseEnv): with the limits of real users, and with a memory limit for the
// Go runtime. Its GC tuner otherwise lets garbage grow the heap to 64 MiB
// before it collects, and a burst of refused input (400 frames of 46 KB in
// a fraction of a second) reached that between two of the bench's forced
// collections or not, run to run: the peak measured the garbage allowed,
// not what the attack makes the server hold. Under the limit, garbage is
// collected before it gets there, and only memory the attack pins can push
// RSS past it. When the server serves pprof (ServerOptions.Pprof, as make
// bench starts it for this scenario), the bench also has it collect every
// 100 ms during the attack.

// abuseEnv is the abuse servers' environment: the per-address and
// per-command budgets back at their defaults (the bench lifts them for its
// load, see liftedBudgets), and GOMEMLIMIT, which the README recommends
// for production.
var abuseEnv = []string{
	"MAX_CONNS_PER_IP=",
	"NEW_CONNS_PER_IP_PER_MINUTE=",
	"EVENTS_PER_SECOND=",
	"COMMANDS_PER_SECOND=",
	"GOMEMLIMIT=40MiB",
	// /metrics on the public port, for the sockets the phantom loop leaves.
	"METRICS_TOKEN=" + abuseMetricsToken,
}

// abuseMetricsToken is the abuse servers' METRICS_TOKEN: loopback only, and
// long enough for any check of a token's strength.
const abuseMetricsToken = "bench-abuse-3f9c1e7a5b2d4086c9e1f7a3b5d2408e"

// AbuseEnv is the environment of the server that attack runs against:
// abuseEnv, except for the phantom loop, which plays thousands of users
// that each connect once: as many addresses would, so with the
// per-address connection budgets lifted (from one address they would
// refuse all but the first 120 sessions a minute, and the loop would
// measure that budget, not what each session leaves behind).
func AbuseEnv(attack string) []string {
	if attack == "phantom-loop" {
		return append(slices.Clone(abuseEnv), "MAX_CONNS_PER_IP=1000000", "NEW_CONNS_PER_IP_PER_MINUTE=100000000")
	}
	return abuseEnv
}

// abuseMaxConns is MAX_CONNS_PER_IP's default (README, Limits), the most
// sockets one address may hold in the attacks that count them.
const abuseMaxConns = 100

// Attacks, in the order they run.
var Attacks = []string{"binary", "chunked-post", "slow-reader", "ack-flood", "handshake-url", "deep-json", "many-sockets", "command-flood", "empty-sid", "phantom-loop"}

// unforcedGC are the attacks during which the bench forces no collection:
// what they measure (descriptors of closed connections) a collection
// would close.
var unforcedGC = map[string]bool{"phantom-loop": true}

// AbuseOptions tunes RunAbuse. Zero fields take the full attack's size
// (the figures of issue 9); the Go tests use small ones.
type AbuseOptions struct {
	// Scale multiplies every attack's size (frames, bytes, connections,
	// duration). 0: 1.
	Scale float64
	// MaxGrowth is the most an attack may add to the server's RSS.
	// 0: defaultMaxGrowth.
	MaxGrowth int64
	// Tail: how long RSS is still watched after the attack, for what it
	// left queued. 0: defaultAbuseTail.
	Tail time.Duration
}

// defaultMaxGrowth is AbuseOptions.MaxGrowth's default.
const defaultMaxGrowth = 48 << 20

// defaultAbuseTail is AbuseOptions.Tail's default.
const defaultAbuseTail = time.Second

func (o AbuseOptions) withDefaults() AbuseOptions {
	if o.Scale <= 0 {
		o.Scale = 1
	}
	if o.MaxGrowth <= 0 {
		o.MaxGrowth = defaultMaxGrowth
	}
	if o.Tail <= 0 {
		o.Tail = defaultAbuseTail
	}
	return o
}

// n scales a count, never below one.
func (o AbuseOptions) n(full int) int { return max(1, int(float64(full)*o.Scale)) }

// RunAbuse plays one attack against t's server (which should be fresh: the
// growth is measured from where it is) and reports it as scenario
// "abuse-<attack>": throughput is the peak RSS growth in MB.
func RunAbuse(ctx context.Context, t Target, attack string, o AbuseOptions) Result {
	o = o.withDefaults()
	ck := &Checks{}
	const (
		ckGrowth = "peak RSS growth under the limit"
		ckHealth = "server healthy after"
		ckHeld   = "sockets held within MAX_CONNS_PER_IP"
		ckLeft   = "sessions that left leave no socket and no descriptor"
	)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	extra := map[string]float64{}
	var growth int64
	err := func() error {
		if t.Server == nil {
			return errors.New("abuse: needs a server process started by the bench")
		}
		play, ok := attacks[attack]
		if !ok {
			return fmt.Errorf("abuse: unknown attack %q", attack)
		}
		gc := t.Server.ForceGC(ctx)
		extra["forced_gc"] = b2f(gc)
		before, err := t.Server.RSS()
		if err != nil {
			return err
		}
		peak := startPeak(ctx, t.Server, gc && !unforcedGC[attack])
		start := time.Now()
		err = play(ctx, t, o, extra)
		extra["attack_s"] = time.Since(start).Seconds()
		// What the attack left queued in the server is still held a
		// moment later.
		select {
		case <-time.After(o.Tail):
		case <-ctx.Done():
		}
		top := peak.stop()
		growth = top - before
		extra["rss_before_mb"] = mb(before)
		extra["rss_peak_mb"] = mb(top)
		return err
	}()
	ck.Pass(ckGrowth)
	ck.Pass(ckHealth)
	if err == nil {
		if growth > o.MaxGrowth {
			ck.Failf(ckGrowth, "%s: RSS grew by %.1f MiB, limit %.0f MiB", attack, mb(growth), mb(o.MaxGrowth))
		}
		if !t.Server.Healthy(ctx) {
			ck.Failf(ckHealth, "%s: GET /health is not 200 after the attack", attack)
		}
		if limit, ok := extra["held_cap"]; ok {
			ck.Pass(ckHeld)
			if extra["held"] > limit {
				ck.Failf(ckHeld, "%s: one address held %.0f sockets, cap %.0f", attack, extra["held"], limit)
			}
		}
		if _, ok := extra["sockets_left"]; ok {
			ck.Pass(ckLeft)
			if extra["sockets_left"] != 0 || extra["online_left"] != 0 || extra["fds_settled"] > extra["fds_before"]+phantomFDSlack {
				ck.Failf(ckLeft, "%s: %.0f sockets and %.0f users online left, %.0f descriptors open (%.0f before)", attack, extra["sockets_left"], extra["online_left"], extra["fds_settled"], extra["fds_before"])
			}
		}
	}
	r := newResult("abuse-"+attack, t.Store, 1, "MB peak RSS growth", ck, err)
	r.Throughput = float64(growth) / 1e6
	r.Extra = extra
	return r
}

// peakRSS samples a process's RSS until stopped, keeping the highest.
type peakRSS struct {
	done chan struct{}
	top  chan int64
}

// startPeak starts the sampling, every 10 ms; with gc, every 100 ms, each
// reading after a forced collection.
func startPeak(ctx context.Context, s *Server, gc bool) *peakRSS {
	p := &peakRSS{done: make(chan struct{}), top: make(chan int64, 1)}
	every := 10 * time.Millisecond
	if gc {
		every = 100 * time.Millisecond
	}
	go func() {
		var top int64
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if gc {
				s.ForceGC(ctx)
			}
			if v, err := s.RSS(); err == nil && v > top {
				top = v
			}
			select {
			case <-p.done:
				p.top <- top
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *peakRSS) stop() int64 {
	close(p.done)
	return <-p.top
}

type attackFunc func(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error

var attacks = map[string]attackFunc{
	"binary":        attackBinary,
	"chunked-post":  attackChunkedPost,
	"slow-reader":   attackSlowReader,
	"ack-flood":     attackAckFlood,
	"handshake-url": attackHandshakeURL,
	"deep-json":     attackDeepJSON,
	"many-sockets":  attackManySockets,
	"command-flood": attackCommandFlood,
	"empty-sid":     attackEmptySID,
	"phantom-loop":  attackPhantomLoop,
}
