// Package memory is a queue.Store kept in one process: for tests and for a
// single server instance without Redis. It follows the same rules as the
// Redis store, step for step, so that the conformance suite holds for both.
package memory

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/zivro/zivro/queue"
)

// Store is an in-memory queue.Store. Every method is one critical section
// under a single mutex, which makes each state change atomic and orders the
// events exactly like the changes that made them.
type Store struct {
	opts queue.StoreOptions

	mu          sync.Mutex
	queue       []string                        // FIFO, head first
	queued      map[string]bool                 // de-dup guard for queue
	rooms       map[string]string               // user → partner, both ways
	profiles    map[string]profile              // expired entries count as missing
	lastPartner map[string]lastSeen             // expired entries count as missing
	since       map[string]time.Time            // queued user → when it was queued
	blocks      map[string]*blockSet            // address → its blocks
	reports     map[string]map[string]time.Time // reported address → reporter address → when
	coolDowns   map[string]time.Time            // address → end of its cool-down
	listeners   map[*listener]struct{}
	online      map[string]census              // instance → its last Census report
	presence    map[string]time.Time           // instance → when its presence lapses
	members     map[string]map[string]struct{} // instance → users who joined through it
	// Held sessions (see held.go): by user, by the end of their window,
	// and by address.
	held          map[string]*held
	heldDeadlines []heldDeadline // sorted by compareDeadlines
	heldByAddr    map[string]map[string]struct{}
	mod           moderation
}

type profile struct {
	p       queue.Profile
	expires time.Time
}

type lastSeen struct {
	partner string
	expires time.Time
}

// New returns an empty store; zero options take the defaults.
func New(opts queue.StoreOptions) *Store {
	return &Store{
		opts:        opts.WithDefaults(),
		queued:      make(map[string]bool),
		rooms:       make(map[string]string),
		profiles:    make(map[string]profile),
		lastPartner: make(map[string]lastSeen),
		since:       make(map[string]time.Time),
		blocks:      make(map[string]*blockSet),
		reports:     make(map[string]map[string]time.Time),
		coolDowns:   make(map[string]time.Time),
		listeners:   make(map[*listener]struct{}),
		online:      make(map[string]census),
		presence:    make(map[string]time.Time),
		members:     make(map[string]map[string]struct{}),
		held:        make(map[string]*held),
		heldByAddr:  make(map[string]map[string]struct{}),
		mod:         newModeration(),
	}
}

var _ queue.Store = (*Store)(nil)

// Join implements queue.Store.
func (s *Store) Join(ctx context.Context, id string, p queue.Profile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rooms[id]; ok {
		return queue.ErrBusy
	}
	now := time.Now()
	if end, ok := s.coolDowns[p.Addr]; ok && now.Before(end) {
		return &queue.CoolDownError{Remaining: end.Sub(now)}
	}
	if _, ok := s.presence[p.Instance]; p.Instance != "" && !ok {
		return queue.ErrInstanceGone
	}
	if s.queued[id] {
		return queue.ErrBusy
	}
	if p.Instance != "" {
		m := s.members[p.Instance]
		if m == nil {
			m = make(map[string]struct{})
			s.members[p.Instance] = m
		}
		m[id] = struct{}{}
	}
	s.profiles[id] = profile{p: p, expires: now.Add(s.opts.ProfileTTL)}
	s.enqueue(id, now)
	s.match(now)
	return nil
}

// Next implements queue.Store.
func (s *Store) Next(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next(id, time.Now())
}

func (s *Store) next(id string, now time.Time) error {
	if partner, ok := s.rooms[id]; ok {
		s.dissolve(id, partner, now)
		s.emit(queue.Event{Kind: queue.EventDone, User: id})
		s.partnerLeft(partner, queue.ReasonNext)
		s.enqueue(id, now)
		s.enqueue(partner, now)
	} else {
		if !s.queued[id] && !s.hasProfile(id, now) {
			return queue.ErrNotJoined
		}
		s.emit(queue.Event{Kind: queue.EventDone, User: id})
		s.enqueue(id, now)
	}
	s.match(now)
	return nil
}

