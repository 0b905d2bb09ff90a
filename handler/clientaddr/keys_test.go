package clientaddr

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestAddressKeys(t *testing.T) {
	k := NewAddressKeys([]byte("secret"))
	key := func(addr string) Keys {
		keys, err := k.Keys(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	tests := []struct {
		name       string
		a, b       string
		addr, netw bool // whether the two share the address key, the network key
	}{
		{"IPv4 with a port", "203.0.113.7", "203.0.113.7:51234", true, true},
		{"IPv4-mapped", "203.0.113.7", "::ffff:203.0.113.7", true, true},
		{"IPv6 of one /64", "2001:db8:1:2::1", "[2001:db8:1:2:aaaa::9]:443", true, true},
		{"IPv6 zone", "2001:db8:1:2::1", "2001:db8:1:2::1%eth0", true, true},
		{"IPv4 neighbours: two reporters", "203.0.113.7", "203.0.113.8", false, false},
		{"IPv6 /64s of one /48: one reporter", "2001:db8:1:2::1", "2001:db8:1:3::1", false, true},
		{"IPv6 /48s", "2001:db8:1:2::1", "2001:db8:2:2::1", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := key(tt.a), key(tt.b)
			if (a.Addr == b.Addr) != tt.addr {
				t.Errorf("address keys of %q and %q: same %v, want %v", tt.a, tt.b, a.Addr == b.Addr, tt.addr)
			}
			if (a.Net == b.Net) != tt.netw {
				t.Errorf("network keys of %q and %q: same %v, want %v", tt.a, tt.b, a.Net == b.Net, tt.netw)
			}
		})
	}
	other, _ := NewAddressKeys([]byte("other")).Keys(context.Background(), "203.0.113.7")
	if got := key("203.0.113.7"); got.Addr == other.Addr || got.Net == other.Net {
		t.Error("the keys do not depend on the secret")
	}
	if got := key("203.0.113.7"); len(got.Addr) != 32 || len(got.Net) != 32 || got.Addr == got.Net {
		t.Errorf("keys %+v: want 32 hex digits each, two different keys", got)
	}
}

// A secret kept in the store is loaded when first needed, again after a
// failure (the store was down), not again until it is due for a check;
// the keys are those of the secret.
func TestStoredAddressKeys(t *testing.T) {
	var calls atomic.Int32
	down := errors.New("store down")
	k := NewStoredAddressKeys(func(ctx context.Context, proposed []byte) ([]byte, error) {
		if calls.Add(1) == 1 {
			return nil, down
		}
		return []byte("kept"), nil
	}, time.Hour)
	if _, ok := k.KnownKeys("203.0.113.7"); ok {
		t.Fatal("keys known before the secret was loaded")
	}
	ctx := context.Background()
	if _, err := k.Keys(ctx, "203.0.113.7"); !errors.Is(err, down) {
		t.Fatalf("Keys with the store down: %v, want its error", err)
	}
	got, err := k.Keys(ctx, "203.0.113.7")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := NewAddressKeys([]byte("kept")).Keys(ctx, "203.0.113.7")
	if got != want {
		t.Fatalf("keys %+v, want the stored secret's %+v", got, want)
	}
	if known, ok := k.KnownKeys("203.0.113.7"); !ok || known != want {
		t.Fatalf("KnownKeys %+v %v after the load", known, ok)
	}
	for range 3 {
		_, _ = k.Keys(ctx, "198.51.100.1")
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d loads, want 2 (one failed, one kept)", n)
	}
	// A caller waiting for a load gives up with its context.
	blocked := NewStoredAddressKeys(func(ctx context.Context, _ []byte) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}, time.Hour)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := blocked.Keys(short, "203.0.113.7"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Keys with a load that never ends: %v", err)
	}
}

// Once known, the secret is checked against the store every checkEvery,
// proposing the known one: after the store lost it, the instance writes
// it back; when the store holds another (written by an instance that
// started meanwhile), the instance takes that one. A failed check keeps
// the known secret.
func TestStoredAddressKeysAreChecked(t *testing.T) {
	var (
		stored    atomic.Pointer[string]
		proposals []string
		fail      atomic.Bool
	)
	k := NewStoredAddressKeys(func(ctx context.Context, proposed []byte) ([]byte, error) {
		if fail.Load() {
			return nil, errors.New("store down")
		}
		proposals = append(proposals, string(proposed))
		if proposed == nil {
			proposed = []byte("first")
		}
		p := string(proposed)
		stored.CompareAndSwap(nil, &p) // SET NX
		return []byte(*stored.Load()), nil
	}, time.Millisecond)
	ctx := context.Background()
	secretKeys := func(s string) Keys { keys, _ := NewAddressKeys([]byte(s)).Keys(ctx, "203.0.113.7"); return keys }
	check := func(want string) {
		t.Helper()
		time.Sleep(2 * time.Millisecond) // due for a check
		if got, err := k.Keys(ctx, "203.0.113.7"); err != nil || got != secretKeys(want) {
			t.Fatalf("keys %+v %v, want secret %q's", got, err, want)
		}
	}
	check("first")
	stored.Store(nil) // the store lost its data
	check("first")
	if s := stored.Load(); s == nil || *s != "first" {
		t.Fatalf("the known secret was not written back: %v", s)
	}
	other := "second"
	stored.Store(&other) // another instance wrote one meanwhile
	check("second")
	fail.Store(true)
	check("second")
	if want := []string{"", "first", "first"}; len(proposals) != 3 || proposals[0] != want[0] || proposals[1] != want[1] || proposals[2] != want[2] {
		t.Fatalf("proposals %q, want %q", proposals, want)
	}
}
