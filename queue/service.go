// Package queue is the matchmaking domain: who waits, who is paired with whom,
// and which announcements each user receives, in which order. The atomic
// state changes live behind Store; this package runs them for the users
// connected to this server instance and turns the store's ordered event
// stream into announcements for them.
package queue

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Match is what a user learns about a new pairing.
type Match struct {
	RoomID      string
	PartnerID   string
	PartnerName string
	Initiator   bool
	// CommonInterests are the interests the two share, maybe none.
	CommonInterests []string
}

// Notifier delivers announcements to users connected to this instance. The
// service calls it from one goroutine, in the order of the state changes.
type Notifier interface {
	Matched(to string, m Match)
	PartnerLeft(to string, reason Reason)
}

// Config holds the service's timings; zero values take the defaults. The
// store's own windows (no rematch, interest wait) come from the store
// (Store.Windows), which enforces them.
type Config struct {
	// RefreshEvery is how often the profiles of connected users are
	// rewritten, well inside the store's profile TTL. Default 2 min.
	RefreshEvery time.Duration
	// SweepEvery is how often users left behind by a dead instance are
	// swept. Default 30 s.
	SweepEvery time.Duration
	// HealthEvery is how often the store is pinged to notice an outage and
	// the recovery after it. Default 1 s.
	HealthEvery time.Duration
	// CensusEvery is how often this instance reports its number of
	// connected users to the store (see Counts); a report lapses after
	// three of these. Default 5 s.
	CensusEvery time.Duration
	// Observer is told what the service's users do (metrics); nil: nobody.
	Observer Observer
}

// Observer is told of the matches and call ends the service's users see,
// and of their own Nexts and leaves (a *metrics.Metrics).
type Observer interface {
	// Matched: a user was matched after waiting waited since it was
	// queued (0 when unknown); initiator is set for one of the two users.
	Matched(initiator bool, waited time.Duration)
	// CallEnded: a user's partner ended their call for reason, lasted
	// after the match.
	CallEnded(reason Reason, lasted time.Duration)
	// Nexted: a user's Next (or block) took effect.
	Nexted()
	// Left: a user was taken out of the queue or its call, for reason.
	Left(reason Reason)
}

// noObserver is the Observer of a service given none.
type noObserver struct{}

func (noObserver) Matched(bool, time.Duration)     {}
func (noObserver) CallEnded(Reason, time.Duration) {}
func (noObserver) Nexted()                         {}
func (noObserver) Left(Reason)                     {}

func (c Config) withDefaults() Config {
	if c.RefreshEvery <= 0 {
		c.RefreshEvery = 2 * time.Minute
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = 30 * time.Second
	}
	if c.HealthEvery <= 0 {
		c.HealthEvery = time.Second
	}
	if c.CensusEvery <= 0 {
		c.CensusEvery = 5 * time.Second
	}
	if c.Observer == nil {
		c.Observer = noObserver{}
	}
	return c
}

// session is what this instance knows of one of its connected users.
type session struct {
	// tried is set by any join, even one that failed: a join whose answer
	// was lost (a timeout) may still have queued the user, so its
	// disconnect must still reach the store.
	tried   bool
	profile *Profile // set by a successful join, cleared by leave
	addr    string   // the address key of the last join, kept after a leave
	partner string   // current partner as announced, "" when none
	// partnerAddr is the current partner's address key; reported is set
	// once the user has reported the current partner.
	partnerAddr string
	reported    bool
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
	// pending counts this user's own next/leave requests whose EventDone has
	// not come through the stream yet. Announcements before it are stale:
	// they concern a pairing the user's own action already ended.
	pending int
}

// Service runs matchmaking for the users connected to this instance.
type Service struct {
	store  Store
	notify Notifier
	log    *slog.Logger
	cfg    Config
	// windows are the store's; matching runs again when one lapses.
	windows Windows

	// mu guards sessions; relays read partners under RLock on every signal
	// and chat message, so they do not wait for each other.
	mu       sync.RWMutex
	sessions map[string]*session

	// instance names this service in the store's census.
	instance string

	// rematch times the matching runs that nobody's action would start:
	// after a no-rematch window, after an interest wait.
	rematch *rematchTimer
	// listening is closed once the store's events reach this service.
	listening chan struct{}
	readyOnce sync.Once
}

