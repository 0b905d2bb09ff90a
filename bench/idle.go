package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// IdleOptions tunes RunIdle.
type IdleOptions struct {
	N int // idle connections
	// Settle is how long the server is left alone before each RSS reading.
	// 0: 2 s.
	Settle time.Duration
	// Hold keeps the connections open this long after the reading, to see
	// them through a heartbeat (checked when longer than the ping interval
	// plus 1 s). 0: no hold.
	Hold time.Duration
	// Rounds: when RSS has not fallen back after the connections closed,
	// the bench opens and closes N connections again until Rounds in all,
	// and checks that the peak does not grow (the memory is reused, not
	// leaked). 0: 3.
	Rounds int
	// Polling: the connections use HTTP long-polling, not websockets.
	Polling bool
	// ReadingOnly leaves out the check that memory returns after close
	// (and its extra rounds): the reference scenario wants the reading,
	// and the idle scenario makes that check.
	ReadingOnly bool
}

// idleConn is one idle connection: a websocket Client or a pollClient.
type idleConn interface {
	Done() <-chan struct{}
	Pings() int64
	Close() error
}

// closeIdle closes every connection, dialParallel at a time.
func closeIdle(cs []idleConn) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, dialParallel)
	for _, c := range cs {
		if c == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = c.Close()
		}()
	}
	wg.Wait()
}

// RunIdle measures the server's resident memory per idle Socket.IO
// connection (VmRSS of the server process before and after N connections,
// each after a settle), and checks that the memory returns once they close.
// When the server exposes /debug/pprof, each reading is preceded by a
// forced GC.
func RunIdle(ctx context.Context, t Target, o IdleOptions) Result {
	if o.Settle <= 0 {
		o.Settle = 2 * time.Second
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	ck := &Checks{}
	t, dc := t.counted()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute+o.Hold+time.Duration(o.Rounds)*(2*o.Settle+time.Duration(o.N)*2*time.Millisecond))
	defer cancel()
	ir := idleRun{o: o, t: t, ck: ck}
	err := ir.run(ctx)
	name := "idle"
	if o.Polling {
		name = "idle-polling"
	}
	r := newResult(name, t.Store, o.N, "kB/conn", ck, err)
	r.Extra = ir.extra
	if r.Extra == nil {
		r.Extra = map[string]float64{}
	}
	dc.note(&r)
	if ir.perConn > 0 {
		r.Throughput = ir.perConn / 1024
	}
	return r
}

type idleRun struct {
	o       IdleOptions
	t       Target
	ck      *Checks
	perConn float64
	extra   map[string]float64
}

func (ir *idleRun) settle(ctx context.Context, gc bool) (int64, error) {
	if gc {
		ir.t.Server.ForceGC(ctx)
	}
	select {
	case <-time.After(ir.o.Settle):
	case <-ctx.Done():
		return 0, fmt.Errorf("settle: %w", ctx.Err())
	}
	if gc {
		ir.t.Server.ForceGC(ctx)
	}
	return ir.t.Server.RSS()
}

// open dials the N connections; it returns them and the ping interval the
// server announced.
func (ir *idleRun) open(ctx context.Context) ([]idleConn, time.Duration, error) {
	if ir.o.Polling {
		cs, err := connectPolling(ctx, pollingTransport(ir.o.N), ir.t.URL, ir.o.N)
		if err != nil {
			return nil, 0, err
		}
		return cs, cs[0].(*pollClient).pingInterval, nil
	}
	ws, err := connectAll(ctx, ir.t, ir.o.N, nil)
	if err != nil {
		return nil, 0, err
	}
	cs := make([]idleConn, len(ws))
	for i, c := range ws {
		cs[i] = c
	}
	return cs, ws[0].PingInterval, nil
}

