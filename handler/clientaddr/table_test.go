package clientaddr

import (
	"net/netip"
	"testing"
	"time"
)

// TestAddrTablesForgetIdleAddresses fills each per-address table to its
// first sweep, one use per address, then brings a new address: the sweep
// keeps exactly the addresses whose entries still hold something.
func TestAddrTablesForgetIdleAddresses(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	newcomer := Key(netip.MustParseAddr("192.0.2.9"))

	// rates: one /ice-servers request per address.
	rates := func(t *testing.T, later time.Time) int {
		a := NewRates(60)
		for i := range minSweep {
			if !a.Allow(testAddr(i), t0) {
				t.Fatalf("address %d refused its first request", i)
			}
		}
		if !a.Allow(newcomer, later) {
			t.Fatal("the newcomer refused")
		}
		return len(a.table.entries)
	}
	// conns: one connection per address, closed or left open.
	conns := func(open bool) func(*testing.T, time.Time) int {
		return func(t *testing.T, later time.Time) int {
			l := NewLimiter(Limits{MaxConns: 1, NewConnsPerMinute: 60})
			for i := range minSweep {
				release, reason := l.Admit(testAddr(i), t0)
				if release == nil {
					t.Fatalf("address %d refused its first connection: %s", i, reason)
				}
				if !open {
					release()
				}
			}
			if release, reason := l.Admit(newcomer, later); release == nil {
				t.Fatalf("the newcomer refused: %s", reason)
			}
			return len(l.table.entries)
		}
	}

	tests := []struct {
		name     string
		fill     func(t *testing.T, later time.Time) int // the table's size after the newcomer
		later    time.Duration                           // the newcomer's arrival after t0
		wantKept int
	}{
		{"request budgets Refilled: all forgotten", rates, 2 * time.Minute, 1},
		{"request budgets still spent: all kept", rates, 100 * time.Millisecond, minSweep + 1},
		{"connections closed, budgets Refilled: all forgotten", conns(false), 2 * time.Minute, 1},
		{"connections still open: all kept", conns(true), 2 * time.Minute, minSweep + 1},
		{"connections closed, budgets still spent: all kept", conns(false), 100 * time.Millisecond, minSweep + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fill(t, t0.Add(tt.later)); got != tt.wantKept {
				t.Fatalf("%d addresses kept after the newcomer, want %d", got, tt.wantKept)
			}
		})
	}
}

func testAddr(i int) netip.Prefix {
	return Key(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
}
