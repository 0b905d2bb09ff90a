// Package memory is a queue.Store kept in one process: for tests and for a
// single server instance without Redis. It follows the same rules as the
// Redis store, step for step, so that the conformance suite holds for both.
package memory

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store"
)

// Store is an in-memory queue.Store. Every method is one critical section
// under a single mutex, which makes each state change atomic and orders the
// events exactly like the changes that made them.
type Store struct {
	opts        store.Options
	incarnation string

	mu          sync.Mutex
	queue       []string            // FIFO, head first
	queued      map[string]bool     // de-dup guard for queue
	rooms       map[string]string   // user → partner, both ways
	roomIDs     map[string]string   // user → room id, both ways
	profiles    map[string]profile  // expired entries count as missing
	lastPartner map[string]lastSeen // expired entries count as missing
	listeners   map[*listener]struct{}
}

type profile struct {
	p       queue.Profile
	expires time.Time
}

type lastSeen struct {
	partner string
	expires time.Time
}

// listener is one running Listen: an unbounded FIFO, so that a slow handler
// never blocks a state change, and a wake-up signal.
type listener struct {
	events []queue.Event
	wake   chan struct{} // capacity 1: "events may be waiting"
}

// New returns an empty store; zero options take the defaults.
func New(opts store.Options) *Store {
	return &Store{
		opts:        opts.WithDefaults(),
		incarnation: store.Nonce(),
		queued:      make(map[string]bool),
		rooms:       make(map[string]string),
		roomIDs:     make(map[string]string),
		profiles:    make(map[string]profile),
		lastPartner: make(map[string]lastSeen),
		listeners:   make(map[*listener]struct{}),
	}
}

var _ queue.Store = (*Store)(nil)

// Join implements queue.Store.
func (s *Store) Join(ctx context.Context, id string, p queue.Profile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queued[id] {
		return queue.ErrBusy
	}
	if _, ok := s.rooms[id]; ok {
		return queue.ErrBusy
	}
	now := time.Now()
	s.profiles[id] = profile{p: p, expires: now.Add(s.opts.ProfileTTL)}
	s.enqueue(id)
	s.match(now)
	return nil
}

// Next implements queue.Store.
func (s *Store) Next(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if partner, ok := s.rooms[id]; ok {
		s.dissolve(id, partner, now)
		s.emit(queue.Event{Kind: queue.EventDone, User: id})
		s.emit(queue.Event{Kind: queue.EventPartnerLeft, User: partner, Reason: queue.ReasonNext})
		s.enqueue(id)
		s.enqueue(partner)
	} else {
		if !s.queued[id] && !s.hasProfile(id, now) {
			return queue.ErrNotJoined
		}
		s.emit(queue.Event{Kind: queue.EventDone, User: id})
		s.enqueue(id)
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
	delete(s.profiles, id)
	s.dequeue(id)
	s.emit(queue.Event{Kind: queue.EventDone, User: id})
	if paired {
		s.dissolve(id, partner, now)
		s.emit(queue.Event{Kind: queue.EventPartnerLeft, User: partner, Reason: reason})
		s.enqueue(partner)
	}
	s.match(now)
	return nil
}

// Match implements queue.Store.
func (s *Store) Match(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.match(time.Now())
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
			s.emit(queue.Event{Kind: queue.EventPartnerLeft, User: partner, Reason: queue.ReasonDisconnect})
			s.enqueue(partner)
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
	s.match(now)
	return nil
}

// Ping implements queue.Store; memory is always reachable.
func (s *Store) Ping(ctx context.Context) error { return nil }

// Incarnation implements queue.Store: a memory store keeps its data as long
// as it lives, and a new one (a new process) is a new incarnation.
func (s *Store) Incarnation(ctx context.Context) (string, error) {
	return s.incarnation, nil
}

// Listen implements queue.Store: ready is called once the listener is
// registered, under the same lock as every state change.
func (s *Store) Listen(ctx context.Context, ready func(), handle func(queue.Event)) error {
	l := &listener{wake: make(chan struct{}, 1)}
	s.mu.Lock()
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	ready()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.wake:
		}
		s.mu.Lock()
		batch := l.events
		l.events = nil
		s.mu.Unlock()
		for _, e := range batch {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			handle(e)
		}
	}
}

// emit queues e for every listener; called with s.mu held, so listeners see
// events in the order of the state changes.
func (s *Store) emit(e queue.Event) {
	for l := range s.listeners {
		l.events = append(l.events, e)
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

func (s *Store) hasProfile(id string, now time.Time) bool {
	p, ok := s.profiles[id]
	return ok && now.Before(p.expires)
}

func (s *Store) enqueue(id string) {
	if s.queued[id] {
		return
	}
	s.queued[id] = true
	s.queue = append(s.queue, id)
}

// dequeue removes id from the queue. It checks the slice even when the
// guard says id is not queued, like the Redis store, so that a bug there
// could not make match loop on an entry it cannot remove.
func (s *Store) dequeue(id string) {
	delete(s.queued, id)
	s.queue = slices.DeleteFunc(s.queue, func(q string) bool { return q == id })
}

// dissolve ends the pairing of a and b and keeps them apart for the rematch
// window.
func (s *Store) dissolve(a, b string, now time.Time) {
	delete(s.rooms, a)
	delete(s.rooms, b)
	delete(s.roomIDs, a)
	delete(s.roomIDs, b)
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

// candidate is what one matching round knows about a queued user.
type candidate struct {
	id, name, last string
	ghost          bool
}

// match pairs waiting users until no eligible pair is left in the scanned
// head of the queue: the earliest user A with the earliest later user B that
// neither has as unexpired last partner. Users without a profile are dropped
// from the queue as they are scanned. This is the algorithm of match in
// ../redis/lib.lua; keep the two in step.
func (s *Store) match(now time.Time) {
	nonce, seq := "", 0
	for {
		n := min(len(s.queue), store.ScanWindow)
		if n < 2 {
			return
		}
		window := make([]*candidate, n)
		var ghosts []string
		look := func(i int) *candidate {
			if window[i] == nil {
				id := s.queue[i]
				c := &candidate{id: id}
				if p, ok := s.profiles[id]; ok && now.Before(p.expires) {
					c.name = p.p.Name
					if c.name == "" {
						c.name = "Stranger"
					}
					c.last = s.lastPartnerOf(id, now)
				} else {
					c.ghost = true
					ghosts = append(ghosts, id)
				}
				window[i] = c
			}
			return window[i]
		}
		var a, b *candidate
	scan:
		for i := 0; i < n-1; i++ {
			if c := look(i); !c.ghost {
				for j := i + 1; j < n; j++ {
					if d := look(j); !d.ghost && d.id != c.id && c.last != d.id && d.last != c.id {
						a, b = c, d
						break scan
					}
				}
			}
		}
		for _, g := range ghosts {
			s.dequeue(g)
		}
		if a == nil {
			if len(ghosts) == 0 {
				return
			}
			continue // the ghosts made room for users beyond the window
		}
		if nonce == "" {
			nonce = store.Nonce()
		}
		seq++
		room := nonce + "-" + strconv.Itoa(seq)
		s.dequeue(a.id)
		s.dequeue(b.id)
		s.rooms[a.id], s.rooms[b.id] = b.id, a.id
		s.roomIDs[a.id], s.roomIDs[b.id] = room, room
		s.emit(queue.Event{Kind: queue.EventMatched, User: b.id, Partner: a.id, PartnerName: a.name, Room: room})
		s.emit(queue.Event{Kind: queue.EventMatched, User: a.id, Partner: b.id, PartnerName: b.name, Room: room, Initiator: true})
	}
}
