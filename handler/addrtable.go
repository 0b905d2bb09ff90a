package handler

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// addrTable holds one entry per client address (AddrKey), for the limits
// that count per address. It must not grow with every address that ever
// came: once it has doubled since the last sweep (and holds at least
// minSweep), a new address first sweeps away the entries that forgettable
// reports, so the table holds only addresses active within about the
// limits' window. The caller holds mu around entry and every use of an
// entry.
type addrTable[E any] struct {
	mu      sync.Mutex
	entries map[netip.Prefix]*E
	// sweepAt is the table size at which forgettable entries are removed.
	sweepAt int

	newEntry    func() *E
	forgettable func(e *E, now time.Time) bool
}

// minSweep is the smallest table size that triggers a sweep.
const minSweep = 1024

func newAddrTable[E any](newEntry func() *E, forgettable func(*E, time.Time) bool) *addrTable[E] {
	return &addrTable[E]{entries: map[netip.Prefix]*E{}, sweepAt: minSweep, newEntry: newEntry, forgettable: forgettable}
}

// entry returns key's entry, made when the address is new. t.mu must be
// held.
func (t *addrTable[E]) entry(key netip.Prefix, now time.Time) *E {
	if e := t.entries[key]; e != nil {
		return e
	}
	if len(t.entries) >= t.sweepAt {
		for k, e := range t.entries {
			if t.forgettable(e, now) {
				delete(t.entries, k)
			}
		}
		t.sweepAt = max(minSweep, 2*len(t.entries))
	}
	e := t.newEntry()
	t.entries[key] = e
	return e
}

// perMinute is a budget of n events a minute, all n at once after a quiet
// minute.
func perMinute(n int) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(float64(n)/60), n)
}

// refilled reports whether l's budget is whole again at now: forgetting it
// then loses nothing, as a new one starts whole.
func refilled(l *rate.Limiter, now time.Time) bool {
	return l.TokensAt(now) >= float64(l.Burst())
}

// addrRates is a request budget per address.
type addrRates struct {
	table *addrTable[rate.Limiter]
}

func newAddrRates(n int) *addrRates {
	return &addrRates{table: newAddrTable(func() *rate.Limiter { return perMinute(n) }, refilled)}
}

// allow takes one request of key from its budget, if any is left.
func (a *addrRates) allow(key netip.Prefix, now time.Time) bool {
	a.table.mu.Lock()
	defer a.table.mu.Unlock()
	return a.table.entry(key, now).AllowN(now, 1)
}
