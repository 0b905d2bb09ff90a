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

// instance is this server instance as the store knows it: its presence
// (registered at start, renewed by heartbeats, retired by Drain), the
// profiles of its users (refreshed), its census figure, and what it does
// when a heartbeat finds the store gone, back, or without its users.
type instance struct {
	// name names this instance in the store: its presence, the instance
	// of its users' profiles, its census figure.
	name    string
	store   Store
	cfg     Config
	log     *slog.Logger
	users   *sessions
	notify  Notifier
	rematch *rematchTimer

	// draining is set at shutdown: joins are refused from then on.
	draining atomic.Bool
	// mu orders heartbeats and the retirement: once retired is set, no
	// heartbeat (nor profile refresh, nor census) writes again.
	mu      sync.Mutex
	retired bool
	down    bool // the last heartbeat failed

	// rec runs the reconciliations after a failover; resync asks the
	// health loop for one (a failed one is tried again), kick wakes it.
	rec    reconciler
	resync atomic.Bool
	kick   chan struct{}
}

func newInstance(store Store, cfg Config, log *slog.Logger, users *sessions, notify Notifier, rematch *rematchTimer) *instance {
	return &instance{
		name:    rand.Text(),
		store:   store,
		cfg:     cfg,
		log:     log,
		users:   users,
		notify:  notify,
		rematch: rematch,
		kick:    make(chan struct{}, 1),
	}
}

// needReconcile asks the health loop for a reconciliation (see
// reconcile.go), at once.
func (in *instance) needReconcile() {
	in.resync.Store(true)
	select {
	case in.kick <- struct{}{}:
	default:
	}
}

// loops are the instance's periodic work, each to run in its own
// goroutine until ctx is done.
func (in *instance) loops() []func(context.Context) {
	return []func(context.Context){
		every(in.cfg.RefreshEvery, in.refresh),
		every(in.cfg.SweepEvery, in.sweep),
		every(in.cfg.CensusEvery, in.census),
		in.healthLoop,
	}
}

func every(d time.Duration, work func(context.Context)) func(context.Context) {
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

// register makes this instance's presence, retrying until the store
// answers or ctx is done.
func (in *instance) register(ctx context.Context) error {
	failing := false
	for {
		bctx, cancel := context.WithTimeout(ctx, in.cfg.HeartbeatEvery)
		_, err := in.store.Beat(bctx, in.name, in.cfg.PresenceTTL)
		cancel()
		if err == nil {
			in.log.Info("instance present", "instance", in.name)
			return nil
		}
		if !failing {
			in.log.Error("store unreachable, waiting to register", "err", err)
			failing = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(in.cfg.HeartbeatEvery):
		}
	}
}

// drain retires this instance in the store (see Service.Drain).
func (in *instance) drain(ctx context.Context) error {
	in.draining.Store(true)
	in.mu.Lock()
	defer in.mu.Unlock()
	in.retired = true
	if err := in.store.Retire(ctx, in.name); err != nil {
		return fmt.Errorf("drain %s: %w", in.name, err)
	}
	return nil
}

// counts reports this instance's connected users to the store and returns
// the figures across every instance (see Service.Counts).
func (in *instance) counts(ctx context.Context) (Counts, error) {
	c, err := in.store.Census(ctx, in.name, in.users.count(), 3*in.cfg.CensusEvery)
	if err != nil {
		return Counts{}, fmt.Errorf("counts: %w", err)
	}
	return c, nil
}

// census keeps this instance's figure in the store's online count, also
// when nobody asks this instance for Counts.
func (in *instance) census(ctx context.Context) {
	// Under mu, as refresh: no census figure after Drain.
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.retired {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, in.cfg.CensusEvery)
	defer cancel()
	if _, err := in.counts(ctx); err != nil {
		in.log.Debug("census failed", "err", err)
	}
}

// refresh rewrites the profiles of the users who joined through this instance,
// so that they never expire while connected and come back after a store loss.
func (in *instance) refresh(ctx context.Context) {
	// Under mu: a refresh that ran after Drain would write back the
	// profiles the retirement removed.
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.retired {
		return
	}
	// Not a held user's: its profile is the store's until it resumes.
	profiles := in.users.profiles(func(sess *session) bool { return !sess.holding })
	if len(profiles) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := in.store.Refresh(ctx, profiles); err != nil {
		in.log.Warn("profile refresh failed", "users", len(profiles), "err", err)
	}
}

// sweep has the store remove the users of instances that died without a
// goodbye, once their profiles have expired.
func (in *instance) sweep(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := in.store.Sweep(ctx); err != nil {
		in.log.Warn("sweep failed", "err", err)
	}
}

// healthLoop renews this instance's presence, and with it watches the
// store. When the store comes back after an outage, the profiles are
// rewritten and the users this instance believes are waiting join again,
// so that nobody waits for ever in a queue that no longer exists. When the
// presence turned out to be gone (the others took this instance over while
// it was cut off, or Redis lost its data, however briefly), the store no
// longer knows its users at all: see lost.
func (in *instance) healthLoop(ctx context.Context) {
	t := time.NewTicker(in.cfg.HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-in.kick:
		case <-t.C:
			if in.beat(ctx) == errRetired {
				return
			}
		}
		// Here, not in beat: a join that renews the presence (Join) runs
		// beat, and must not wait for a reconciliation that waits for it.
		if in.resync.Swap(false) {
			if err := in.reconcile(ctx, "failover"); err != nil {
				in.log.Error("reconcile failed, retrying at the next heartbeat", "err", err)
				in.resync.Store(true)
			}
		}
	}
}