// NewService builds a service over store that announces through notify.
func NewService(store Store, notify Notifier, log *slog.Logger, cfg Config) *Service {
	cfg = cfg.withDefaults()
	return &Service{
		store:     store,
		notify:    notify,
		log:       log,
		cfg:       cfg,
		windows:   store.Windows(),
		sessions:  make(map[string]*session),
		instance:  rand.Text(),
		rematch:   newRematchTimer(),
		listening: make(chan struct{}),
	}
}

// Ready is closed once the service hears the store's events; until then
// state changes are refused with ErrNotReady.
func (s *Service) Ready() <-chan struct{} { return s.listening }

func (s *Service) checkReady() error {
	select {
	case <-s.listening:
		return nil
	default:
		return ErrNotReady
	}
}

// Connect registers a user connected to this instance.
func (s *Service) Connect(id string) {
	s.mu.Lock()
	s.sessions[id] = &session{}
	s.mu.Unlock()
}

// Join queues the user with its profile and runs matching. It returns ErrBusy
// when the user is already queued or in a call.
func (s *Service) Join(ctx context.Context, id string, p Profile) error {
	if err := s.checkReady(); err != nil {
		return fmt.Errorf("join %s: %w", id, err)
	}
	s.mu.Lock()
	if sess, ok := s.sessions[id]; ok {
		sess.tried = true
		// Before the store call: its match may be announced before it
		// returns.
		sess.queuedAt = time.Now()
	}
	s.mu.Unlock()
	if err := s.store.Join(ctx, id, p); err != nil {
		return fmt.Errorf("join %s: %w", id, err)
	}
	s.mu.Lock()
	if sess, ok := s.sessions[id]; ok {
		sess.profile = &p
		sess.addr = p.Addr
	}
	s.mu.Unlock()
	s.afterInterestWait(p)
	return nil
}

// Next ends the user's call (the partner is told, both are requeued) or, with
// no call, keeps it queued. ErrNotJoined when the user never joined.
func (s *Service) Next(ctx context.Context, id string) error {
	return s.own(id, func() error {
		if err := s.store.Next(ctx, id); err != nil {
			return fmt.Errorf("next %s: %w", id, err)
		}
		s.cfg.Observer.Nexted()
		return nil
	})
}

// recentPartner is how long after a partner left a user may still report
// or block it: the time to find the button after the call ended.
const recentPartner = 2 * time.Minute

// target returns the user's current partner, or the one that just left;
// reported says whether the user reported it already. Called with s.mu held.
func (s *Service) target(id string) (p Peer, reported bool, sess *session, err error) {
	sess, ok := s.sessions[id]
	switch {
	case !ok:
		return Peer{}, false, nil, ErrNoPartner
	case sess.partner != "":
		return Peer{ID: sess.partner, Addr: sess.partnerAddr}, sess.reported, sess, nil
	case sess.last.ID != "" && time.Since(sess.lastAt) < recentPartner:
		return sess.last, sess.lastReported, sess, nil
	}
	return Peer{}, false, nil, ErrNoPartner
}

