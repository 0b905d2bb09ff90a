package bench

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// IdleOptions tunes RunIdle.
type IdleOptions struct {
	N int // idle connections
	// Settle is how long the server is left alone before each RSS reading.
	// 0: 2 s.
	Settle time.Duration
	// ReturnWait bounds how long, after the clients have closed, the server
	// has to give the memory back. 0: 30 s.
	ReturnWait time.Duration
}

// RunIdle measures the server's resident memory per idle Socket.IO
// connection (VmRSS of the server process before and after N connections,
// each after a settle), and checks that the memory returns once they close.
// When the server exposes /debug/pprof, each reading is preceded by a
// forced GC; otherwise the bench makes the server collect by itself by
// opening and closing short-lived connections.
func RunIdle(ctx context.Context, t Target, o IdleOptions) Result {
	if o.Settle <= 0 {
		o.Settle = 2 * time.Second
	}
	if o.ReturnWait <= 0 {
		o.ReturnWait = 30 * time.Second
	}
	ck := &Checks{}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute+o.ReturnWait+time.Duration(o.N)*2*time.Millisecond)
	defer cancel()
	ir := idleRun{o: o, t: t, ck: ck}
	err := ir.run(ctx)
	r := newResult("idle", t.Store, o.N, "kB/conn", ck, err)
	r.Extra = ir.extra
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

func (ir *idleRun) run(ctx context.Context) error {
	ir.extra = map[string]float64{}
	if ir.t.Server == nil {
		return errors.New("idle: needs a server process started by the bench")
	}
	const (
		ckAlive  = "all connections stay up"
		ckReturn = "memory returns after close"
		ckHealth = "server healthy after"
	)
	for _, c := range []string{ckAlive, ckReturn, ckHealth} {
		ir.ck.Pass(c)
	}
	gc := ir.t.Server.ForceGC(ctx)
	ir.extra["forced_gc"] = b2f(gc)
	before, err := ir.settle(ctx, gc)
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	cs, err := connectAll(ctx, ir.t, ir.o.N, nil)
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	defer closeAll(cs)
	peak, err := ir.settle(ctx, gc)
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	dead := 0
	for _, c := range cs {
		select {
		case <-c.Done():
			dead++
		default:
		}
	}
	if dead > 0 {
		ir.ck.Failf(ckAlive, "%d of %d idle connections dropped", dead, len(cs))
	}
	growth := peak - before
	ir.perConn = float64(growth) / float64(ir.o.N)
	ir.extra["rss_before_mb"] = mb(before)
	ir.extra["rss_peak_mb"] = mb(peak)
	ir.extra["ping_interval_ms"] = float64(cs[0].PingInterval.Milliseconds())
	closeAll(cs)

	// Memory returns: within ReturnWait, RSS drops back by at least half the
	// growth (4 MiB of slack for small N).
	allowed := max(growth/2, 4<<20)
	rctx, rcancel := context.WithTimeout(ctx, ir.o.ReturnWait)
	defer rcancel()
	var after int64
	for {
		if !gc {
			ir.pressure(rctx)
		}
		after, err = ir.settle(rctx, gc)
		if err == nil && after-before <= allowed {
			break
		}
		if rctx.Err() != nil {
			break
		}
	}
	if err != nil && after == 0 {
		after, err = ir.t.Server.RSS()
		if err != nil {
			return fmt.Errorf("idle: %w", err)
		}
	}
	ir.extra["rss_after_mb"] = mb(after)
	if after-before > allowed {
		ir.ck.Failf(ckReturn, "RSS %.1f MiB before, %.1f MiB with %d connections, still %.1f MiB %v after they closed",
			mb(before), mb(peak), ir.o.N, mb(after), ir.o.ReturnWait)
	}
	if !ir.t.Server.Healthy(ctx) {
		ir.ck.Failf(ckHealth, "GET /health is not 200 after the idle run")
	}
	return nil
}

// pressure opens and closes a batch of short-lived connections, so that a
// server without a GC endpoint allocates and collects.
func (ir *idleRun) pressure(ctx context.Context) {
	cs, err := connectAll(ctx, ir.t, 200, nil)
	if err == nil {
		closeAll(cs)
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