// Leave implements queue.Store.
func (s *Store) Leave(ctx context.Context, id string, reason queue.Reason) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	partner, paired := s.rooms[id]
	if !paired && !s.queued[id] && !s.hasProfile(id, now) {
		return queue.ErrNotJoined
	}
	if p, ok := s.profiles[id]; ok && s.hasProfile(id, now) {
		delete(s.members[p.p.Instance], id)
	}
	delete(s.profiles, id)
	s.dequeue(id)
	s.emit(queue.Event{Kind: queue.EventDone, User: id})
	if paired {
		s.dissolve(id, partner, now)
		s.partnerLeft(partner, reason)
		s.enqueue(partner, now)
	}
	s.match(now)
	return nil
}

// Refresh implements queue.Store.
func (s *Store) Refresh(ctx context.Context, profiles map[string]queue.Profile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	expires := time.Now().Add(s.opts.ProfileTTL)
	for id, p := range profiles {
		s.profiles[id] = profile{p: p, expires: expires}
	}
	return nil
}

// Sweep implements queue.Store. It also forgets expired profiles and last
// partners, which the Redis store gets for free from key expiry.
func (s *Store) Sweep(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.lapseAll(now)
	for _, id := range slices.Clone(s.queue) {
		if !s.hasProfile(id, now) {
			s.dequeue(id)
		}
	}
	// Sorted so that several dissolutions in one sweep come out in a stable
	// order; Redis announces them in its hash order, which nobody relies on.
	users := make([]string, 0, len(s.rooms))
	for u := range s.rooms {
		users = append(users, u)
	}
	slices.Sort(users)
	for _, u := range users {
		partner, ok := s.rooms[u]
		if !ok || s.hasProfile(u, now) {
			continue
		}
		s.dissolve(u, partner, now)
		if s.hasProfile(partner, now) {
			s.partnerLeft(partner, queue.ReasonDisconnect)
			s.enqueue(partner, now)
		}
	}
	for id, p := range s.profiles {
		if !now.Before(p.expires) {
			delete(s.profiles, id)
		}
	}
	for id, l := range s.lastPartner {
		if !now.Before(l.expires) {
			delete(s.lastPartner, id)
		}
	}
	for addr, b := range s.blocks {
		if !now.Before(b.expires) {
			delete(s.blocks, addr)
		}
	}
	for addr, end := range s.coolDowns {
		if !now.Before(end) {
			delete(s.coolDowns, addr)
		}
	}
	s.mod.expireEvidence(now)
	for addr, by := range s.reports {
		for a, at := range by {
			if now.Sub(at) >= s.opts.ReportWindow {
				delete(by, a)
			}
		}
		if len(by) == 0 {
			delete(s.reports, addr)
		}
	}
	s.match(now)
	return nil
}

// Ping implements queue.Store; memory is always reachable.
func (s *Store) Ping(ctx context.Context) error { return nil }

// Windows returns the rematch window and interest wait this store enforces.
func (s *Store) Windows() queue.Windows {
	return queue.Windows{RematchWindow: s.opts.RematchWindow, InterestWait: s.opts.InterestWait}
}

func (s *Store) hasProfile(id string, now time.Time) bool {
	p, ok := s.profiles[id]
	return ok && now.Before(p.expires)
}

// enqueue puts id at the back of the queue; its interest wait starts now.
func (s *Store) enqueue(id string, now time.Time) {
	if s.queued[id] {
		return
	}
	s.queued[id] = true
	s.since[id] = now
	s.queue = append(s.queue, id)
}

// dequeue removes id from the queue. It checks the slice even when the
// guard says id is not queued, like the Redis store, so that a bug there
// could not make match loop on an entry it cannot remove.
func (s *Store) dequeue(id string) {
	delete(s.queued, id)
	delete(s.since, id)
	s.queue = slices.DeleteFunc(s.queue, func(q string) bool { return q == id })
}

// dissolve ends the pairing of a and b and keeps them apart for the rematch
// window.
func (s *Store) dissolve(a, b string, now time.Time) {
	delete(s.rooms, a)
	delete(s.rooms, b)
	expires := now.Add(s.opts.RematchWindow)
	s.lastPartner[a] = lastSeen{partner: b, expires: expires}
	s.lastPartner[b] = lastSeen{partner: a, expires: expires}
}

func (s *Store) lastPartnerOf(id string, now time.Time) string {
	l, ok := s.lastPartner[id]
	if !ok || !now.Before(l.expires) {
		return ""
	}
	return l.partner
}