// Block ends the user's call as Next does, and keeps the user and its
// current (or just-left) partner apart from then on. ErrNoPartner when
// there is neither; ErrNotJoined as for Next.
func (s *Service) Block(ctx context.Context, id string) error {
	s.mu.Lock()
	target, _, sess, err := s.target(id)
	var by Peer
	if err == nil {
		by = Peer{ID: id, Addr: sess.addr}
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("block by %s: %w", id, err)
	}
	return s.own(id, func() error {
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
// acknowledged but not filed again. ErrNoPartner when there is none.
func (s *Service) Report(ctx context.Context, id, reason string) error {
	s.mu.Lock()
	target, reported, sess, err := s.target(id)
	var by Peer
	if err == nil {
		by = Peer{ID: id, Addr: sess.addr}
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("report by %s: %w", id, err)
	}
	if reported {
		return nil
	}
	cooling, err := s.store.Report(ctx, Report{Reporter: by, Reported: target, Reason: reason, At: time.Now()})
	if err != nil {
		return fmt.Errorf("report %s by %s: %w", target.ID, id, err)
	}
	s.mu.Lock()
	if sess, ok := s.sessions[id]; ok {
		switch target.ID {
		case sess.partner:
			sess.reported = true
		case sess.last.ID:
			sess.lastReported = true
		}
	}
	s.mu.Unlock()
	s.log.Info("report", "socket", id, "addr", by.Addr, "reported", target.ID, "reported_addr", target.Addr, "reason", reason)
	if cooling {
		s.log.Warn("cool-down started", "addr", target.Addr, "socket", target.ID)
	}
	return nil
}

// Leave takes the user out of the queue and its call; the partner is told and
// requeued. ErrNotJoined when the user never joined or has left already.
func (s *Service) Leave(ctx context.Context, id string) error {
	return s.leave(ctx, id, ReasonLeave)
}

// Disconnect is Leave for a user whose connection is gone; the user is
// forgotten by this instance.
func (s *Service) Disconnect(ctx context.Context, id string) error {
	s.mu.Lock()
	sess, ok := s.sessions[id]
	joined := ok && sess.tried
	s.mu.Unlock()
	var err error
	if joined {
		err = s.leave(ctx, id, ReasonDisconnect)
	}
	s.mu.Lock()
	delete(s.sessions, id)
	s.mu.Unlock()
	if errors.Is(err, ErrNotJoined) {
		return nil
	}
	return err
}

func (s *Service) leave(ctx context.Context, id string, reason Reason) error {
	return s.own(id, func() error {
		if err := s.store.Leave(ctx, id, reason); err != nil {
			return fmt.Errorf("leave %s (%s): %w", id, reason, err)
		}
		s.cfg.Observer.Left(reason)
		s.mu.Lock()
		if sess, ok := s.sessions[id]; ok {
			sess.profile = nil
		}
		s.mu.Unlock()
		return nil
	})
}

// own runs a user's own next or leave. Until its EventDone comes through the
// stream, announcements for the user are stale and dropped; if the store
// refused or failed, no EventDone comes and the count is taken back.
func (s *Service) own(id string, change func() error) error {
	if err := s.checkReady(); err != nil {
		return err
	}
	s.mu.Lock()
	if sess, ok := s.sessions[id]; ok {
		sess.pending++
		// A Next requeues the user (and its match may be announced before
		// the store call returns); after a leave, nothing waits for it.
		sess.queuedAt = time.Now()
	}
	s.mu.Unlock()
	err := change()
	if err != nil {
		s.mu.Lock()
		if sess, ok := s.sessions[id]; ok && sess.pending > 0 {
			sess.pending--
		}
		s.mu.Unlock()
		return err
	}
	// The pairing just dissolved blocks a rematch of the two for the
	// window: matching must run again when it expires.
	s.rematchAfterWindow()
	s.mu.RLock()
	var p *Profile
	if sess, ok := s.sessions[id]; ok {
		p = sess.profile
	}
	s.mu.RUnlock()
	if p != nil {
		s.afterInterestWait(*p)
	}
	return nil
}

// windowSlack is how long after a no-rematch window the matching run that
// it calls for comes. Redis counts a key's expiry in whole milliseconds and
// expires it only once its clock is past that millisecond: a run in the
// very millisecond would find the pair still blocked, and with nobody
// acting, no other run would come.
const windowSlack = 20 * time.Millisecond

// rematchAfterWindow asks for a matching run once a window that starts
// now has expired.
func (s *Service) rematchAfterWindow() {
	s.rematch.schedule(time.Now().Add(s.windows.RematchWindow + windowSlack))
}

// afterInterestWait asks for a matching run once a user with interests
// who is queued now has waited the interest wait, so that it falls back to
// anyone open then.
func (s *Service) afterInterestWait(p Profile) {
	if len(p.Interests) > 0 {
		s.rematch.schedule(time.Now().Add(s.windows.InterestWait + windowSlack))
	}
}

// Partner returns the user's current partner, as announced to it. A user
// whose own next or leave is under way has none: that call is ending, even if
// the store's word of it has not come through the stream yet.
func (s *Service) Partner(id string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess, ok := s.sessions[id]
	if !ok || sess.partner == "" || sess.pending > 0 {
		return "", false
	}
	return sess.partner, true
}

// PartnerSince returns the user's current partner, as Partner does, and
// when this pairing's matched was sent to the user.
func (s *Service) PartnerSince(id string) (partner string, matchedAt time.Time, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess, ok := s.sessions[id]
	if !ok || sess.partner == "" || sess.pending > 0 {
		return "", time.Time{}, false
	}
	return sess.partner, sess.matchedAt, true
}

// Ping reports whether the store answers.
func (s *Service) Ping(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("store ping: %w", err)
	}
	return nil
}

// Counts reports this instance's connected users to the store and returns
// the figures across every instance: one store round trip.
func (s *Service) Counts(ctx context.Context) (Counts, error) {
	c, err := s.store.Census(ctx, s.instance, s.online(), 3*s.cfg.CensusEvery)
	if err != nil {
		return Counts{}, fmt.Errorf("counts: %w", err)
	}
	return c, nil
}

// online is the number of users connected to this instance.
func (s *Service) online() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sessions)
}

