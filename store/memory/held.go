package memory

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/zivro/zivro/queue"
)

// heldMargin is how long past its window a held user's profile lives:
// the Redis store's held records live as long (see ../redisstore), so
// that a held user nobody lapses turns into a ghost, never into a user
// who can be paired while its connection is down. Here Lapse and Sweep
// always find it, but the profile follows the same rule.
const heldMargin = time.Minute

// held is one held session (see queue.HeldSessions).
type held struct {
	pidHash, announced, addr, instance string
	// kept are the frames kept, consecutive offsets ending at next-1;
	// empty when lost.
	kept  []queue.KeptFrame
	first uint64 // the offset of kept[0], or next when none is kept
	next  uint64
	bytes int
	// lost: more frames were sent than the bounds keep; Resume gets
	// ErrResumeGap.
	lost bool
	// left is why the partner the client was told of left meanwhile (""
	// when it has not, or nobody knows).
	left     queue.Reason
	deadline time.Time
}

// heldDeadline is one entry of the store's held sessions sorted by the
// end of their window, then by id (as Redis's sorted set orders them).
type heldDeadline struct {
	at time.Time
	id string
}

func compareDeadlines(a, b heldDeadline) int {
	if c := a.at.Compare(b.at); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// Hold implements queue.HeldSessions.
func (s *Store) Hold(ctx context.Context, id string, h queue.HeldSession, window time.Duration) error {
	if err := checkKept(h); err != nil {
		return fmt.Errorf("memory: hold %s: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	n := 0
	for other := range s.heldByAddr[h.Addr] {
		if other != id {
			n++
		}
	}
	if n >= s.opts.MaxHeldPerAddr {
		return queue.ErrTooManyHeld
	}
	s.unhold(id) // a second Hold replaces the first
	hs := &held{pidHash: h.PIDHash, announced: h.Announced, addr: h.Addr, instance: h.Instance,
		next: h.Next, first: h.Next, deadline: now.Add(window)}
	if len(h.Kept) > 0 {
		hs.first = h.Kept[0].Offset
	}
	for _, f := range h.Kept {
		hs.bytes += len(f.Frame)
		hs.kept = append(hs.kept, queue.KeptFrame{Offset: f.Offset, Frame: bytes.Clone(f.Frame)})
	}
	if len(hs.kept) > s.opts.MaxKeptFrames || hs.bytes > s.opts.MaxKeptBytes {
		hs.lost, hs.kept, hs.bytes = true, nil, 0
	}
	s.held[id] = hs
	d := heldDeadline{at: hs.deadline, id: id}
	i, _ := slices.BinarySearchFunc(s.heldDeadlines, d, compareDeadlines)
	s.heldDeadlines = slices.Insert(s.heldDeadlines, i, d)
	byAddr := s.heldByAddr[h.Addr]
	if byAddr == nil {
		byAddr = make(map[string]struct{})
		s.heldByAddr[h.Addr] = byAddr
	}
	byAddr[id] = struct{}{}

	delete(s.members[h.Instance], id)
	if p, ok := s.profiles[id]; ok && now.Before(p.expires) {
		p.expires = hs.deadline.Add(heldMargin)
		s.profiles[id] = p
	}
	if partner, ok := s.rooms[id]; ok && partner != h.Announced {
		// The client never heard of this pairing: end it now rather than
		// keep a partner waiting for a call that was never announced.
		// EventDone: a matched still on its way to id is stale.
		s.dissolve(id, partner, now)
		s.emit(queue.Event{Kind: queue.EventDone, User: id})
		s.partnerLeft(partner, queue.ReasonDisconnect)
		s.enqueue(partner, now)
		s.enqueue(id, now)
		s.match(now)
	}
	return nil
}

// checkKept checks that h's kept frames have consecutive offsets up to
// h.Next: Keep and Resume number frames by their place.
func checkKept(h queue.HeldSession) error {
	for i, f := range h.Kept {
		if f.Offset != h.Next-uint64(len(h.Kept)-i) {
			return fmt.Errorf("kept frame %d has offset %d: want consecutive offsets ending at next %d - 1", i, f.Offset, h.Next)
		}
	}
	return nil
}

// Keep implements queue.HeldSessions.
func (s *Store) Keep(ctx context.Context, id string, frame []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hs := s.held[id]
	if hs == nil {
		return false, nil
	}
	offset := hs.next
	hs.next++
	if hs.lost {
		return true, nil
	}
	if len(hs.kept)+1 > s.opts.MaxKeptFrames || hs.bytes+len(frame) > s.opts.MaxKeptBytes {
		hs.lost, hs.kept, hs.bytes = true, nil, 0
		return true, nil
	}
	hs.kept = append(hs.kept, queue.KeptFrame{Offset: offset, Frame: bytes.Clone(frame)})
	hs.bytes += len(frame)
	return true, nil
}

// Resume implements queue.HeldSessions.
func (s *Store) Resume(ctx context.Context, id, pidHash string, after uint64, instance string) (queue.Resumed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	hs := s.held[id]
	if hs == nil || hs.pidHash != pidHash {
		return queue.Resumed{}, queue.ErrNotHeld
	}
	s.unhold(id)
	if hs.lost || hs.first > 0 && after < hs.first-1 { // the first kept frame is past after+1
		s.endHeld(id, now)
		s.match(now)
		return queue.Resumed{}, queue.ErrResumeGap
	}
	r := queue.Resumed{Next: hs.next}
	for _, f := range hs.kept {
		if f.Offset > after {
			r.Frames = append(r.Frames, f)
		}
	}
	if p, ok := s.profiles[id]; ok && now.Before(p.expires) {
		// Only a user who joined is among its instance's members, as Join
		// does.
		if instance != "" {
			m := s.members[instance]
			if m == nil {
				m = make(map[string]struct{})
				s.members[instance] = m
			}
			m[id] = struct{}{}
		}
		p.p.Instance = instance
		s.profiles[id] = profile{p: p.p, expires: now.Add(s.opts.ProfileTTL)}
		copied := p.p
		copied.Interests = slices.Clone(p.p.Interests)
		r.Profile = &copied
	}
	if partner, ok := s.rooms[id]; ok {
		r.Partner = partner
		if p, ok := s.profiles[partner]; ok && now.Before(p.expires) {
			r.PartnerAddr = p.p.Addr
		}
	}
	if hs.announced != "" && r.Partner != hs.announced {
		r.Left = cmp.Or(hs.left, queue.ReasonDisconnect)
	}
	s.emit(queue.Event{Kind: queue.EventResumed, User: id, Partner: r.Partner, PartnerAddr: r.PartnerAddr, Reason: r.Left})
	// Back in the queue as anyone else: it may be paired at once.
	s.match(now)
	return r, nil
}

// Lapse implements queue.HeldSessions.
func (s *Store) Lapse(ctx context.Context, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if !s.lapse(id, now) {
		return false, nil
	}
	s.match(now)
	return true, nil
}

// lapse ends id's held session as a disconnect when its window is over;
// the caller runs matching.
func (s *Store) lapse(id string, now time.Time) bool {
	hs := s.held[id]
	if hs == nil || now.Before(hs.deadline) {
		return false
	}
	s.unhold(id)
	s.endHeld(id, now)
	return true
}

// lapseAll lapses every held session whose window is over, in the order
// of their deadlines; the caller runs matching.
func (s *Store) lapseAll(now time.Time) {
	for len(s.heldDeadlines) > 0 && !now.Before(s.heldDeadlines[0].at) {
		s.lapse(s.heldDeadlines[0].id, now)
	}
}

// unhold forgets id's held session, if any, and nothing else.
func (s *Store) unhold(id string) {
	hs := s.held[id]
	if hs == nil {
		return
	}
	delete(s.held, id)
	if i, ok := slices.BinarySearchFunc(s.heldDeadlines, heldDeadline{at: hs.deadline, id: id}, compareDeadlines); ok {
		s.heldDeadlines = slices.Delete(s.heldDeadlines, i, i+1)
	}
	delete(s.heldByAddr[hs.addr], id)
	if len(s.heldByAddr[hs.addr]) == 0 {
		delete(s.heldByAddr, hs.addr)
	}
}

// endHeld ends a user whose held session is over (lapsed, or lost frames
// it missed) as a disconnect: it leaves the queue, its room (the partner
// is told and requeued) and the store. The caller runs matching.
func (s *Store) endHeld(id string, now time.Time) {
	s.dequeue(id)
	if partner, ok := s.rooms[id]; ok {
		s.dissolve(id, partner, now)
		s.partnerLeft(partner, queue.ReasonDisconnect)
		s.enqueue(partner, now)
	}
	if p, ok := s.profiles[id]; ok {
		delete(s.members[p.p.Instance], id)
	}
	delete(s.profiles, id)
	delete(s.lastPartner, id)
}

// partnerLeft tells user that its partner left for reason, and records the
// reason in user's held session, if it is held: its Resume announces it.
func (s *Store) partnerLeft(user string, reason queue.Reason) {
	s.emit(queue.Event{Kind: queue.EventPartnerLeft, User: user, Reason: reason})
	if hs := s.held[user]; hs != nil {
		hs.left = reason
	}
}
