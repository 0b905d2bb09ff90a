package clientaddr

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Table holds one entry per client address (Key), for the limits
// that count per address. It must not grow with every address that ever
// came: once it has doubled since the last sweep (and holds at least
// minSweep), a new address first sweeps away the entries that forgettable
// reports, so the table holds only addresses active within about the
// limits' window. The caller holds the table's lock (Lock, Unlock) around Entry and
// every use of an entry.
type Table[E any] struct {
	mu      sync.Mutex
	entries map[netip.Prefix]*E
	// sweepAt is the table size at which forgettable entries are removed.
	sweepAt int

	newEntry    func() *E
	forgettable func(e *E, now time.Time) bool
}

// Lock locks the table, for Entry and the use of an entry.
func (t *Table[E]) Lock() { t.mu.Lock() }

// Unlock unlocks the table.
func (t *Table[E]) Unlock() { t.mu.Unlock() }

// minSweep is the smallest table size that triggers a sweep.
const minSweep = 1024

// NewTable returns an empty table: newEntry makes the entry of a new
// address, forgettable says whether an entry may be swept away at now.
func NewTable[E any](newEntry func() *E, forgettable func(*E, time.Time) bool) *Table[E] {
	return &Table[E]{entries: map[netip.Prefix]*E{}, sweepAt: minSweep, newEntry: newEntry, forgettable: forgettable}
}

// Entry returns key's entry, made when the address is new. t's lock must be
// held.
func (t *Table[E]) Entry(key netip.Prefix, now time.Time) *E {
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

// PerMinute is a budget of n events a minute, all n at once after a quiet
// minute.
func PerMinute(n int) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(float64(n)/60), n)
}

// Refilled reports whether l's budget is whole again at now: forgetting it
// then loses nothing, as a new one starts whole.
func Refilled(l *rate.Limiter, now time.Time) bool {
	return l.TokensAt(now) >= float64(l.Burst())
}

// Rates is a request budget per address.
type Rates struct {
	table *Table[rate.Limiter]
}

// NewRates returns a budget of n requests a minute per address.
func NewRates(n int) *Rates {
	return &Rates{table: NewTable(func() *rate.Limiter { return PerMinute(n) }, Refilled)}
}

// Allow takes one request of key from its budget, if any is left.
func (a *Rates) Allow(key netip.Prefix, now time.Time) bool {
	a.table.mu.Lock()
	defer a.table.mu.Unlock()
	return a.table.Entry(key, now).AllowN(now, 1)
}
