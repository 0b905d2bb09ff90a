package memory

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/zivro/zivro/queue"
)

// Reconcile implements queue.Reconciler, step for step as reconcile.lua.
// This store never loses a state change, so a service never needs it;
// it is here for the conformance suite. Its events have no IDs: every
// event counts as handled (b.After is not read), so none is Coming.
func (s *Store) Reconcile(ctx context.Context, b queue.Beliefs) (queue.Repairs, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var r queue.Repairs
	claimed := make(map[string]bool, len(b.Claims))
	for _, c := range b.Claims {
		claimed[c.ID] = true
		if s.held[c.ID] != nil {
			continue
		}
		if c.Pending > 0 {
			// None of its EventDone is still to come: its own request
			// ended the call as its client sees it.
			c.Partner = ""
		}
		if !s.hasProfile(c.ID, now) {
			p := c.Profile
			p.Instance = b.Instance
			s.profiles[c.ID] = profile{p: p, expires: now.Add(s.opts.ProfileTTL)}
			r.Restored++
		}
		s.addMember(b.Instance, c.ID)
		x, paired := s.rooms[c.ID]
		if paired && x != c.Partner {
			// A pairing the user was told of, then told was over, in what
			// the store lost.
			s.dissolve(c.ID, x, now)
			s.partnerLeftAbout(x, c.ID)
			s.partnerLeftAbout(c.ID, x)
			if s.hasProfile(x, now) {
				s.enqueue(x, now)
			}
			r.Ghosts++
			paired = false
		}
		if paired {
			continue
		}
		if c.Partner != "" {
			s.partnerLeftAbout(c.ID, c.Partner)
			r.Ended++
		}
		if !s.queued[c.ID] {
			s.enqueue(c.ID, now)
			r.Requeued++
		}
	}
	keep := make(map[string]bool, len(b.Keep))
	for _, id := range b.Keep {
		keep[id] = true
	}
	for _, m := range slices.Sorted(maps.Keys(s.members[b.Instance])) {
		if claimed[m] || keep[m] || s.held[m] != nil {
			continue
		}
		s.dequeue(m)
		if partner, ok := s.rooms[m]; ok {
			s.dissolve(m, partner, now)
			s.partnerLeftAbout(partner, m)
			s.enqueue(partner, now)
		}
		delete(s.members[b.Instance], m)
		delete(s.profiles, m)
		delete(s.lastPartner, m)
		r.Removed++
	}
	s.match(now)
	return r, nil
}

// addMember records that id joined through instance.
func (s *Store) addMember(instance, id string) {
	if instance == "" {
		return
	}
	if s.members[instance] == nil {
		s.members[instance] = make(map[string]struct{})
	}
	s.members[instance][id] = struct{}{}
}

// partnerLeftAbout is partnerLeft (ReasonDisconnect) for the pairing of
// user with about only: a held user's resume announces it only if about is
// the partner it was told of.
func (s *Store) partnerLeftAbout(user, about string) {
	s.emit(queue.Event{Kind: queue.EventPartnerLeft, User: user, Partner: about, Reason: queue.ReasonDisconnect})
	if hs := s.held[user]; hs != nil && hs.announced == about {
		hs.left = queue.ReasonDisconnect
	}
}
