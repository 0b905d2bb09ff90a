// Package queue is the matchmaking domain: who waits, who is paired with whom,
// and which announcements each user receives, in which order. The atomic
// state changes live behind Store; this package runs them for the users
// connected to this server instance and turns the store's ordered event
// stream into announcements for them.
package queue

import (
	"context"
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
	// PartnerRegion is the region the partner gave in its join.
	PartnerRegion string
	// TextOnly: the two chat by text only (both asked for it).
	TextOnly bool
}

// Notifier delivers announcements to users connected to this instance. The
// service calls it from one goroutine, in the order of the state changes.
type Notifier interface {
	Matched(to string, m Match)
	PartnerLeft(to string, reason Reason)
	// Banned drops the user's connection: its address was banned.
	Banned(to string)
}

// Config holds the service's timings; zero values take the defaults. The
// store's own windows (no rematch, interest wait) come from the store
// (Store.Windows), which enforces them.
type Config struct {
	// RefreshEvery is how often the profiles of connected users are
	// rewritten, well inside the store's profile TTL. Default
	// DefaultRefreshEvery.
	RefreshEvery time.Duration
	// SweepEvery is how often users left behind by a dead instance are
	// swept. Default DefaultSweepEvery.
	SweepEvery time.Duration
	// HeartbeatEvery is how often this instance renews its presence in
	// the store (Store.Beat), which also notices an outage, the recovery
	// after it, a store that lost its data, and other instances that died.
	// Default DefaultHeartbeatEvery.
	HeartbeatEvery time.Duration
	// PresenceTTL is how long this instance's presence lasts without a
	// heartbeat: the others take its users over that long after it died
	// (plus up to one of their heartbeats). Default DefaultPresenceTTL.
	PresenceTTL time.Duration
	// CensusEvery is how often this instance reports its number of
	// connected users to the store (see Counts); a report lapses after
	// three of these. Default DefaultCensusEvery.
	CensusEvery time.Duration
	// ResumeWindow is how long the store holds the session of a
	// resumable user whose connection dropped (see Hold). Default
	// DefaultResumeWindow.
	ResumeWindow time.Duration
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

// Defaults of Config. config's table takes the heartbeat's and the
// presence's for the README: a presence lasts several heartbeats, so that
// one late heartbeat does not get an instance's users taken over.
const (
	DefaultRefreshEvery   = 2 * time.Minute
	DefaultSweepEvery     = 30 * time.Second
	DefaultHeartbeatEvery = 2 * time.Second
	DefaultPresenceTTL    = 10 * time.Second
	DefaultCensusEvery    = 5 * time.Second
)

func (c Config) withDefaults() Config {
	if c.RefreshEvery <= 0 {
		c.RefreshEvery = DefaultRefreshEvery
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = DefaultSweepEvery
	}
	if c.HeartbeatEvery <= 0 {
		c.HeartbeatEvery = DefaultHeartbeatEvery
	}
	if c.PresenceTTL <= 0 {
		c.PresenceTTL = DefaultPresenceTTL
	}
	if c.CensusEvery <= 0 {
		c.CensusEvery = DefaultCensusEvery
	}
	if c.ResumeWindow <= 0 {
		c.ResumeWindow = DefaultResumeWindow
	}
	if c.Observer == nil {
		c.Observer = noObserver{}
	}
	return c
}

// Service runs matchmaking for the users connected to this instance: the
// users' commands (commands.go), what it knows of each user (sessions.go),
// the store's events turned into announcements (announce.go), the matching
// runs nobody's action starts (rematch.go), and this instance's life in the
// store (lifecycle.go).
type Service struct {
	store  Store
	notify Notifier
	log    *slog.Logger
	cfg    Config

	users *sessions
	// inst is this instance in the store: presence, heartbeats, refresh,
	// census, sweeps, retirement.
	inst *instance
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
	users := newSessions()
	// The windows are the store's: matching runs again when one lapses.
	rematch := newRematchTimer(store.Windows())
	return &Service{
		store:     store,
		notify:    notify,
		log:       log,
		cfg:       cfg,
		users:     users,
		inst:      newInstance(store, cfg, log, users, notify, rematch),
		rematch:   rematch,
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

// Instance is the name this service has in the store.
func (s *Service) Instance() string { return s.inst.name }

// Drain starts this instance's shutdown: joins are refused from then on,
// and the store takes this instance over at once (Store.Retire): the
// partners of its users, wherever they are connected, are told and
// requeued, and nothing of this instance is left in the store. Its users'
// sockets are to be closed afterwards. It returns the store's error.
func (s *Service) Drain(ctx context.Context) error { return s.inst.drain(ctx) }

// Ping reports whether the store answers.
func (s *Service) Ping(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("store ping: %w", err)
	}
	return nil
}

// Counts reports this instance's connected users to the store and returns
// the figures across every instance: one store round trip.
func (s *Service) Counts(ctx context.Context) (Counts, error) { return s.inst.counts(ctx) }

// Run delivers announcements and keeps the store in shape (profile refresh,
// sweeps, rematch after windows, recovery after outages) until ctx is done.
func (s *Service) Run(ctx context.Context) error {
	// This instance's presence is in the store before anyone can join
	// through it (the store refuses joins through an instance without
	// one), and before the service reports ready.
	if err := s.inst.register(ctx); err != nil {
		return err
	}

	var wg sync.WaitGroup
	loops := append([]func(context.Context){
		func(ctx context.Context) {
			ready := func() { s.readyOnce.Do(func() { close(s.listening) }) }
			_ = s.store.Listen(ctx, ready, s.handle)
		},
		s.rematchLoop,
	}, s.inst.loops()...)
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

// matchRetry is how soon a matching run that failed is tried again.
const matchRetry = time.Second

// rematchLoop runs matching whenever the rematch timer says so.
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
