// Package ratelog bounds how many lines of one kind a server logs: a client
// that makes the server log a line per request (a refusal, a failed store
// call) could otherwise fill the disk and bury every other line. Lines of
// one kind are those with the same level and message.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits say how many lines of one kind pass.
type Limits struct {
	// PerSecond is how many lines of one kind pass per second, on average;
	// Burst how many pass at once after a quiet while. Defaults
	// defaultPerSecond and defaultBurst.
	PerSecond float64
	Burst     int
	// Report is how long after the first suppressed line of a kind the
	// count of suppressed lines is logged. Default defaultReport.
	Report time.Duration
}

// Defaults of Limits.
const (
	defaultPerSecond = 10
	defaultBurst     = 50
	defaultReport    = 5 * time.Second
)

func (l Limits) withDefaults() Limits {
	if l.PerSecond <= 0 {
		l.PerSecond = defaultPerSecond
	}
	if l.Burst <= 0 {
		l.Burst = defaultBurst
	}
	if l.Report <= 0 {
		l.Report = defaultReport
	}
	return l
}

// Handler passes records to another handler within Limits. The lines it
// suppresses are counted, and a line of the same level and message with
// the attribute "suppressed" (their number) follows within Limits.Report.
type Handler struct {
	next  slog.Handler
	state *state // shared by the handlers WithAttrs and WithGroup derive
}

type state struct {
	limits Limits
	// root reports the suppressed counts, without the attributes of the
	// derived handler whose line was suppressed (one connection's id, say).
	root  slog.Handler
	mu    sync.Mutex
	kinds map[kind]*kindState
}

type kind struct {
	level slog.Level
	msg   string
}

type kindState struct {
	limiter    *rate.Limiter
	suppressed int
	reporting  bool // a report of the suppressed count is scheduled
}

// New returns a handler that passes to next within limits (zero fields
// take the defaults).
func New(next slog.Handler, limits Limits) *Handler {
	return &Handler{next: next, state: &state{limits: limits.withDefaults(), root: next, kinds: map[kind]*kindState{}}}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle implements slog.Handler: it passes r unless too many lines of its
// kind have passed lately.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	k := kind{level: r.Level, msg: r.Message}
	s := h.state
	s.mu.Lock()
	ks := s.kinds[k]
	if ks == nil {
		ks = &kindState{limiter: rate.NewLimiter(rate.Limit(s.limits.PerSecond), s.limits.Burst)}
		s.kinds[k] = ks
	}
	at := r.Time
	if at.IsZero() {
		at = time.Now()
	}
	if ks.limiter.AllowN(at, 1) {
		s.mu.Unlock()
		return h.next.Handle(ctx, r)
	}
	ks.suppressed++
	schedule := !ks.reporting
	ks.reporting = true
	s.mu.Unlock()
	if schedule {
		time.AfterFunc(s.limits.Report, func() { s.report(k, ks) })
	}
	return nil
}

// report logs how many lines of kind k were suppressed since the last report.
func (s *state) report(k kind, ks *kindState) {
	s.mu.Lock()
	n := ks.suppressed
	ks.suppressed = 0
	ks.reporting = false
	s.mu.Unlock()
	r := slog.NewRecord(time.Now(), k.level, k.msg, 0)
	r.AddAttrs(slog.Int("suppressed", n), slog.Float64("suppressed_over_s", s.limits.Report.Seconds()))
	_ = s.root.Handle(context.Background(), r)
}

// WithAttrs implements slog.Handler; the new handler shares the limits.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs), state: h.state}
}

// WithGroup implements slog.Handler; the new handler shares the limits.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), state: h.state}
}
