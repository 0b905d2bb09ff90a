// Package store holds what the two implementations of queue.Store share: their
// options, the room id scheme, and (in storetest) the conformance suite both
// must pass. The implementations live in store/memory (one process, tests and
// single-instance deployments) and store/redis (several instances sharing one
// Redis, key names compatible with the original Node.js server).
package store

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Defaults the original server used.
const (
	DefaultProfileTTL    = 10 * time.Minute
	DefaultRematchWindow = 120 * time.Second
)

// ScanWindow bounds how many queue entries from the head one matching round
// looks at, so that a long queue does not make every state change slow. Both
// stores use the same bound so that they pair the same users.
const ScanWindow = 200

// Options tune a store. The zero value means the defaults.
type Options struct {
	// ProfileTTL is how long a profile lives without Join or Refresh.
	ProfileTTL time.Duration
	// RematchWindow is how long two users who were paired are kept apart.
	RematchWindow time.Duration
}

// WithDefaults returns o with every zero or negative field set to its default.
func (o Options) WithDefaults() Options {
	if o.ProfileTTL <= 0 {
		o.ProfileTTL = DefaultProfileTTL
	}
	if o.RematchWindow <= 0 {
		o.RematchWindow = DefaultRematchWindow
	}
	return o
}

// Nonce returns 16 random hex digits. A store prefixes the room ids of one
// state change with a fresh nonce and numbers them after it, so room ids are
// unique across instances and restarts without a shared counter or a clock;
// the stores also use nonces to name incarnations.
func Nonce() string {
	var b [8]byte
	// crypto/rand.Read never returns an error since Go 1.24 (it crashes the
	// program instead when the system has no randomness).
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
