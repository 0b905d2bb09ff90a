package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/zivro/zivro/queue"
)

// storeOps are the store calls that are timed, as the op label names them.
var storeOps = []string{"join", "next", "leave", "block", "report", "match", "refresh", "sweep", "ping", "beat", "retire", "census", "banned"}

// Store wraps st so that its calls are timed and their failures counted,
// and the lag of the events it delivers observed. A method st gains later
// passes through untimed until it is added here.
func (m *Metrics) Store(st queue.Store) queue.Store {
	return &timedStore{Store: st, m: m}
}

type timedStore struct {
	queue.Store
	m *Metrics
}

// observe times one call of op that started at start and ended with err.
func (s *timedStore) observe(op string, start time.Time, err error) {
	s.m.storeCalls.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if failed(err) {
		s.m.storeErrors.WithLabelValues(op).Inc()
	}
}

// failed tells a failure from nil and from the store's refusals, which
// are answers: every error a queue.Store returns (see queue.ErrBusy) but
// ErrStoreFull, which says the store is in trouble. The users see the
// refusals as the acks busy, not-joined, draining (an instance taken
// over) and cooling-down (handler/events/ack.go).
func failed(err error) bool {
	switch {
	case err == nil,
		errors.Is(err, queue.ErrBusy),
		errors.Is(err, queue.ErrNotJoined),
		errors.Is(err, queue.ErrInstanceGone),
		errors.Is(err, queue.ErrCoolDown):
		return false
	}
	return true
}

func (s *timedStore) Join(ctx context.Context, id string, p queue.Profile) error {
	start := time.Now()
	err := s.Store.Join(ctx, id, p)
	s.observe("join", start, err)
	return err
}

func (s *timedStore) Next(ctx context.Context, id string) error {
	start := time.Now()
	err := s.Store.Next(ctx, id)
	s.observe("next", start, err)
	return err
}

func (s *timedStore) Leave(ctx context.Context, id string, reason queue.Reason) error {
	start := time.Now()
	err := s.Store.Leave(ctx, id, reason)
	s.observe("leave", start, err)
	return err
}

func (s *timedStore) Block(ctx context.Context, by, target queue.Peer) error {
	start := time.Now()
	err := s.Store.Block(ctx, by, target)
	s.observe("block", start, err)
	return err
}

func (s *timedStore) Report(ctx context.Context, r queue.Report) (bool, error) {
	start := time.Now()
	cooling, err := s.Store.Report(ctx, r)
	s.observe("report", start, err)
	return cooling, err
}

// Banned is timed: every join asks it first.
func (s *timedStore) Banned(ctx context.Context, addr string) (queue.Ban, bool, error) {
	start := time.Now()
	b, ok, err := s.Store.Banned(ctx, addr)
	s.observe("banned", start, err)
	return b, ok, err
}

func (s *timedStore) Match(ctx context.Context) error {
	start := time.Now()
	err := s.Store.Match(ctx)
	s.observe("match", start, err)
	return err
}

func (s *timedStore) Refresh(ctx context.Context, profiles map[string]queue.Profile) error {
	start := time.Now()
	err := s.Store.Refresh(ctx, profiles)
	s.observe("refresh", start, err)
	return err
}

func (s *timedStore) Sweep(ctx context.Context) error {
	start := time.Now()
	err := s.Store.Sweep(ctx)
	s.observe("sweep", start, err)
	return err
}

func (s *timedStore) Ping(ctx context.Context) error {
	start := time.Now()
	err := s.Store.Ping(ctx)
	s.observe("ping", start, err)
	return err
}

func (s *timedStore) Beat(ctx context.Context, instance string, ttl time.Duration) (queue.Presence, error) {
	start := time.Now()
	p, err := s.Store.Beat(ctx, instance, ttl)
	s.observe("beat", start, err)
	return p, err
}

func (s *timedStore) Retire(ctx context.Context, instance string) error {
	start := time.Now()
	err := s.Store.Retire(ctx, instance)
	s.observe("retire", start, err)
	return err
}

func (s *timedStore) Census(ctx context.Context, instance string, online int, ttl time.Duration) (queue.Counts, error) {
	start := time.Now()
	c, err := s.Store.Census(ctx, instance, online, ttl)
	s.observe("census", start, err)
	return c, err
}

// Listen observes each event's lag (see queue.Event.At) before handing it on.
func (s *timedStore) Listen(ctx context.Context, ready func(), handle func(queue.Event)) error {
	return s.Store.Listen(ctx, ready, func(e queue.Event) {
		s.m.EventHandled(e.At)
		handle(e)
	})
}
