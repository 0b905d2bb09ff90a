package memory

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/zivro/zivro/queue"
)

type census struct {
	online  int
	expires time.Time
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

// takeOver is take_over in ../redisstore/lib.lua: the instance's users leave
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
				s.partnerLeft(partner, queue.ReasonDisconnect)
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