func (ir *idleRun) run(ctx context.Context) error {
	ir.extra = map[string]float64{}
	if ir.t.Server == nil {
		return errors.New("idle: needs a server process started by the bench")
	}
	const (
		ckAlive  = "all connections stay up"
		ckReturn = "memory returns after close"
		ckHealth = "server healthy after"
		ckPinged = "heartbeat reaches every connection"
	)
	for _, c := range []string{ckAlive, ckHealth} {
		ir.ck.Pass(c)
	}
	if !ir.o.ReadingOnly {
		ir.ck.Pass(ckReturn)
	}
	gc := ir.t.Server.ForceGC(ctx)
	ir.extra["forced_gc"] = b2f(gc)
	before, err := ir.settle(ctx, gc)
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	cs, pingInterval, err := ir.open(ctx)
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	defer closeIdle(cs)
	peak, err := ir.settle(ctx, gc)
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	if ir.o.Hold > 0 {
		// Hold them through a heartbeat: every client must have answered a
		// ping and still be connected.
		select {
		case <-time.After(ir.o.Hold):
		case <-ctx.Done():
			return fmt.Errorf("idle: hold: %w", ctx.Err())
		}
	}
	dead, unpinged := 0, 0
	for _, c := range cs {
		select {
		case <-c.Done():
			dead++
		default:
		}
		if c.Pings() == 0 {
			unpinged++
		}
	}
	if dead > 0 {
		ir.ck.Failf(ckAlive, "%d of %d idle connections dropped", dead, len(cs))
	}
	if ir.o.Hold > pingInterval+time.Second {
		ir.ck.Pass(ckPinged)
		if unpinged > 0 {
			ir.ck.Failf(ckPinged, "%d of %d connections saw no ping in %v (ping interval %v)", unpinged, len(cs), ir.o.Hold, pingInterval)
		}
	}
	growth := peak - before
	ir.perConn = float64(growth) / float64(ir.o.N)
	ir.extra["rss_before_mb"] = mb(before)
	ir.extra["rss_peak_mb"] = mb(peak)
	ir.extra["ping_interval_ms"] = float64(pingInterval.Milliseconds())
	closeIdle(cs)
	if ir.o.ReadingOnly {
		// A single-threaded server (the reference) is still busy with
		// the closes for a while: healthy within 10 s.
		if !ir.t.Server.HealthyWithin(ctx, 10*time.Second) {
			ir.ck.Failf(ckHealth, "GET /health is not 200 within 10 s after the idle run")
		}
		return nil
	}

	// Memory returns: either RSS falls back by half the growth (a forced GC
	// and the scavenger did it), or, since a Go server keeps freed memory
	// until its next GC, the memory is reused: further rounds of N
	// connections leave the peak where it was instead of adding to it.
	allowed := max(growth/2, 4<<20)
	after, err := ir.settle(ctx, gc)
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	ir.extra["rss_after_close_mb"] = mb(after)
	if after-before <= allowed {
		ir.extra["returned_to_os"] = 1
	} else {
		last := peak
		for round := 2; round <= ir.o.Rounds; round++ {
			cs, _, err := ir.open(ctx)
			if err != nil {
				return fmt.Errorf("idle: round %d: %w", round, err)
			}
			last, err = ir.settle(ctx, gc)
			closeIdle(cs)
			if err != nil {
				return fmt.Errorf("idle: round %d: %w", round, err)
			}
		}
		ir.extra["rss_peak_last_round_mb"] = mb(last)
		if last-peak > allowed {
			ir.ck.Failf(ckReturn, "RSS %.1f MiB before, %.1f MiB with %d connections, %.1f MiB after they closed, and %.1f MiB at the peak of round %d: not reused",
				mb(before), mb(peak), ir.o.N, mb(after), mb(last), ir.o.Rounds)
		}
		if after, err = ir.settle(ctx, gc); err == nil {
			ir.extra["rss_after_mb"] = mb(after)
		}
	}
	if !ir.t.Server.Healthy(ctx) {
		ir.ck.Failf(ckHealth, "GET /health is not 200 after the idle run")
	}
	return nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
