package queue

import (
	"context"
	"errors"
	"time"
)

// Moderation: what moderators read and decide. Reports (with the evidence
// a reporter chose to attach) are kept for them; a ban refuses an
// address's joins and drops its connected users on every instance (the
// store announces it in its event stream, EventBanned); cool-downs can be
// lifted; reports can be dismissed; every action is kept in an audit log.

// Evidence is what a reporter saw, attached to its report when it chose
// to: the last chat lines of the call, both sides, and a small still of
// the partner's video. The handler checks its shape and bounds (see
// MaxEvidenceLines); the stores keep it only for the last
// StoreOptions.EvidenceKeep reports and at most StoreOptions.EvidenceTTL,
// and it is never logged.
type Evidence struct {
	Lines []EvidenceLine `json:"lines,omitempty"`
	// Still is a JPEG (at most MaxStillBytes, MaxStillWidth ×
	// MaxStillHeight), nil when none.
	Still []byte `json:"still,omitempty"`
}

// EvidenceLine is one chat line as the reporter's client showed it.
type EvidenceLine struct {
	// Mine: the reporter wrote it; else the reported partner did.
	Mine bool   `json:"mine"`
	Text string `json:"text"`
	// At is when the client showed it (ms since the epoch), 0 when unknown.
	At int64 `json:"at,omitempty"`
}

// The bounds of one report's evidence. A line's bound keeps the whole
// report event (lines and still as base64) inside one Socket.IO message.
const (
	MaxEvidenceLines     = 20
	MaxEvidenceLineChars = 300
	MaxStillBytes        = 12 << 10
	MaxStillWidth        = 160
	MaxStillHeight       = 120
)

// Defaults of the evidence's keeping (StoreOptions).
const (
	DefaultEvidenceKeep = 1000
	DefaultEvidenceTTL  = 7 * 24 * time.Hour
)

// MaxAuditEntries bounds the audit log: older entries are dropped (years of
// a busy service's moderation).
const MaxAuditEntries = 100000

// KeptReport is a report as the store kept it.
type KeptReport struct {
	// ID names the report (the store's, in time order).
	ID string `json:"id"`
	// Report's Evidence is nil when none was attached, when it has
	// expired, and in a list (see Moderation.Reports).
	Report
	// HasEvidence: evidence was attached and is still kept.
	HasEvidence bool `json:"hasEvidence"`
}

// Ban refuses an address's joins until Until (zero: until lifted).
type Ban struct {
	Addr  string    `json:"key"`
	Until time.Time `json:"until"`
	Note  string    `json:"note,omitempty"`
	By    string    `json:"by"`
	At    time.Time `json:"at"`
}

// Active reports whether the ban holds at now.
func (b Ban) Active(now time.Time) bool { return b.Until.IsZero() || now.Before(b.Until) }

// Standing is what the store holds against one address now.
type Standing struct {
	// CoolDownUntil is the end of its cool-down, zero when none.
	CoolDownUntil time.Time
	// Ban is its ban, nil when none.
	Ban *Ban
	// DismissedAt is when a moderator last dismissed its reports, zero
	// when never: reports up to then have been reviewed.
	DismissedAt time.Time
}

// AuditEntry is one moderator action.
type AuditEntry struct {
	At time.Time `json:"at"`
	// By is the label of the token the moderator used.
	By string `json:"by"`
	// Action is "ban", "lift", "dismiss" or "lift-cool-down".
	Action string `json:"action"`
	Addr   string `json:"key"`
	// Note is the ban's note, or "" (never evidence).
	Note       string `json:"note,omitempty"`
	DurationMs int64  `json:"durationMs,omitempty"`
}

// BannedError refuses a join from a banned address; Is(ErrBanned) holds.
type BannedError struct {
	// Until is when the ban ends, zero when it lasts until lifted.
	Until time.Time
}

// ErrBanned is what every BannedError is.
var ErrBanned = errors.New("this address is banned")

func (e *BannedError) Error() string {
	if e.Until.IsZero() {
		return ErrBanned.Error()
	}
	return ErrBanned.Error() + " until " + e.Until.UTC().Format(time.RFC3339)
}

// Is makes errors.Is(err, ErrBanned) hold.
func (e *BannedError) Is(target error) bool { return target == ErrBanned }

// Moderation is the part of a Store that keeps what moderators read and
// decide. Each method is one atomic step.
type Moderation interface {
	// Reports returns the kept reports, newest first, at most limit,
	// without their evidence (HasEvidence says whether it is kept).
	Reports(ctx context.Context, limit int) ([]KeptReport, error)
	// ReportsAbout returns the kept reports about addr, newest first,
	// with their evidence while it is kept.
	ReportsAbout(ctx context.Context, addr string) ([]KeptReport, error)
	// Standings returns the standing of each address.
	Standings(ctx context.Context, addrs []string) (map[string]Standing, error)

	// Ban records b (replacing a ban of the same address) and announces
	// EventBanned (Addr) in the event stream, so that every instance
	// drops the address's users. Joins of b.Addr are refused until it
	// ends or is lifted.
	Ban(ctx context.Context, b Ban) error
	// Banned returns addr's ban while it holds.
	Banned(ctx context.Context, addr string) (Ban, bool, error)
	// Lift ends addr's ban; false when there was none.
	Lift(ctx context.Context, addr string) (bool, error)
	// Bans returns the bans that hold, newest first.
	Bans(ctx context.Context) ([]Ban, error)
	// LiftCoolDown ends addr's cool-down and its count of recent
	// reporters; false when it was not cooling down.
	LiftCoolDown(ctx context.Context, addr string) (bool, error)
	// Dismiss marks addr's reports up to at as reviewed.
	Dismiss(ctx context.Context, addr string, at time.Time) error

	// Audit appends e to the audit log (at most MaxAuditEntries kept).
	Audit(ctx context.Context, e AuditEntry) error
	// AuditLog returns the newest entries first, at most limit.
	AuditLog(ctx context.Context, limit int) ([]AuditEntry, error)
}
