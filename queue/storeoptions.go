package queue

// What every Store implementation must apply the same way: its options and
// their defaults, and the matching rules that make two stores pair the same
// users (the scan window, common interests, how a block is kept). They live
// beside the Store interface they tune; the implementations are in
// store/memory and store/redisstore.

import (
	"slices"
	"time"
)

// Defaults the original server used.
const (
	DefaultProfileTTL    = 10 * time.Minute
	DefaultRematchWindow = 120 * time.Second
)

// Defaults of the rules this server adds: interests, blocks, reports.
const (
	DefaultInterestWait    = 5 * time.Second
	DefaultBlockTTL        = 7 * 24 * time.Hour
	DefaultReportWindow    = 10 * time.Minute
	DefaultReportThreshold = 3
	DefaultCoolDown        = 15 * time.Minute
)

// Defaults of the held sessions' bounds (StoreOptions): a household or an
// office behind one address has a few users blipping at once, not more; a
// call's signalling during a few seconds' drop is tens of frames (ICE
// candidates, media state, chat), far below 256 frames and 512 KiB.
const (
	DefaultMaxHeldPerAddr = 8
	DefaultMaxKeptFrames  = 256
	DefaultMaxKeptBytes   = 512 << 10
)

// MaxBlocks bounds the blocks kept for one address: beyond it, a new block
// pushes out one of the others. A user has to be paired with someone to
// block them, so this is only reached by someone blocking all day.
const MaxBlocks = 500

// ScanWindow bounds how many queue entries from the head one matching round
// looks at, so that a long queue does not make every state change slow. Both
// stores use the same bound so that they pair the same users.
const ScanWindow = 200

// StoreOptions tune a Store. The zero value means the defaults.
type StoreOptions struct {
	// ProfileTTL is how long a profile lives without Join or Refresh.
	ProfileTTL time.Duration
	// RematchWindow is how long two users who were paired are kept apart.
	RematchWindow time.Duration
	// InterestWait is how long a user with interests or a language waits
	// for someone sharing one before being paired with anyone.
	InterestWait time.Duration
	// BlockTTL is how long a block is kept after the last block of its
	// address.
	BlockTTL time.Duration
	// ReportWindow, ReportThreshold and CoolDown: reporters from
	// ReportThreshold distinct addresses within ReportWindow put the
	// reported address in a cool-down of CoolDown.
	ReportWindow    time.Duration
	ReportThreshold int
	CoolDown        time.Duration
	// MaxHeldPerAddr bounds the held sessions (see HeldSessions) of one
	// address at once; MaxKeptFrames and MaxKeptBytes the frames kept for
	// one held session.
	MaxHeldPerAddr int
	MaxKeptFrames  int
	MaxKeptBytes   int
	// EvidenceKeep is how many of the latest reports keep their evidence;
	// EvidenceTTL how long at most.
	EvidenceKeep int
	EvidenceTTL  time.Duration
}

// WithDefaults returns o with every zero or negative field set to its default.
func (o StoreOptions) WithDefaults() StoreOptions {
	if o.ProfileTTL <= 0 {
		o.ProfileTTL = DefaultProfileTTL
	}
	if o.RematchWindow <= 0 {
		o.RematchWindow = DefaultRematchWindow
	}
	if o.InterestWait <= 0 {
		o.InterestWait = DefaultInterestWait
	}
	if o.BlockTTL <= 0 {
		o.BlockTTL = DefaultBlockTTL
	}
	if o.ReportWindow <= 0 {
		o.ReportWindow = DefaultReportWindow
	}
	if o.ReportThreshold <= 0 {
		o.ReportThreshold = DefaultReportThreshold
	}
	if o.CoolDown <= 0 {
		o.CoolDown = DefaultCoolDown
	}
	if o.MaxHeldPerAddr <= 0 {
		o.MaxHeldPerAddr = DefaultMaxHeldPerAddr
	}
	if o.MaxKeptFrames <= 0 {
		o.MaxKeptFrames = DefaultMaxKeptFrames
	}
	if o.MaxKeptBytes <= 0 {
		o.MaxKeptBytes = DefaultMaxKeptBytes
	}
	if o.EvidenceKeep <= 0 {
		o.EvidenceKeep = DefaultEvidenceKeep
	}
	if o.EvidenceTTL <= 0 {
		o.EvidenceTTL = DefaultEvidenceTTL
	}
	return o
}

// CommonInterests returns the tags of a that b has too, in a's order. Tags are
// already lower-cased and unique (the handler cleans them).
func CommonInterests(a, b []string) []string {
	var common []string
	for _, t := range a {
		if slices.Contains(b, t) {
			common = append(common, t)
		}
	}
	return common
}

// BlockMember is what a block of a and b is kept as in the blocks of a's
// address: b's address, or, when both share one, the two socket ids (in
// order, so that either side finds it).
func BlockMember(a, aAddr, b, bAddr string) string {
	if aAddr != bAddr {
		return bAddr
	}
	if b < a {
		a, b = b, a
	}
	return "=" + a + " " + b
}
