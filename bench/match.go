package bench

import (
	"context"
	"fmt"
	"time"
)

// RunMatch connects n clients, then makes all of them emit join-queue at once
// and measures until all are paired: pairs per second, and each client's
// time from its emit to its matched.
func RunMatch(ctx context.Context, t Target, n int) Result {
	ck := &Checks{}
	t, dc := t.counted()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second+time.Duration(n)*10*time.Millisecond)
	defer cancel()
	var lat Latencies
	extra := map[string]float64{}
	total, err := runMatch(ctx, t, n, ck, &lat, extra)
	r := newResult("match", t.Store, n, "pairs/s", ck, err)
	r.Extra = extra
	dc.note(&r)
	r.Latency = lat.Summary()
	if err == nil && total > 0 {
		r.Duration = total.Seconds()
		r.Throughput = float64(n/2) / total.Seconds()
	}
	return r
}

func runMatch(ctx context.Context, t Target, n int, ck *Checks, lat *Latencies, extra map[string]float64) (time.Duration, error) {
	if n%2 != 0 {
		return 0, fmt.Errorf("match: n=%d must be even", n)
	}
	cs, err := connectAll(ctx, t, n, nil)
	if err != nil {
		return 0, fmt.Errorf("match: %w", err)
	}
	defer closeAll(cs)
	p := newPairing(cs, names(n))
	cpu := startCPU(t.Server)
	total, err := joinAndPair(ctx, p, 200*time.Millisecond, ck)
	cpu.record(extra)
	if err != nil {
		return 0, fmt.Errorf("match: %w", err)
	}
	p.mu.Lock()
	for i := range cs {
		if p.got[i] > 0 {
			lat.Add(p.matchedAt[i].Sub(p.emitAt[i]))
		}
	}
	p.mu.Unlock()
	return total, nil
}
