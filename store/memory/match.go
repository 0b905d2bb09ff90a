package memory

import (
	"context"
	"crypto/rand"
	"strconv"
	"time"

	"github.com/zivro/zivro/queue"
)

// Match implements queue.Store.
func (s *Store) Match(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.match(time.Now())
	return nil
}

// candidate is what one matching round knows about a queued user.
type candidate struct {
	id, name, last, addr, region, lang string
	interests                          []string
	text                               bool // text-only
	open                               bool // paired with anyone, not only on a shared language or interest
	ghost                              bool
	held                               bool // keeps its queue place, never paired
}

// match pairs waiting users until no eligible pair is left in the scanned
// head of the queue (see queue.Store for the rules): the earliest user A
// with the earliest later user B of A's language; or else, when A has no
// language or is open, the earliest later B that shares an interest with A
// and has no language or is open; or else, when A is open, the earliest
// later open B. B is of A's mode (text-only or video), and neither may have
// the other as unexpired last partner, nor a block of the other. Held users
// (see held.go) keep their place and are skipped. Users without a profile
// are dropped from the queue as they are scanned. This is
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
				if _, ok := s.held[id]; ok {
					c.held = true
				} else if p, ok := s.profiles[id]; ok && now.Before(p.expires) {
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
			return !d.ghost && !d.held && d.text == c.text && d.id != c.id && c.last != d.id && d.last != c.id && !s.blocked(c, d, now)
		}
		var a, b *candidate
	scan:
		for i := 0; i < n-1; i++ {
			c := look(i)
			if c.ghost || c.held {
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
