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
	"sync/atomic"
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
	// HeartbeatEvery is how often this instance renews its presence in
	// the store (Store.Beat), which also notices an outage, the recovery
	// after it, a store that lost its data, and other instances that died.
	// Default 2 s.
	HeartbeatEvery time.Duration
	// PresenceTTL is how long this instance's presence lasts without a
	// heartbeat: the others take its users over that long after it died
	// (plus up to one of their heartbeats). Default 10 s.
	PresenceTTL time.Duration
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
	if c.HeartbeatEvery <= 0 {
		c.HeartbeatEvery = 2 * time.Second
	}
	if c.PresenceTTL <= 0 {
		c.PresenceTTL = 10 * time.Second
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
	net     string   // its network key (Profile.Net), for the user's reports
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

	// instance names this service in the store: its presence, the
	// instance of its users' profiles, its census figure.
	instance string
	// draining is set at shutdown: joins are refused from then on.
	draining atomic.Bool
	// beatMu orders heartbeats and the retirement: once retired is set,
	// no heartbeat (nor profile refresh, nor census) writes again.
	beatMu  sync.Mutex
	retired bool
	down    bool // the last heartbeat failed

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

// Ready is closed once the service hears the store's events.
func (s *Service) Ready() <-chan struct{} { return s.listening }

// waitReady waits until the service hears the store's events, which it
// does a moment after start (or once the store can be reached): a state
// change that comes before then waits, and is refused with ErrNotReady when
// ctx ends first.
func (s *Service) waitReady(ctx context.Context) error {
	select {
	case <-s.listening:
		return nil
	case <-ctx.Done():
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
	if err := s.waitReady(ctx); err != nil {
		return fmt.Errorf("join %s: %w", id, err)
	}
	if s.draining.Load() {
		return fmt.Errorf("join %s: %w", id, ErrDraining)
	}
	p.Instance = s.instance
	s.mu.Lock()
	if sess, ok := s.sessions[id]; ok {
		sess.tried = true
		// Before the store call: its match may be announced before it
		// returns.
		sess.queuedAt = time.Now()
	}
	s.mu.Unlock()
	err := s.store.Join(ctx, id, p)
	if errors.Is(err, ErrInstanceGone) && !s.draining.Load() {
		// The store lost this instance's presence (a Redis that lost its
		// data, or a takeover while this instance was cut off) since the
		// last heartbeat: renew it now, rather than refuse joins until
		// the next one.
		// Not bound by this join's deadline: a lost presence also
		// requeues every user of this instance (see lost).
		if berr := s.beat(context.WithoutCancel(ctx)); berr == nil {
			err = s.store.Join(ctx, id, p)
		}
	}
	if err != nil {
		return fmt.Errorf("join %s: %w", id, err)
	}
	s.mu.Lock()
	if sess, ok := s.sessions[id]; ok {
		sess.profile = &p
		sess.addr, sess.net = p.Addr, p.Net
	}
	s.mu.Unlock()
	s.afterInterestWait(p)
	return nil
}

// Next ends the user's call (the partner is told, both are requeued) or, with
// no call, keeps it queued. ErrNotJoined when the user never joined.
func (s *Service) Next(ctx context.Context, id string) error {
	return s.own(ctx, id, func() error {
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
// acknowledged but not filed again. ErrNoPartner when there is none.
func (s *Service) Report(ctx context.Context, id, reason string) error {
	s.mu.Lock()
	target, reported, sess, err := s.target(id)
	var by Peer
	if err == nil {
		by = Peer{ID: id, Addr: sess.addr, Net: sess.net}
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
	return s.own(ctx, id, func() error {
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
func (s *Service) own(ctx context.Context, id string, change func() error) error {
	if err := s.waitReady(ctx); err != nil {
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
// the store's word of it has not come through the stream yet. When the
// partner is connected here too, the pairing must hold from its side as
// well: a partner that has moved on (or whose own next is under way) is no
// partner any more, whatever this user was told.
func (s *Service) Partner(id string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess, ok := s.inCall(id)
	if !ok {
		return "", false
	}
	return sess.partner, true
}

// PartnerSince returns the user's current partner, as Partner does, and
// when this pairing's matched was sent to the user.
func (s *Service) PartnerSince(id string) (partner string, matchedAt time.Time, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess, ok := s.inCall(id)
	if !ok {
		return "", time.Time{}, false
	}
	return sess.partner, sess.matchedAt, true
}

// inCall returns the user's session when it has a partner as Partner
// defines it. Called with s.mu held.
func (s *Service) inCall(id string) (*session, bool) {
	sess, ok := s.sessions[id]
	if !ok || sess.partner == "" || sess.pending > 0 {
		return nil, false
	}
	if other, here := s.sessions[sess.partner]; here && (other.partner != id || other.pending > 0) {
		return nil, false
	}
	return sess, true
}

// Instance is the name this service has in the store.
func (s *Service) Instance() string { return s.instance }

// Drain starts this instance's shutdown: joins are refused from then on,
// and the store takes this instance over at once (Store.Retire): the
// partners of its users, wherever they are connected, are told and
// requeued, and nothing of this instance is left in the store. Its users'
// sockets are to be closed afterwards.
func (s *Service) Drain(ctx context.Context) error {
	s.draining.Store(true)
	s.beatMu.Lock()
	defer s.beatMu.Unlock()
	s.retired = true
	if err := s.store.Retire(ctx, s.instance); err != nil {
		return fmt.Errorf("drain %s: %w", s.instance, err)
	}
	return nil
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
	// Under beatMu, as refresh: no census figure after Drain.
	s.beatMu.Lock()
	defer s.beatMu.Unlock()
	if s.retired {
		return
	}
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
	// This instance's presence is in the store before anyone can join
	// through it (the store refuses joins through an instance without
	// one), and before the service reports ready.
	if err := s.register(ctx); err != nil {
		return err
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
		s.healthLoop,
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
	// Under beatMu: a refresh that ran after Drain would write back the
	// profiles the retirement removed.
	s.beatMu.Lock()
	defer s.beatMu.Unlock()
	if s.retired {
		return
	}
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

// register makes this instance's presence, retrying until the store
// answers or ctx is done.
func (s *Service) register(ctx context.Context) error {
	failing := false
	for {
		bctx, cancel := context.WithTimeout(ctx, s.cfg.HeartbeatEvery)
		_, err := s.store.Beat(bctx, s.instance, s.cfg.PresenceTTL)
		cancel()
		if err == nil {
			s.log.Info("instance present", "instance", s.instance)
			return nil
		}
		if !failing {
			s.log.Error("store unreachable, waiting to register", "err", err)
			failing = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.cfg.HeartbeatEvery):
		}
	}
}

// healthLoop renews this instance's presence, and with it watches the
// store. When the store comes back after an outage, the profiles are
// rewritten and the users this instance believes are waiting join again,
// so that nobody waits for ever in a queue that no longer exists. When the
// presence turned out to be gone (the others took this instance over while
// it was cut off, or Redis lost its data, however briefly), the store no
// longer knows its users at all: see lost.
func (s *Service) healthLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.beat(ctx) == errRetired {
			return
		}
	}
}

// errRetired: no heartbeat after Drain.
var errRetired = errors.New("instance retired")

// beat renews this instance's presence once and acts on what it finds.
func (s *Service) beat(ctx context.Context) error {
	s.beatMu.Lock()
	if s.retired {
		s.beatMu.Unlock()
		return errRetired
	}
	bctx, cancel := context.WithTimeout(ctx, s.cfg.HeartbeatEvery)
	pres, err := s.store.Beat(bctx, s.instance, s.cfg.PresenceTTL)
	cancel()
	wasDown := s.down
	s.down = err != nil
	s.beatMu.Unlock()
	if err != nil {
		if !wasDown {
			s.log.Error("store unreachable", "err", err)
		}
		return err
	}
	if pres.TakenOver > 0 {
		s.log.Warn("took over lapsed instances", "instances", pres.TakenOver)
		// Their users' partners were requeued behind windows.
		s.rematchAfterWindow()
	}
	switch {
	case !pres.Kept:
		s.log.Warn("store lost this instance's users (taken over, or data lost): requeueing them")
		s.lost(ctx)
	case wasDown:
		s.log.Info("store reachable again")
		s.recover(ctx)
	}
	return nil
}

// lost handles a store that no longer knows this instance's users: every
// user in a call is told partner-left (ReasonDisconnect), as its partner
// was (or will be, by its own instance), and every user who had joined
// joins again.
func (s *Service) lost(ctx context.Context) {
	var inCall []string
	s.mu.Lock()
	for id, sess := range s.sessions {
		// Events of the lost store may never come: an own next or leave
		// still waiting for its EventDone must not silence the user.
		sess.pending = 0
		if sess.partner != "" {
			sess.endCall()
			inCall = append(inCall, id)
		}
	}
	s.mu.Unlock()
	for _, id := range inCall {
		s.notify.PartnerLeft(id, ReasonDisconnect)
	}
	s.rejoin(ctx, s.joinedProfiles(func(*session) bool { return true }))
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
	s.rejoin(ctx, s.joinedProfiles(func(sess *session) bool { return sess.partner == "" }))
}

// rejoin queues the users again, and runs matching.
func (s *Service) rejoin(ctx context.Context, waiting map[string]Profile) {
	for id, p := range waiting {
		p.Instance = s.instance
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
