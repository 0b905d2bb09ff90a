package queue

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Resuming: a user whose connection dropped without a goodbye, and whose
// client opted in, is held by the store for the resume window (see
// HeldSessions) instead of leaving: its queue place and its call wait for
// it, on whichever instance it comes back to. This instance forgets it at
// Hold; the instance it comes back to learns it again at Resume. The
// instance that held it lapses it when the window is over; when that
// instance is gone by then (a rolling restart), another one's Sweep does.

// DefaultResumeWindow is Config.ResumeWindow's default: a phone that moves
// from Wi-Fi to mobile data, or a client whose instance restarts, is back
// within a few seconds (socket.io-client retries after 0.5 to 1.5 s, then
// backs off up to 5 s): 15 s covers three or four tries. Longer, and the
// partner stares at a frozen picture with no word of what happened; it
// sees the drop after this (partner-left, disconnect), plus the ping
// timeout when the connection died silently.
const DefaultResumeWindow = 15 * time.Second

// lapseMargin is how long after the window this instance asks the store
// to lapse a held session: the store's clock decides, and may run a little
// behind this one's.
const lapseMargin = 250 * time.Millisecond

// Hold keeps the session of a user whose connection dropped for the
// resume window (HeldSessions.Hold), with the frames it may have missed:
// this instance forgets the user, and the store lapses it unless it
// resumes in time. ErrTooManyHeld and the store's failures, wrapped: the
// caller then disconnects the user.
func (s *Service) Hold(ctx context.Context, id string, h HeldSession) error {
	s.users.update(id, func(sess *session) {
		// An own Next or leave under way has ended the call for the
		// client already.
		if sess.pending == 0 {
			h.Announced = sess.partner
		}
		h.Addr = sess.addr
		// From now on the store's word counts: what happens to the call
		// is announced at the resume, not now (it would go out twice).
		sess.holding = true
	})
	h.Instance = s.inst.name
	window := s.cfg.ResumeWindow
	if err := s.store.Hold(ctx, id, h, window); err != nil {
		s.users.update(id, func(sess *session) { sess.holding = false })
		return fmt.Errorf("hold %s: %w", id, err)
	}
	s.users.remove(id)
	time.AfterFunc(window+lapseMargin, func() { s.lapse(id) })
	return nil
}

// lapse ends a held session whose window is over, unless it was resumed.
func (s *Service) lapse(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ended, err := s.store.Lapse(ctx, id)
	switch {
	case err != nil:
		// The sweep of any instance lapses it later.
		s.log.Warn("lapse of a held session failed", "socket", id, "err", err)
	case ended:
		s.cfg.Observer.Left(ReasonDisconnect)
		s.log.Info("held session lapsed", "socket", id)
	}
}

// Resume takes back a held session for a user who reconnected to this
// instance with its private id (HeldSessions.Resume): this instance knows
// the user again, its partner and profile as the store has them, and
// announces, when the store's EventResumed comes, whether its partner left
// while it was away. ErrNotHeld, ErrResumeGap and the store's failures,
// wrapped.
func (s *Service) Resume(ctx context.Context, id, pidHash string, after uint64) (Resumed, error) {
	if err := s.waitReady(ctx); err != nil {
		return Resumed{}, fmt.Errorf("resume %s: %w", id, err)
	}
	// Known before the store call, as resuming: the store's EventResumed
	// (in the stream, before the pairing that Resume's matching may make)
	// settles its state and what it is told; announcements before it are
	// stale.
	s.users.mu.Lock()
	_, known := s.users.byID[id]
	if !known {
		s.users.byID[id] = &session{tried: true, resuming: true}
	}
	s.users.mu.Unlock()
	r, err := s.store.Resume(ctx, id, pidHash, after, s.inst.name)
	if err != nil {
		if !known {
			s.users.remove(id)
		}
		return Resumed{}, fmt.Errorf("resume %s: %w", id, err)
	}
	if r.Profile != nil {
		// Banned while away: the ban's drop found the user on no
		// instance. It ends now, as that drop would have ended it; its
		// client starts a new session, whose join the ban refuses.
		if err := s.refuseBanned(ctx, r.Profile.Addr); errors.Is(err, ErrBanned) {
			if derr := s.Disconnect(ctx, id); derr != nil {
				s.log.Warn("disconnect of a banned user's resume failed", "socket", id, "err", derr)
			}
			return Resumed{}, fmt.Errorf("resume %s: %w", id, err)
		}
	}
	s.users.update(id, func(sess *session) {
		sess.profile = r.Profile
		if r.Profile != nil {
			sess.addr = r.Profile.Addr
		}
		if sess.resuming {
			// Until the stream's word comes: the client's relays right
			// after the resume go to this partner.
			sess.partner, sess.partnerAddr = r.Partner, r.PartnerAddr
			sess.matchedAt = time.Now()
		}
	})
	return r, nil
}

// Keep adds a frame to a held user's session (HeldSessions.Keep), for a
// socket connected nowhere.
func (s *Service) Keep(ctx context.Context, id string, frame []byte) (bool, error) {
	kept, err := s.store.Keep(ctx, id, frame)
	if err != nil {
		return false, fmt.Errorf("keep for %s: %w", id, err)
	}
	return kept, nil
}