// census keeps this instance's figure in the store's online count, also
// when nobody asks this instance for Counts.
func (s *Service) census(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CensusEvery)
	defer cancel()
	if _, err := s.Counts(ctx); err != nil {
		s.log.Debug("census failed", "err", err)
	}
}

// handle turns one store event into at most one announcement.
func (s *Service) handle(e Event) {
	s.mu.Lock()
	sess, ok := s.sessions[e.User]
	if !ok {
		s.mu.Unlock()
		return // not connected here
	}
	switch e.Kind {
	case EventDone:
		if sess.pending > 0 {
			sess.pending--
		}
		sess.endCall()
		s.mu.Unlock()
	case EventMatched:
		if sess.pending > 0 {
			s.mu.Unlock()
			return
		}
		sess.partner, sess.partnerAddr, sess.reported = e.Partner, e.PartnerAddr, false
		var waited time.Duration
		if !sess.queuedAt.IsZero() {
			waited = time.Since(sess.queuedAt)
		}
		sess.queuedAt = time.Time{}
		// Just before the announcement goes out (to this instance's own
		// socket: no network in between), so that no relay sees the
		// pairing without it.
		sess.matchedAt = time.Now()
		s.mu.Unlock()
		s.notify.Matched(e.User, Match{RoomID: e.Room, PartnerID: e.Partner, PartnerName: e.PartnerName, Initiator: e.Initiator, CommonInterests: e.Common})
		s.cfg.Observer.Matched(e.Initiator, waited)
	case EventPartnerLeft:
		// The call ended whether or not the user's own Next made the
		// announcement stale: the partner's end is the one that counts.
		inCall, lasted := sess.partner != "", time.Since(sess.matchedAt)
		stale := sess.pending > 0
		if !stale {
			sess.endCall()
			sess.queuedAt = time.Now() // requeued
		}
		p := sess.profile
		s.mu.Unlock()
		if inCall {
			s.cfg.Observer.CallEnded(e.Reason, lasted)
		}
		if stale {
			return
		}
		s.notify.PartnerLeft(e.User, e.Reason)
		// The user's old partner is blocked for the window: run matching
		// when it expires.
		s.rematchAfterWindow()
		if p != nil {
			s.afterInterestWait(*p) // requeued
		}
	default:
		s.mu.Unlock()
	}
}

// endCall forgets the current partner, keeping it as the one that just left.
func (sess *session) endCall() {
	if sess.partner == "" {
		return
	}
	sess.last = Peer{ID: sess.partner, Addr: sess.partnerAddr}
	sess.lastAt = time.Now()
	sess.lastReported = sess.reported
	sess.partner, sess.partnerAddr, sess.reported = "", "", false
}

