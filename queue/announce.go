package queue

import "time"

// handle turns one store event into at most one announcement. The store
// calls it from one goroutine, in the order of the state changes, so the
// announcements keep that order.
func (s *Service) handle(e Event) {
	// A reconciliation takes this instance's beliefs as up to date with
	// the last event handled (see reconciler).
	s.inst.rec.handling.Lock()
	defer s.inst.rec.handling.Unlock()
	if e.ID != "" {
		s.inst.rec.handled = e.ID
	}
	switch e.Kind {
	case EventGap:
		s.log.Warn("the store's event stream lost events (failover): reconciling")
		s.inst.needReconcile()
	case EventDone:
		var unexpected bool
		s.users.update(e.User, func(sess *session) {
			if sess.resuming {
				return // stale: before the resume
			}
			sess.dones++
			if sess.pending > 0 {
				sess.pending--
			} else {
				// An own request that was reported failed (its reply lost
				// with the connection) took effect: the client still
				// believes in its call.
				unexpected = sess.partner != ""
			}
			sess.endCall()
		})
		if unexpected {
			s.notify.PartnerLeft(e.User, ReasonDisconnect)
		}
	case EventResumed:
		s.resumed(e)
	case EventMatched:
		s.matched(e)
	case EventPartnerLeft:
		s.partnerLeft(e)
	case EventBanned:
		s.banned(e.Addr)
	}
}

// banned drops this instance's users of a banned address: their
// connections close, and their disconnect takes them out of the queue and
// their calls as any disconnect does.
func (s *Service) banned(addr string) {
	if addr == "" {
		return
	}
	ids := s.users.ofAddr(addr)
	for _, id := range ids {
		s.notify.Banned(id)
	}
	if len(ids) > 0 {
		s.log.Info("banned users dropped", "addr", addr, "users", len(ids))
	}
}

// matched announces a new pairing, unless the user's own next, block or
// leave has already ended it.
func (s *Service) matched(e Event) {
	var stale bool
	var waited time.Duration
	var lost string
	here := s.users.update(e.User, func(sess *session) {
		if sess.pending > 0 || sess.holding || sess.resuming {
			stale = true
			sess.dropped++
			return
		}
		// A pairing is announced to a user in a call only when the store
		// lost that call's end (a failover): the user is told it ended
		// first, so that no client is in two calls.
		if sess.partner != "" && (sess.partner != e.Partner || sess.room != e.Room) {
			lost = sess.partner
		}
		sess.partner, sess.partnerAddr, sess.reported, sess.room = e.Partner, e.PartnerAddr, false, e.Room
		if !sess.queuedAt.IsZero() {
			waited = time.Since(sess.queuedAt)
		}
		sess.queuedAt = time.Time{}
		// Just before the announcement goes out (to this instance's own
		// socket: no network in between), so that no relay sees the
		// pairing without it.
		sess.matchedAt = time.Now()
	})
	if !here || stale {
		return // not connected here, or stale
	}
	if lost != "" {
		s.notify.PartnerLeft(e.User, ReasonDisconnect)
		s.cfg.Observer.CallEnded(ReasonDisconnect, 0)
	}
	s.notify.Matched(e.User, Match{RoomID: e.Room, PartnerID: e.Partner, PartnerName: e.PartnerName, Initiator: e.Initiator, CommonInterests: e.Common, PartnerRegion: e.PartnerRegion, TextOnly: e.TextOnly})
	s.cfg.Observer.Matched(e.Initiator, waited)
}

// partnerLeft announces the end of a call, unless the user's own next,
// block or leave has already ended it.
func (s *Service) partnerLeft(e Event) {
	var inCall, stale bool
	var lasted time.Duration
	var p *Profile
	here := s.users.update(e.User, func(sess *session) {
		// Nobody is told its partner left while it is in no call (a
		// reconciliation's word about a pairing the user has left since,
		// or the end of a pairing the store lost and made again).
		if sess.partner == "" || (e.Partner != "" && e.Partner != sess.partner) {
			stale = true
			return
		}
		// The call ended whether or not the user's own Next made the
		// announcement stale: the partner's end is the one that counts.
		inCall, lasted = sess.partner != "", time.Since(sess.matchedAt)
		stale = sess.pending > 0 || sess.holding || sess.resuming
		if !stale {
			sess.endCall()
			sess.queuedAt = time.Now() // requeued
		}
		p = sess.profile
	})
	if !here {
		return // not connected here
	}
	if inCall {
		s.cfg.Observer.CallEnded(e.Reason, lasted)
	}
	if stale {
		return
	}
	s.notify.PartnerLeft(e.User, e.Reason)
	// The user's old partner is blocked for the window: run matching
	// when it expires.
	s.rematch.afterWindow()
	if p != nil {
		s.rematch.afterInterestWait(*p) // requeued
	}
}

// resumed takes a resumed user's state from the store's word of its
// resume, in the stream's order, and tells it when the partner it was last
// told of left while it was away.
func (s *Service) resumed(e Event) {
	var p *Profile
	here := s.users.update(e.User, func(sess *session) {
		if !sess.resuming {
			return
		}
		sess.resuming = false
		if sess.partner != e.Partner {
			sess.partner, sess.partnerAddr, sess.reported = e.Partner, e.PartnerAddr, false
			sess.matchedAt = time.Now()
		}
		if e.Partner == "" {
			sess.queuedAt = time.Now()
		}
		p = sess.profile
	})
	if !here || e.Reason == "" {
		return
	}
	s.notify.PartnerLeft(e.User, e.Reason)
	s.rematch.afterWindow()
	if p != nil {
		s.rematch.afterInterestWait(*p) // requeued
	}
}
