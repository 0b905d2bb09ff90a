package queue

import (
	"sync"
	"time"
)

// session is what this instance knows of one of its connected users.
type session struct {
	// tried is set by any join, even one that failed: a join whose answer
	// was lost (a timeout) may still have queued the user, so its
	// disconnect must still reach the store.
	tried   bool
	profile *Profile // set by a successful join, cleared by leave
	addr    string   // the address key of the last join, kept after a leave
	net     string   // its network key (Profile.Net), for the user's reports
	partner string   // current partner as announced, "" when none
	// partnerAddr is the current partner's address key; reported is set
	// once the user has reported the current partner.
	partnerAddr string
	// room is the current pairing's room, "" when none or unknown (a
	// resumed call).
	room     string
	reported bool
	// matchedAt is when the current pairing's matched was sent to the
	// user (see PartnerSince), stamped as it is handed to the socket.
	matchedAt time.Time
	// last is the partner before, for a report or block just after it
	// left; lastAt is when it left.
	last         Peer
	lastAt       time.Time
	lastReported bool
	// queuedAt is when the user was last queued (join, Next, partner
	// left), zero once matched: the metrics' time to match.
	queuedAt time.Time
	// holding: the user's session is being held (Service.Hold): nothing is
	// announced to it any more, its resume reconciles what it was told
	// with what the store has.
	holding bool
	// resuming: the user's held session is being taken back (Service.Resume)
	// and the store's EventResumed has not come through the stream yet:
	// announcements before it are stale (it says what they told).
	resuming bool
	// pending counts this user's own requests that end its call (next,
	// leave, block) whose EventDone has not come through the stream yet.
	// Announcements before it are stale: they concern a pairing the
	// user's own action already ended.
	pending int
	// dones counts the EventDone handled for the user: an own request
	// whose call failed took effect if its EventDone came meanwhile.
	dones uint64
	// dropped counts the pairings not announced to the user because an
	// own request was under way: if that request then fails, the store
	// may hold a pairing the user was never told of.
	dropped uint64
}

// endCall forgets the current partner, keeping it as the one that just left.
func (sess *session) endCall() {
	if sess.partner == "" {
		return
	}
	sess.last = Peer{ID: sess.partner, Addr: sess.partnerAddr}
	sess.lastAt = time.Now()
	sess.lastReported = sess.reported
	sess.partner, sess.partnerAddr, sess.reported, sess.room = "", "", false, ""
}

// sessions are the users connected to this instance, by socket id.
type sessions struct {
	// mu guards byID and every session in it; relays read partners under
	// RLock on every signal and chat message, so they do not wait for each
	// other.
	mu   sync.RWMutex
	byID map[string]*session
}

func newSessions() *sessions {
	return &sessions{byID: make(map[string]*session)}
}

// add starts a session for a newly connected user; a resumed user's
// (Service.Resume) is kept.
func (ss *sessions) add(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if _, ok := ss.byID[id]; !ok {
		ss.byID[id] = &session{}
	}
}

// remove forgets a user whose connection is gone.
func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	delete(ss.byID, id)
	ss.mu.Unlock()
}

// update runs change on the user's session under the lock, and reports
// whether the user is connected here.
func (ss *sessions) update(id string, change func(*session)) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	sess, ok := ss.byID[id]
	if ok {
		change(sess)
	}
	return ok
}

// profile returns the profile of the user's last successful join, nil
// when it has left since (or never joined).
func (ss *sessions) profile(id string) *Profile {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	if sess, ok := ss.byID[id]; ok {
		return sess.profile
	}
	return nil
}

// count is the number of users connected to this instance.
func (ss *sessions) count() int {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	return len(ss.byID)
}

// profiles returns the profiles of the joined users that keep accepts.
func (ss *sessions) profiles(keep func(*session) bool) map[string]Profile {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	profiles := make(map[string]Profile)
	for id, sess := range ss.byID {
		if sess.profile != nil && keep(sess) {
			profiles[id] = *sess.profile
		}
	}
	return profiles
}

// ofAddr returns the users whose last join came from addr.
func (ss *sessions) ofAddr(addr string) []string {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	var ids []string
	for id, sess := range ss.byID {
		if sess.addr == addr {
			ids = append(ids, id)
		}
	}
	return ids
}

// endCalls is for a store that lost this instance's users: it forgets
// every own request still waiting for its EventDone, ends every call, and
// returns the users who were in one.
func (ss *sessions) endCalls() (inCall []string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for id, sess := range ss.byID {
		// Events of the lost store may never come: an own next, block or
		// leave still waiting for its EventDone must not silence the user.
		sess.pending = 0
		if sess.partner != "" {
			sess.endCall()
			inCall = append(inCall, id)
		}
	}
	return inCall
}

// recentPartner is how long after a partner left a user may still report
// or block it: the time to find the button after the call ended.
const recentPartner = 2 * time.Minute

// target is the prologue of a report or block: the user as a Peer (its
// address and network keys from its last join), and its current partner,
// or the one that just left; reported says whether the user reported that
// partner already. ErrNoPartner when there is neither.
func (ss *sessions) target(id string) (by, target Peer, reported bool, err error) {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	sess, ok := ss.byID[id]
	switch {
	case !ok:
		return Peer{}, Peer{}, false, ErrNoPartner
	case sess.partner != "":
		target, reported = Peer{ID: sess.partner, Addr: sess.partnerAddr}, sess.reported
	case sess.last.ID != "" && time.Since(sess.lastAt) < recentPartner:
		target, reported = sess.last, sess.lastReported
	default:
		return Peer{}, Peer{}, false, ErrNoPartner
	}
	return Peer{ID: id, Addr: sess.addr, Net: sess.net}, target, reported, nil
}

// markReported records that the user reported target, its current or
// last partner, so that a second report about it is not filed again.
func (ss *sessions) markReported(id, target string) {
	ss.update(id, func(sess *session) {
		switch target {
		case sess.partner:
			sess.reported = true
		case sess.last.ID:
			sess.lastReported = true
		}
	})
}

// inCall returns the user's session when it has a partner as
// Service.Partner defines it. Called with ss.mu held.
func (ss *sessions) inCall(id string) (*session, bool) {
	sess, ok := ss.byID[id]
	if !ok || sess.partner == "" || sess.pending > 0 {
		return nil, false
	}
	if other, here := ss.byID[sess.partner]; here && (other.partner != id || other.pending > 0) {
		return nil, false
	}
	return sess, true
}

// Connect registers a user connected to this instance (a resumed user is
// known since Resume).
func (s *Service) Connect(id string) { s.users.add(id) }

// Partner returns the user's current partner, as announced to it. A user
// whose own next, block or leave is under way has none: that call is
// ending, even if the store's word of it has not come through the stream
// yet. When the partner is connected here too, the pairing must hold from
// its side as well: a partner that has moved on (or whose own next is
// under way) is no partner any more, whatever this user was told.
func (s *Service) Partner(id string) (string, bool) {
	partner, _, ok := s.PartnerSince(id)
	return partner, ok
}

// PartnerSince returns the user's current partner, as Partner does, and
// when this pairing's matched was sent to the user.
func (s *Service) PartnerSince(id string) (partner string, matchedAt time.Time, ok bool) {
	s.users.mu.RLock()
	defer s.users.mu.RUnlock()
	sess, ok := s.users.inCall(id)
	if !ok {
		return "", time.Time{}, false
	}
	return sess.partner, sess.matchedAt, true
}