// errRetired: no heartbeat after Drain.
var errRetired = errors.New("instance retired")

// beat renews this instance's presence once and acts on what it finds.
func (in *instance) beat(ctx context.Context) error {
	in.mu.Lock()
	if in.retired {
		in.mu.Unlock()
		return errRetired
	}
	bctx, cancel := context.WithTimeout(ctx, in.cfg.HeartbeatEvery)
	pres, err := in.store.Beat(bctx, in.name, in.cfg.PresenceTTL)
	cancel()
	wasDown := in.down
	in.down = err != nil
	in.mu.Unlock()
	if err != nil {
		if !wasDown {
			in.log.Error("store unreachable", "err", err)
		}
		return err
	}
	if pres.TakenOver > 0 {
		in.log.Warn("took over lapsed instances", "instances", pres.TakenOver)
		// Their users' partners were requeued behind windows.
		in.rematch.afterWindow()
	}
	switch {
	case !pres.Kept:
		in.log.Warn("store lost this instance's users (taken over, or data lost): requeueing them")
		in.lost(ctx)
	case pres.Switched:
		// The last state changes before the switch may be lost.
		in.log.Warn("store failed over to another server: reconciling")
		in.needReconcile()
	case wasDown:
		// The store may have lost the queue (not the calls), and own
		// requests cut off by the outage may never be announced: the
		// profiles are rewritten, and a reconciliation requeues who
		// waits and settles the requests (see Reconciler). (The switch
		// to another server is noticed at a later beat when this one
		// could not ask which server answers.)
		in.log.Info("store reachable again: reconciling")
		in.refresh(ctx)
		in.needReconcile()
	}
	return nil
}

// lost handles a store that no longer knows this instance's users: every
// user in a call is told partner-left (ReasonDisconnect), as its partner
// was (or will be, by its own instance), and every user who had joined
// joins again.
func (in *instance) lost(ctx context.Context) {
	for _, id := range in.users.endCalls() {
		in.notify.PartnerLeft(id, ReasonDisconnect)
	}
	in.rejoin(ctx, in.users.profiles(func(*session) bool { return true }))
}

// rejoin queues the users again, and runs matching.
func (in *instance) rejoin(ctx context.Context, waiting map[string]Profile) {
	for id, p := range waiting {
		p.Instance = in.name
		jctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := in.store.Join(jctx, id, p)
		cancel()
		if err != nil && !errors.Is(err, ErrBusy) {
			in.log.Warn("requeue after outage failed", "socket", id, "err", err)
		}
	}
	in.log.Info("requeued waiting users after outage", "users", len(waiting))
	// Users still queued were refused as busy above, which runs no
	// matching; a window may also have expired during the outage.
	in.rematch.schedule(time.Now())
}
