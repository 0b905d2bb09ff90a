package bench

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// CostOptions tunes RunCost.
type CostOptions struct {
	Pairs    int // 2*Pairs clients
	Messages int // relayed messages per pair (half signal, half chat-message)
}

// eventCounter counts the events of a set of clients by name.
type eventCounter struct {
	mu     sync.Mutex
	counts map[string]int
	last   atomic.Int64
}

func (ec *eventCounter) handler(_ *Client, ev Event) {
	ec.last.Store(time.Now().UnixNano())
	ec.mu.Lock()
	ec.counts[ev.Name]++
	ec.mu.Unlock()
}

func (ec *eventCounter) count(name string) int {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	return ec.counts[name]
}

// waitFor waits until count(name) >= n, then until no event has arrived for
// quiet; ctx bounds it.
func (ec *eventCounter) waitFor(ctx context.Context, name string, n int, quiet time.Duration) error {
	for ec.count(name) < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %d %s (got %d): %w", n, name, ec.count(name), ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
	for time.Since(time.Unix(0, ec.last.Load())) < quiet {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for quiet: %w", ctx.Err())
		case <-time.After(quiet / 4):
		}
	}
	return nil
}

// RunCost counts the Redis commands the server issues per user action, from
// INFO commandstats of the private redis before and after each phase:
// connect, join-queue, relayed message, next, leave-queue, disconnect. It
// needs t.Redis. Each phase is one row; the throughput column is commands
// per action, and Extra holds the per-command breakdown per action. Redis
// counts the commands a Lua script runs in commandstats too, so the total
// includes them; EVALSHA/EVAL per action are the scripts run. Extra's
// redis_memory_bytes_per_action is what Redis's used_memory grew by, per
// action: after connect and join, the sum of the two is what a user in a
// call holds in Redis.
func RunCost(ctx context.Context, t Target, o CostOptions) []Result {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	t, dc := t.counted()
	cr := &costRun{t: t, o: o}
	err := cr.run(ctx)
	out := cr.results
	if err != nil {
		ck := &Checks{}
		out = append(out, newResult("cost", t.Store, 0, "cmds/action", ck, err))
	}
	if len(out) > 0 {
		dc.note(&out[0])
	}
	return out
}

type costRun struct {
	t        Target
	o        CostOptions
	results  []Result
	bgPerSec float64
}

// phase measures the commands issued while act runs (act waits for the
// effects itself).
func (cr *costRun) phase(ctx context.Context, name string, actions int, ck *Checks, act func() error) error {
	before, err := cr.t.Redis.CommandStats(ctx)
	if err != nil {
		return fmt.Errorf("cost %s: %w", name, err)
	}
	memBefore, err := cr.t.Redis.Info(ctx, "memory", "used_memory")
	if err != nil {
		return fmt.Errorf("cost %s: %w", name, err)
	}
	start := time.Now()
	aerr := act()
	// Let asynchronous store work (event fan-out) finish.
	select {
	case <-time.After(100 * time.Millisecond):
	case <-ctx.Done():
	}
	el := time.Since(start)
	after, err := cr.t.Redis.CommandStats(ctx)
	if err != nil {
		return fmt.Errorf("cost %s: %w", name, err)
	}
	memAfter, err := cr.t.Redis.Info(ctx, "memory", "used_memory")
	if err != nil {
		return fmt.Errorf("cost %s: %w", name, err)
	}
	r := newResult("cost-"+name, cr.t.Store, actions, "cmds/action", ck, aerr)
	var total int64
	keys := make([]string, 0, len(after))
	for k := range after {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "info" {
			continue
		}
		d := after[k] - before[k]
		if d <= 0 {
			continue
		}
		total += d
		r.Extra["cmd_"+k] = float64(d) / float64(actions)
	}
	r.Duration = el.Seconds()
	r.Throughput = float64(total) / float64(actions)
	r.Unit = fmt.Sprintf("cmds/action (evalsha %.2f)", r.Extra["cmd_evalsha"])
	r.Extra["commands"] = float64(total)
	r.Extra["redis_memory_bytes_per_action"] = float64(memAfter-memBefore) / float64(actions)
	r.Extra["background_cmds_in_phase"] = cr.bgPerSec * el.Seconds()
	cr.results = append(cr.results, r)
	if aerr != nil {
		return fmt.Errorf("cost %s: %w", name, aerr)
	}
	return nil
}