// Run delivers announcements and keeps the store in shape (profile refresh,
// sweeps, rematch after windows, recovery after outages) until ctx is done.
func (s *Service) Run(ctx context.Context) error {
	// Which store this instance starts on, known before anyone can join:
	// a store that restarts after this point is noticed.
	ictx, cancel := context.WithTimeout(ctx, s.cfg.HealthEvery)
	incarnation, err := s.store.Incarnation(ictx)
	cancel()
	if err != nil {
		incarnation = "" // unreachable: its return triggers the recovery anyway
	}

	var wg sync.WaitGroup
	loops := []func(context.Context){
		func(ctx context.Context) {
			ready := func() { s.readyOnce.Do(func() { close(s.listening) }) }
			_ = s.store.Listen(ctx, ready, s.handle)
		},
		s.rematchLoop,
		s.every(s.cfg.RefreshEvery, s.refresh),
		s.every(s.cfg.SweepEvery, s.sweep),
		s.every(s.cfg.CensusEvery, s.census),
		func(ctx context.Context) { s.healthLoop(ctx, incarnation) },
	}
	for _, loop := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func (s *Service) every(d time.Duration, work func(context.Context)) func(context.Context) {
	return func(ctx context.Context) {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				work(ctx)
			}
		}
	}
}

// matchRetry is how soon a matching run that failed is tried again.
const matchRetry = time.Second

func (s *Service) rematchLoop(ctx context.Context) {
	failing := false
	for {
		if err := s.rematch.wait(ctx); err != nil {
			return
		}
		mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.store.Match(mctx)
		cancel()
		switch {
		case err == nil:
			if failing {
				s.log.Info("matching works again")
			}
			failing = false
		case ctx.Err() == nil:
			// The users whose windows expired still wait for this run:
			// nothing else would start it if no one acts.
			s.rematch.schedule(time.Now().Add(matchRetry))
			if !failing {
				s.log.Warn("matching failed, retrying", "err", err)
			}
			failing = true
		}
	}
}

// refresh rewrites the profiles of the users who joined through this instance,
// so that they never expire while connected and come back after a store loss.
func (s *Service) refresh(ctx context.Context) {
	profiles := s.joinedProfiles(func(*session) bool { return true })
	if len(profiles) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.store.Refresh(ctx, profiles); err != nil {
		s.log.Warn("profile refresh failed", "users", len(profiles), "err", err)
	}
}

func (s *Service) joinedProfiles(keep func(*session) bool) map[string]Profile {
	s.mu.Lock()
	defer s.mu.Unlock()
	profiles := make(map[string]Profile)
	for id, sess := range s.sessions {
		if sess.profile != nil && keep(sess) {
			profiles[id] = *sess.profile
		}
	}
	return profiles
}

func (s *Service) sweep(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.store.Sweep(ctx); err != nil {
		s.log.Warn("sweep failed", "err", err)
	}
}

// healthLoop watches the store. When it comes back after an outage, or
// turns out to be a new incarnation (a restarted Redis has lost everything,
// however short the restart), the profiles are rewritten and the users this
// instance believes are waiting join again, so that nobody waits for ever in
// a queue that no longer exists.
func (s *Service) healthLoop(ctx context.Context, known string) {
	t := time.NewTicker(s.cfg.HealthEvery)
	defer t.Stop()
	down := known == ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, s.cfg.HealthEvery)
		incarnation, err := s.store.Incarnation(pctx)
		cancel()
		if err != nil {
			if !down {
				down = true
				s.log.Error("store unreachable", "err", err)
			}
			continue
		}
		lost := known != "" && incarnation != known
		if down {
			down = false
			s.log.Info("store reachable again")
			lost = true
		}
		known = incarnation
		if lost {
			s.recover(ctx)
		}
	}
}

func (s *Service) recover(ctx context.Context) {
	// Events of the lost store may never come: an own next or leave still
	// waiting for its EventDone must not silence the user for ever.
	s.mu.Lock()
	for _, sess := range s.sessions {
		sess.pending = 0
	}
	s.mu.Unlock()
	s.refresh(ctx)
	waiting := s.joinedProfiles(func(sess *session) bool { return sess.partner == "" })
	for id, p := range waiting {
		jctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.store.Join(jctx, id, p)
		cancel()
		if err != nil && !errors.Is(err, ErrBusy) {
			s.log.Warn("requeue after outage failed", "socket", id, "err", err)
		}
	}
	s.log.Info("requeued waiting users after outage", "users", len(waiting))
	// Users still queued were refused as busy above, which runs no
	// matching; a window may also have expired during the outage.
	s.rematch.schedule(time.Now())
}
