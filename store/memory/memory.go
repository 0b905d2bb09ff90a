// Package memory is a queue.Store kept in one process: for tests and for a
// single server instance without Redis. It follows the same rules as the
// Redis store, step for step, so that the conformance suite holds for both.
package memory

import (
	"context"
	"crypto/rand"
	"maps"
	"slices"
	"strconv"
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
}

type census struct {
	online  int
	expires time.Time
}

// blockSet is the blocks of one address: members as queue.BlockMember
// makes them, all expiring together (a Redis set with a TTL).
type blockSet struct {
	members map[string]struct{}
	expires time.Time
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
		s.emit(queue.Event{Kind: queue.EventPartnerLeft, User: partner, Reason: queue.ReasonNext})
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
		s.emit(queue.Event{Kind: queue.EventPartnerLeft, User: partner, Reason: reason})
		s.enqueue(partner, now)
	}
	s.match(now)
	return nil
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

// Report implements queue.Store. The memory store keeps no reports: the
// service's log line is their record.
func (s *Store) Report(ctx context.Context, r queue.Report) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
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

// Census implements queue.Store.
func (s *Store) Census(ctx context.Context, instance string, online int, ttl time.Duration) (queue.Counts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.online[instance] = census{online: online, expires: now.Add(ttl)}
	c := queue.Counts{Waiting: len(s.queue), InCall: len(s.rooms)}
	for id, r := range s.online {
		if !now.Before(r.expires) {
			delete(s.online, id)
			continue
		}
		c.Online += r.online
	}
	return c, nil
}

// Ping implements queue.Store; memory is always reachable.
func (s *Store) Ping(ctx context.Context) error { return nil }

// Windows returns the rematch window and interest wait this store enforces.
func (s *Store) Windows() queue.Windows {
	return queue.Windows{RematchWindow: s.opts.RematchWindow, InterestWait: s.opts.InterestWait}
}

// Beat implements queue.Store.
func (s *Store) Beat(ctx context.Context, instance string, ttl time.Duration) (queue.Presence, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	_, kept := s.presence[instance]
	s.presence[instance] = now.Add(ttl)
	// Sorted, so that takeovers in one beat come out in a stable order.
	var lapsed []string
	for inst, until := range s.presence {
		if inst != instance && !now.Before(until) {
			lapsed = append(lapsed, inst)
		}
	}
	slices.Sort(lapsed)
	for _, inst := range lapsed {
		s.takeOver(inst, now)
	}
	if len(lapsed) > 0 {
		s.match(now)
	}
	return queue.Presence{Kept: kept, TakenOver: len(lapsed)}, nil
}

// Retire implements queue.Store.
func (s *Store) Retire(ctx context.Context, instance string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.takeOver(instance, now)
	s.match(now)
	return nil
}

// takeOver is take_over in ../redis/lib.lua: the instance's users leave
// the queue, their calls and the store; partners who are not among them
// are told and requeued; the instance's presence, members and census
// figure go.
func (s *Store) takeOver(instance string, now time.Time) {
	members := slices.Sorted(maps.Keys(s.members[instance]))
	for _, m := range members {
		s.dequeue(m)
		if partner, ok := s.rooms[m]; ok {
			s.dissolve(m, partner, now)
			if _, gone := s.members[instance][partner]; !gone {
				s.emit(queue.Event{Kind: queue.EventPartnerLeft, User: partner, Reason: queue.ReasonDisconnect})
				s.enqueue(partner, now)
			}
		}
		delete(s.profiles, m)
		delete(s.lastPartner, m)
	}
	delete(s.members, instance)
	delete(s.presence, instance)
	delete(s.online, instance)
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
	e.At = time.Now()
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

// candidate is what one matching round knows about a queued user.
type candidate struct {
	id, name, last, addr, region, lang string
	interests                          []string
	text                               bool // text-only
	open                               bool // paired with anyone, not only on a shared language or interest
	ghost                              bool
}

// match pairs waiting users until no eligible pair is left in the scanned
// head of the queue (see queue.Store for the rules): the earliest user A
// with the earliest later user B of A's language; or else, when A has no
// language or is open, the earliest later B that shares an interest with A
// and has no language or is open; or else, when A is open, the earliest
// later open B. B is of A's mode (text-only or video), and neither may have
// the other as unexpired last partner, nor a block of the other. Users
// without a profile are dropped from the queue as they are scanned. This is
// the algorithm of match in ../redisstore/lib.lua; keep the two in step.
func (s *Store) match(now time.Time) {
	nonce, seq := "", 0
	for {
		n := min(len(s.queue), queue.ScanWindow)
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
					c.addr, c.region, c.lang, c.text = p.p.Addr, p.p.Region, p.p.Language, p.p.TextOnly
					c.interests = p.p.Interests
					c.last = s.lastPartnerOf(id, now)
					since, ok := s.since[id]
					c.open = !p.p.HasPreferences() || !ok || !now.Before(since.Add(s.opts.InterestWait))
				} else {
					c.ghost = true
					ghosts = append(ghosts, id)
				}
				window[i] = c
			}
			return window[i]
		}
		eligible := func(c, d *candidate) bool {
			return !d.ghost && d.text == c.text && d.id != c.id && c.last != d.id && d.last != c.id && !s.blocked(c, d, now)
		}
		var a, b *candidate
	scan:
		for i := 0; i < n-1; i++ {
			c := look(i)
			if c.ghost {
				continue
			}
			if c.lang != "" {
				for j := i + 1; j < n; j++ {
					if d := look(j); d.lang == c.lang && eligible(c, d) {
						a, b = c, d
						break scan
					}
				}
			}
			// Inside its wait, a user with a language takes only its
			// language: a shared interest counts for those without one.
			if len(c.interests) > 0 && (c.lang == "" || c.open) {
				for j := i + 1; j < n; j++ {
					if d := look(j); (d.lang == "" || d.open) && len(queue.CommonInterests(c.interests, d.interests)) > 0 && eligible(c, d) {
						a, b = c, d
						break scan
					}
				}
			}
			if c.open {
				for j := i + 1; j < n; j++ {
					if d := look(j); d.open && eligible(c, d) {
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
			nonce = rand.Text()
		}
		seq++
		room := nonce + "-" + strconv.Itoa(seq)
		common := queue.CommonInterests(a.interests, b.interests)
		s.dequeue(a.id)
		s.dequeue(b.id)
		s.rooms[a.id], s.rooms[b.id] = b.id, a.id
		s.emit(queue.Event{Kind: queue.EventMatched, User: b.id, Partner: a.id, PartnerName: a.name, PartnerAddr: a.addr, PartnerRegion: a.region, Room: room, Common: common, TextOnly: a.text})
		s.emit(queue.Event{Kind: queue.EventMatched, User: a.id, Partner: b.id, PartnerName: b.name, PartnerAddr: b.addr, PartnerRegion: b.region, Room: room, Initiator: true, Common: common, TextOnly: b.text})
	}
}
