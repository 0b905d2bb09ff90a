package memory

import (
	"context"
	"time"

	"github.com/zivro/zivro/queue"
)

// blockSet is the blocks of one address: members as queue.BlockMember
// makes them, all expiring together (a Redis set with a TTL).
type blockSet struct {
	members map[string]struct{}
	expires time.Time
}

// Block implements queue.Store.
func (s *Store) Block(ctx context.Context, by, target queue.Peer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	_, paired := s.rooms[by.ID]
	if !paired && !s.queued[by.ID] && !s.hasProfile(by.ID, now) {
		return queue.ErrNotJoined
	}
	s.addBlock(by.Addr, queue.BlockMember(by.ID, by.Addr, target.ID, target.Addr), now)
	s.addBlock(target.Addr, queue.BlockMember(target.ID, target.Addr, by.ID, by.Addr), now)
	return s.next(by.ID, now)
}

func (s *Store) addBlock(addr, member string, now time.Time) {
	b := s.blocks[addr]
	if b == nil || !now.Before(b.expires) {
		b = &blockSet{members: make(map[string]struct{})}
		s.blocks[addr] = b
	}
	if _, ok := b.members[member]; !ok && len(b.members) >= queue.MaxBlocks {
		for m := range b.members { // a random one, as SPOP
			delete(b.members, m)
			break
		}
	}
	b.members[member] = struct{}{}
	b.expires = now.Add(s.opts.BlockTTL)
}

func (s *Store) blocked(c, d *candidate, now time.Time) bool {
	b := s.blocks[c.addr]
	if b == nil || !now.Before(b.expires) {
		return false
	}
	_, ok := b.members[queue.BlockMember(c.id, c.addr, d.id, d.addr)]
	return ok
}

// Report implements queue.Store: the report is kept for moderators (see
// moderation.go), with its evidence, and counted.
func (s *Store) Report(ctx context.Context, r queue.Report) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.keepReport(r, now)
	by := s.reports[r.Reported.Addr]
	if by == nil {
		by = make(map[string]time.Time)
		s.reports[r.Reported.Addr] = by
	}
	for a, at := range by {
		if now.Sub(at) >= s.opts.ReportWindow {
			delete(by, a)
		}
	}
	by[r.Reporter.ReporterNet()] = now
	if len(by) < s.opts.ReportThreshold {
		return false, nil
	}
	delete(s.reports, r.Reported.Addr)
	s.coolDowns[r.Reported.Addr] = now.Add(s.opts.CoolDown)
	return true, nil
}
