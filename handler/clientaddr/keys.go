// Package clientaddr knows the client's address: whom to believe about it
// (Config), its keyed hash (AddressKeys), and the tables and budgets kept
// per address (Table, Rates, Limiter).
package clientaddr

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"
)

// AddressKeys turns client addresses into the keys that blocks, cool-downs
// and reports are kept under: a keyed hash, so that Redis and the logs hold
// no address, and one that a reload or a new connection keeps. Every
// instance sharing a store must use the same secret. The zero value hashes
// with an empty secret (tests only).
type AddressKeys struct {
	secret []byte
	// stored, when set, gives the secret instead, loaded on first use.
	stored *storedSecret
}

// Keys are the keys of one client address.
type Keys struct {
	// Addr is the key of the address's Key, the unit the per-address
	// limits count: blocks and cool-downs key on it.
	Addr string
	// Net is the key of its ReporterNet: distinct reporters are counted
	// by it.
	Net string
}

// NewAddressKeys returns the keys for secret.
func NewAddressKeys(secret []byte) AddressKeys { return AddressKeys{secret: secret} }

// NewStoredAddressKeys returns the keys for the secret a deployment keeps
// in its store: load(ctx, proposed) returns the stored secret, storing
// proposed first when there is none (proposed nil: a new random one).
// load is called when a key is first needed, again after each failure,
// so that a store down at start only delays the keys (and the joins,
// which need the store anyway); and once the secret is known, again every
// checkEvery, proposing the known one, so that instances converge on one
// secret again within checkEvery after the store lost its data.
func NewStoredAddressKeys(load func(ctx context.Context, proposed []byte) ([]byte, error), checkEvery time.Duration) AddressKeys {
	return AddressKeys{stored: &storedSecret{load: load, checkEvery: checkEvery, turn: make(chan struct{}, 1)}}
}

// storedSecret is a secret loaded from the store, by one caller at a time.
type storedSecret struct {
	load       func(context.Context, []byte) ([]byte, error)
	checkEvery time.Duration
	known      atomic.Pointer[loadedSecret]
	// turn is held by the caller that loads.
	turn chan struct{}
}

type loadedSecret struct {
	secret []byte
	at     time.Time
}

func (s *storedSecret) fresh() (*loadedSecret, bool) {
	k := s.known.Load()
	return k, k != nil && time.Since(k.at) < s.checkEvery
}

func (s *storedSecret) get(ctx context.Context) ([]byte, error) {
	known, fresh := s.fresh()
	switch {
	case fresh:
		return known.secret, nil
	case known != nil:
		// Due for a check: one caller checks, the others go on with
		// the known secret.
		select {
		case s.turn <- struct{}{}:
		default:
			return known.secret, nil
		}
	default:
		select {
		case s.turn <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("address hash key: %w", ctx.Err())
		}
	}
	defer func() { <-s.turn }()
	if k, fresh := s.fresh(); fresh {
		return k.secret, nil // loaded while this caller waited
	}
	var proposed []byte
	if known != nil {
		proposed = known.secret
	}
	secret, err := s.load(ctx, proposed)
	switch {
	case err == nil:
		s.known.Store(&loadedSecret{secret: secret, at: time.Now()})
		return secret, nil
	case known != nil:
		return known.secret, nil // the next call checks again
	}
	return nil, fmt.Errorf("address hash key: %w", err)
}

// Keys returns the keys of addr (an IP address, with or without a port).
// What is not an address is hashed as it is, for both keys. An error only
// when the secret is kept in the store and cannot be loaded.
func (k AddressKeys) Keys(ctx context.Context, addr string) (Keys, error) {
	secret := k.secret
	if k.stored != nil {
		var err error
		if secret, err = k.stored.get(ctx); err != nil {
			return Keys{}, err
		}
	}
	return keysOf(secret, addr), nil
}

// KnownKeys returns Keys at once, if the secret is known by now (never
// blocking on the store): for a log line.
func (k AddressKeys) KnownKeys(addr string) (Keys, bool) {
	if k.stored == nil {
		return keysOf(k.secret, addr), true
	}
	if known := k.stored.known.Load(); known != nil {
		return keysOf(known.secret, addr), true
	}
	return Keys{}, false
}

func keysOf(secret []byte, addr string) Keys {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		addr = ap.Addr().String()
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		k := hash(secret, addr)
		return Keys{Addr: k, Net: k}
	}
	ip = ip.WithZone("")
	// The address key hashes the address alone (as it always has, so that
	// kept blocks stay valid), the network key its prefix: never the same
	// input.
	return Keys{Addr: hash(secret, Key(ip).Addr().String()), Net: hash(secret, ReporterNet(ip).String())}
}

func hash(secret []byte, s string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(s))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// ReporterNet is the network by which distinct reporters are counted: one
// subscriber's whole share, so that one subscriber is one reporter
// whichever of its addresses it reports from. IPv6: the /48 (an ISP hands a
// subscriber up to a /48, and a /64 each to up to 65,536 of its networks).
// IPv4: the address (/32). A subscriber has one IPv4 address (or shares one
// behind a carrier's NAT, which /32 already merges); a /24 would stop no
// one who can rent addresses (cloud addresses come from many /24s) and
// would merge honest reporters who happen to be neighbours in a provider's
// pool, so that the reports of a carrier's users would count as one.
func ReporterNet(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap()
	if addr.Is4() {
		return netip.PrefixFrom(addr, 32)
	}
	p, _ := addr.Prefix(48)
	return p
}
