package memory

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/zivro/zivro/queue"
)

// maxReports bounds the reports kept, as the Redis store's stream is
// capped.
const maxReports = 10000

// moderation is what the store keeps for moderators; under Store.mu.
type moderation struct {
	reports []keptReport // oldest first, at most maxReports
	seq     int          // the last report's number, for ids
	// withEvidence are the indexes (report numbers) of the reports whose
	// evidence is kept, oldest first, at most StoreOptions.EvidenceKeep.
	withEvidence []int
	bans         map[string]queue.Ban
	dismissed    map[string]time.Time
	audit        []queue.AuditEntry // oldest first
}

type keptReport struct {
	n int
	r queue.Report
	// evidenceUntil is when its evidence goes (zero: none kept).
	evidenceUntil time.Time
}

func newModeration() moderation {
	return moderation{bans: make(map[string]queue.Ban), dismissed: make(map[string]time.Time)}
}

// keepReport keeps r, and its evidence within the bounds. Under s.mu.
func (s *Store) keepReport(r queue.Report, now time.Time) {
	m := &s.mod
	m.seq++
	r.At = now
	k := keptReport{n: m.seq, r: r}
	if r.Evidence != nil {
		k.evidenceUntil = now.Add(s.opts.EvidenceTTL)
		m.withEvidence = append(m.withEvidence, m.seq)
		for len(m.withEvidence) > s.opts.EvidenceKeep {
			m.dropEvidence(m.withEvidence[0])
			m.withEvidence = m.withEvidence[1:]
		}
	}
	m.reports = append(m.reports, k)
	if len(m.reports) > maxReports {
		m.reports = slices.Delete(m.reports, 0, len(m.reports)-maxReports)
	}
}

func (m *moderation) dropEvidence(n int) {
	for i := range m.reports {
		if m.reports[i].n == n {
			m.reports[i].r.Evidence = nil
			m.reports[i].evidenceUntil = time.Time{}
			return
		}
	}
}

// kept is k as the moderators see it at now: its evidence only while kept.
func (k keptReport) kept(now time.Time, withEvidence bool) queue.KeptReport {
	r := k.r
	has := r.Evidence != nil && now.Before(k.evidenceUntil)
	if !has || !withEvidence {
		r.Evidence = nil
	}
	return queue.KeptReport{ID: strconv.Itoa(k.n), Report: r, HasEvidence: has}
}

// Reports implements queue.Moderation.
func (s *Store) Reports(ctx context.Context, limit int) ([]queue.KeptReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var out []queue.KeptReport
	for i := len(s.mod.reports) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, s.mod.reports[i].kept(now, false))
	}
	return out, nil
}

// ReportsAbout implements queue.Moderation.
func (s *Store) ReportsAbout(ctx context.Context, addr string) ([]queue.KeptReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var out []queue.KeptReport
	for i := len(s.mod.reports) - 1; i >= 0; i-- {
		if k := s.mod.reports[i]; k.r.Reported.Addr == addr {
			out = append(out, k.kept(now, true))
		}
	}
	return out, nil
}

// Standings implements queue.Moderation.
func (s *Store) Standings(ctx context.Context, addrs []string) (map[string]queue.Standing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	out := make(map[string]queue.Standing, len(addrs))
	for _, a := range addrs {
		var st queue.Standing
		if end, ok := s.coolDowns[a]; ok && now.Before(end) {
			st.CoolDownUntil = end
		}
		if b, ok := s.mod.bans[a]; ok && b.Active(now) {
			st.Ban = &b
		}
		st.DismissedAt = s.mod.dismissed[a]
		out[a] = st
	}
	return out, nil
}

// Ban implements queue.Moderation.
func (s *Store) Ban(ctx context.Context, b queue.Ban) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mod.bans[b.Addr] = b
	s.emit(queue.Event{Kind: queue.EventBanned, Addr: b.Addr})
	return nil
}

// Banned implements queue.Moderation.
func (s *Store) Banned(ctx context.Context, addr string) (queue.Ban, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.mod.bans[addr]
	if ok && !b.Active(time.Now()) {
		delete(s.mod.bans, addr)
		ok = false
	}
	return b, ok, nil
}

// Lift implements queue.Moderation.
func (s *Store) Lift(ctx context.Context, addr string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.mod.bans[addr]
	delete(s.mod.bans, addr)
	return ok && b.Active(time.Now()), nil
}

// Bans implements queue.Moderation.
func (s *Store) Bans(ctx context.Context) ([]queue.Ban, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var out []queue.Ban
	for a, b := range s.mod.bans {
		if !b.Active(now) {
			delete(s.mod.bans, a)
			continue
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b queue.Ban) int { return b.At.Compare(a.At) })
	return out, nil
}

// LiftCoolDown implements queue.Moderation.
func (s *Store) LiftCoolDown(ctx context.Context, addr string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	end, ok := s.coolDowns[addr]
	delete(s.coolDowns, addr)
	delete(s.reports, addr)
	return ok && time.Now().Before(end), nil
}

// Dismiss implements queue.Moderation.
func (s *Store) Dismiss(ctx context.Context, addr string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mod.dismissed[addr] = at
	return nil
}

// Audit implements queue.Moderation.
func (s *Store) Audit(ctx context.Context, e queue.AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mod.audit = append(s.mod.audit, e)
	if len(s.mod.audit) > queue.MaxAuditEntries {
		s.mod.audit = slices.Delete(s.mod.audit, 0, len(s.mod.audit)-queue.MaxAuditEntries)
	}
	return nil
}

// AuditLog implements queue.Moderation.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]queue.AuditEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []queue.AuditEntry
	for i := len(s.mod.audit) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, s.mod.audit[i])
	}
	return out, nil
}

// expireEvidence forgets the evidence past its TTL (Sweep).
func (m *moderation) expireEvidence(now time.Time) {
	m.withEvidence = slices.DeleteFunc(m.withEvidence, func(n int) bool {
		for i := range m.reports {
			if k := &m.reports[i]; k.n == n {
				if now.Before(k.evidenceUntil) {
					return false
				}
				k.r.Evidence, k.evidenceUntil = nil, time.Time{}
				return true
			}
		}
		return true // the report itself is gone
	})
}