func (cr *costRun) run(ctx context.Context) error {
	if cr.t.Redis == nil {
		return errors.New("cost: needs the private redis")
	}
	n := 2 * cr.o.Pairs
	// Background: what the server issues on its own per second.
	b0, err := cr.t.Redis.CommandStats(ctx)
	if err != nil {
		return fmt.Errorf("cost: %w", err)
	}
	const bgWindow = time.Second
	select {
	case <-time.After(bgWindow):
	case <-ctx.Done():
		return fmt.Errorf("cost: %w", ctx.Err())
	}
	b1, err := cr.t.Redis.CommandStats(ctx)
	if err != nil {
		return fmt.Errorf("cost: %w", err)
	}
	var bg int64
	for k, v := range b1 {
		if k != "info" {
			bg += v - b0[k]
		}
	}
	cr.bgPerSec = float64(bg) / bgWindow.Seconds()

	ec := &eventCounter{counts: map[string]int{}}
	var cs []*Client
	defer func() { closeAll(cs) }()
	cck := &Checks{}
	cck.Pass("all connected")
	if err := cr.phase(ctx, "connect", n, cck, func() error {
		var err error
		cs, err = connectAll(ctx, cr.t, n, ec.handler)
		return err
	}); err != nil {
		return err
	}
	ck := &Checks{}
	p := newPairing(cs, names(n))
	if err := cr.phase(ctx, "join", n, ck, func() error {
		_, err := joinAndPair(ctx, p, 50*time.Millisecond, ck)
		return err
	}); err != nil {
		return err
	}
	for _, c := range cs {
		c.SetHandler(ec.handler)
	}
	pairs := p.pairs()
	half := max(cr.o.Messages/2, 1)
	rck := &Checks{}
	rck.Pass("all relayed")
	if err := cr.phase(ctx, "relay", 2*half*len(pairs), rck, func() error {
		for _, pr := range pairs {
			a, b := cs[pr[0]], cs[pr[1]]
			for k := range half {
				if err := a.Emit("signal", signalOut{To: b.SID, Data: ice{Kind: "ping", Seq: uint64(k), Type: "candidate", Candidate: candidate}}); err != nil {
					return err
				}
				if err := b.Emit("chat-message", chatOut{Message: "hello"}); err != nil {
					return err
				}
			}
		}
		werr := errors.Join(ec.waitFor(ctx, "signal", half*len(pairs), 50*time.Millisecond),
			ec.waitFor(ctx, "chat-message", half*len(pairs), 50*time.Millisecond))
		if werr != nil {
			rck.Failf("all relayed", "%v", werr)
		}
		return nil
	}); err != nil {
		return err
	}
	// next: every initiator presses next once; everybody is requeued and
	// matched again.
	m0 := ec.count("matched")
	nck := &Checks{}
	nck.Pass("one partner-left per next")
	if err := cr.phase(ctx, "next", len(pairs), nck, func() error {
		for _, pr := range pairs {
			if err := cs[pr[0]].Emit("next", nil); err != nil {
				return err
			}
		}
		if err := ec.waitFor(ctx, "partner-left", len(pairs), 0); err != nil {
			nck.Failf("one partner-left per next", "%v", err)
			return nil
		}
		// Rematching everyone may be impossible for the last few (no
		// immediate rematch); wait for most, then for quiet.
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
		defer wcancel()
		_ = ec.waitFor(wctx, "matched", m0+n-4, 100*time.Millisecond)
		if got := ec.count("partner-left"); got != len(pairs) {
			nck.Failf("one partner-left per next", "%d partner-left for %d nexts", got, len(pairs))
		}
		return nil
	}); err != nil {
		return err
	}
	pl0 := ec.count("partner-left")
	lck := &Checks{}
	lck.Pass("server healthy after")
	if err := cr.phase(ctx, "leave", n, lck, func() error {
		for _, c := range cs {
			if err := c.Emit("leave-queue", nil); err != nil {
				return err
			}
		}
		wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
		defer wcancel()
		_ = ec.waitFor(wctx, "partner-left", pl0+1, 100*time.Millisecond)
		if !cr.t.Server.Healthy(ctx) {
			lck.Failf("server healthy after", "GET /health is not 200")
		}
		return nil
	}); err != nil {
		return err
	}
	// disconnect: fresh paired clients, then all close.
	cs2, err := connectAll(ctx, cr.t, n, nil)
	if err != nil {
		return fmt.Errorf("cost: %w", err)
	}
	defer func() { closeAll(cs2) }()
	p2 := newPairing(cs2, names(n))
	if _, err := joinAndPair(ctx, p2, 50*time.Millisecond, &Checks{}); err != nil {
		return fmt.Errorf("cost: %w", err)
	}
	dck := &Checks{}
	dck.Pass("server healthy after")
	return cr.phase(ctx, "disconnect", n, dck, func() error {
		closeAll(cs2)
		select {
		case <-time.After(400 * time.Millisecond):
		case <-ctx.Done():
		}
		if !cr.t.Server.Healthy(ctx) {
			dck.Failf("server healthy after", "GET /health is not 200")
		}
		return nil
	})
}
