package queue

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Join queues the user with its profile and runs matching. It returns
// ErrBusy when the user is already queued or in a call, a *CoolDownError
// when its address cools down after reports, ErrDraining once this
// instance shuts down, ErrNotReady when ctx ends before the service hears
// the store's events, and the store's other errors (ErrStoreFull,
// ErrInstanceGone when renewing this instance's presence failed, or a
// failure to reach it), each wrapped.
func (s *Service) Join(ctx context.Context, id string, p Profile) error {
	if err := s.waitReady(ctx); err != nil {
		return fmt.Errorf("join %s: %w", id, err)
	}
	if s.inst.draining.Load() {
		return fmt.Errorf("join %s: %w", id, ErrDraining)
	}
	p.Instance = s.inst.name
	s.users.update(id, func(sess *session) {
		sess.tried = true
		// Before the store call: its match may be announced before it
		// returns.
		sess.queuedAt = time.Now()
		// Before the ban check: a ban recorded after the check is
		// announced after it, and finds the user by its address.
		sess.addr, sess.net = p.Addr, p.Net
	})
	if err := s.refuseBanned(ctx, p.Addr); err != nil {
		return fmt.Errorf("join %s: %w", id, err)
	}
	// Not while a reconciliation takes this instance's snapshot to the
	// store (see reconciler).
	s.inst.rec.gate.RLock()
	defer s.inst.rec.gate.RUnlock()
	err := s.store.Join(ctx, id, p)
	if errors.Is(err, ErrInstanceGone) && !s.inst.draining.Load() {
		// The store lost this instance's presence (a Redis that lost its
		// data, or a takeover while this instance was cut off) since the
		// last heartbeat: renew it now, rather than refuse joins until
		// the next one.
		// Not bound by this join's deadline: a lost presence also
		// requeues every user of this instance (see instance.lost).
		if berr := s.inst.beat(context.WithoutCancel(ctx)); berr == nil {
			err = s.store.Join(ctx, id, p)
		}
	}
	if err != nil {
		return fmt.Errorf("join %s: %w", id, err)
	}
	s.users.update(id, func(sess *session) {
		sess.profile = &p
		sess.addr, sess.net = p.Addr, p.Net
	})
	s.rematch.afterInterestWait(p)
	return nil
}

// Next ends the user's call (the partner is told, both are requeued) or, with
// no call, keeps it queued. ErrNotJoined when the user never joined (or has
// left); ErrNotReady as for Join; the store's failures wrapped.
func (s *Service) Next(ctx context.Context, id string) error {
	return s.own(ctx, id, func() error {
		if err := s.store.Next(ctx, id); err != nil {
			return fmt.Errorf("next %s: %w", id, err)
		}
		s.cfg.Observer.Nexted()
		return nil
	})
}

// Block ends the user's call as Next does, and keeps the user and its
// current (or just-left) partner apart from then on. ErrNoPartner when
// there is neither; ErrNotJoined and ErrNotReady as for Next.
func (s *Service) Block(ctx context.Context, id string) error {
	by, target, _, err := s.users.target(id)
	if err != nil {
		return fmt.Errorf("block by %s: %w", id, err)
	}
	return s.own(ctx, id, func() error {
		if err := s.store.Block(ctx, by, target); err != nil {
			return fmt.Errorf("block %s by %s: %w", target.ID, id, err)
		}
		s.cfg.Observer.Nexted()
		s.log.Info("block", "socket", id, "addr", by.Addr, "blocked", target.ID, "blocked_addr", target.Addr)
		return nil
	})
}

// Report files the user's report about its current (or just-left)
// partner, for moderators. A second report about the same partner is
// acknowledged but not filed again. ErrNoPartner when there is none; the
// store's failures wrapped.
func (s *Service) Report(ctx context.Context, id, reason string, evidence *Evidence) error {
	by, target, reported, err := s.users.target(id)
	if err != nil {
		return fmt.Errorf("report by %s: %w", id, err)
	}
	if reported {
		return nil
	}
	cooling, err := s.store.Report(ctx, Report{Reporter: by, Reported: target, Reason: reason, At: time.Now(), Evidence: evidence})
	if err != nil {
		return fmt.Errorf("report %s by %s: %w", target.ID, id, err)
	}
	s.users.markReported(id, target.ID)
	s.log.Info("report", "socket", id, "addr", by.Addr, "reported", target.ID, "reported_addr", target.Addr, "reason", reason, "evidence", evidence != nil)
	if cooling {
		s.log.Warn("cool-down started", "addr", target.Addr, "socket", target.ID)
	}
	return nil
}

// Leave takes the user out of the queue and its call; the partner is told and
// requeued. ErrNotJoined when the user never joined or has left already;
// ErrNotReady as for Join; the store's failures wrapped.
func (s *Service) Leave(ctx context.Context, id string) error {
	return s.leave(ctx, id, ReasonLeave)
}

// Disconnect is Leave for a user whose connection is gone; the user is
// forgotten by this instance. A user who never joined (or left already)
// is no error.
func (s *Service) Disconnect(ctx context.Context, id string) error {
	var joined bool
	s.users.update(id, func(sess *session) { joined = sess.tried })
	var err error
	if joined {
		err = s.leave(ctx, id, ReasonDisconnect)
	}
	s.users.remove(id)
	if errors.Is(err, ErrNotJoined) {
		return nil
	}
	return err
}

func (s *Service) leave(ctx context.Context, id string, reason Reason) error {
	return s.own(ctx, id, func() error {
		if err := s.store.Leave(ctx, id, reason); err != nil {
			return fmt.Errorf("leave %s (%s): %w", id, reason, err)
		}
		s.cfg.Observer.Left(reason)
		s.users.update(id, func(sess *session) { sess.profile = nil })
		return nil
	})
}

// own runs a user's own next, block or leave. Until its EventDone comes
// through the stream, announcements for the user are stale and dropped; if
// the store refused or failed, no EventDone comes and the count is taken
// back.
func (s *Service) own(ctx context.Context, id string, change func() error) error {
	if err := s.waitReady(ctx); err != nil {
		return err
	}
	s.inst.rec.gate.RLock()
	defer s.inst.rec.gate.RUnlock()
	var alone bool
	var dones, dropped uint64
	s.users.update(id, func(sess *session) {
		alone, dones, dropped = sess.pending == 0, sess.dones, sess.dropped
		sess.pending++
		// A Next requeues the user (and its match may be announced before
		// the store call returns); after a leave, nothing waits for it.
		sess.queuedAt = time.Now()
	})
	if err := change(); err != nil {
		var tookEffect, unannounced bool
		s.users.update(id, func(sess *session) {
			// The reply was lost (a connection that broke after the
			// script ran), but its EventDone came: it took effect.
			if tookEffect = alone && sess.dones > dones; tookEffect {
				return
			}
			if sess.pending > 0 {
				sess.pending--
			}
			unannounced = sess.dropped > dropped
		})
		if unannounced {
			// A pairing made meanwhile was dropped for this request,
			// which did not happen: the store holds a call the user was
			// never told of. A reconciliation ends it (see Reconciler).
			s.inst.needReconcile()
		}
		if !tookEffect {
			return err
		}
	}
	// The pairing just dissolved blocks a rematch of the two for the
	// window: matching must run again when it expires.
	s.rematch.afterWindow()
	if p := s.users.profile(id); p != nil {
		s.rematch.afterInterestWait(*p)
	}
	return nil
}

// refuseBanned returns a *BannedError when addr is banned. The check is
// its own store call, before the join's: a ban recorded in between is
// announced after the user's address is known here, and drops it (see
// banned).
func (s *Service) refuseBanned(ctx context.Context, addr string) error {
	if addr == "" {
		return nil
	}
	b, ok, err := s.store.Banned(ctx, addr)
	if err != nil {
		return fmt.Errorf("ban check: %w", err)
	}
	if ok {
		return &BannedError{Until: b.Until}
	}
	return nil
}
