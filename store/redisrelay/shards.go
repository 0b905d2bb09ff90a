package redisrelay

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// resyncEvery is how often the subscriptions are checked against the
// cluster's slots: the longest a channel stays on a primary that no longer
// serves its slot when no message said so (a primary that died and whose
// replica took over, a move that the node did not announce).
const resyncEvery = time.Second

// shards keeps the subscriptions of a relay on a Redis Cluster. A sharded
// channel is served by the primary of its slot, and the socket channels,
// without a hash tag, spread over every shard: a subscription
// (SSUBSCRIBE) per primary carries the channels whose slots it serves.
// go-redis's ClusterClient.SSubscribe picks the node of the first channel
// only, so the channels are grouped here, by the primary that serves each.
//
// When a slot moves (resharding, a failover), Redis 7 ends the
// subscriptions of its channels on the old primary (a sunsubscribe nobody
// asked for), and SSUBSCRIBE on a node that does not serve the slot
// answers MOVED; a dead primary's connection fails. Each of these makes
// the relay reload the slots and move the channels to the primaries that
// serve them now; it also checks every resyncEvery.
type shards struct {
	cluster *redis.ClusterClient
	warn    func(msg string, err error)
	// started is closed by start, once deliver is set.
	started chan struct{}
	deliver func(to string, frame []byte)
	// resync asks for a check of the subscriptions at once.
	resync chan struct{}

	mu sync.Mutex
	// subs are the subscriptions, by their primary's address.
	subs map[string]*shard
	// where is the subscription each joined channel is on.
	where map[string]*shard
}

// shard is one subscription, to one primary.
type shard struct {
	addr   string
	pubsub *redis.PubSub
}

func newShards(cluster *redis.ClusterClient, warn func(string, error)) *shards {
	return &shards{cluster: cluster, warn: warn, started: make(chan struct{}),
		resync: make(chan struct{}, 1), subs: map[string]*shard{}, where: map[string]*shard{}}
}

// start delivers what every subscription receives, and keeps the
// subscriptions on the primaries that serve their slots, until ctx is done.
func (s *shards) start(ctx context.Context, deliver func(to string, frame []byte)) {
	s.deliver = deliver
	close(s.started)
	go s.keepInPlace(ctx)
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, sh := range s.subs {
			_ = sh.pubsub.Close()
		}
		s.subs = map[string]*shard{}
	})
}

// join subscribes to channel on the primary that serves its slot.
func (s *shards) join(ctx context.Context, channel string) error {
	node, err := s.cluster.MasterForKey(ctx, channel)
	if err != nil {
		return err
	}
	s.mu.Lock()
	sh := s.shardOf(node)
	s.where[channel] = sh
	s.mu.Unlock()
	// The reply, or MOVED when the slots changed meanwhile, arrives on the
	// subscription's reader (receive), which then asks for a resync.
	return sh.pubsub.SSubscribe(ctx, channel)
}

// leave unsubscribes from channel.
func (s *shards) leave(ctx context.Context, channel string) error {
	s.mu.Lock()
	sh := s.where[channel]
	delete(s.where, channel)
	s.mu.Unlock()
	if sh == nil {
		return nil
	}
	return sh.pubsub.SUnsubscribe(ctx, channel)
}

// shardOf is the subscription to node, made when there is none; s.mu held.
func (s *shards) shardOf(node *redis.Client) *shard {
	addr := node.Options().Addr
	if sh := s.subs[addr]; sh != nil {
		return sh
	}
	sh := &shard{addr: addr, pubsub: node.SSubscribe(context.Background())}
	s.subs[addr] = sh
	go s.receive(sh)
	return sh
}

// receive reads one subscription until it is closed: it delivers the
// messages and asks for a resync when the subscription says the slots
// moved or fails.
func (s *shards) receive(sh *shard) {
	<-s.started
	backoff := time.Duration(0)
	for {
		msg, err := sh.pubsub.Receive(context.Background())
		if errors.Is(err, redis.ErrClosed) {
			return
		}
		if err != nil {
			// MOVED for an SSUBSCRIBE, or the primary is gone (go-redis
			// reconnects and resubscribes on the next Receive).
			s.askResync()
			backoff = min(max(2*backoff, 20*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		switch m := msg.(type) {
		case *redis.Message:
			s.deliver(strings.TrimPrefix(m.Channel, prefix), []byte(m.Payload))
		case *redis.Subscription:
			if m.Kind != "sunsubscribe" {
				continue
			}
			s.mu.Lock()
			wanted := s.where[m.Channel] == sh
			s.mu.Unlock()
			if wanted {
				// Not asked for: the channel's slot left this primary.
				s.askResync()
			}
		}
	}
}

func (s *shards) askResync() {
	select {
	case s.resync <- struct{}{}:
	default:
	}
}

// keepInPlace moves the channels whose slots another primary serves now,
// when asked and every resyncEvery.
func (s *shards) keepInPlace(ctx context.Context) {
	tick := time.NewTicker(resyncEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.resync:
		}
		// go-redis reloads the slots in the background: give it a moment.
		s.cluster.ReloadState(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
		s.move(ctx)
	}
}

// move subscribes every channel on the primary that serves its slot, as
// the client's slots say, and closes the subscriptions left with none.
func (s *shards) move(ctx context.Context) {
	s.mu.Lock()
	where := make(map[string]*shard, len(s.where))
	for ch, sh := range s.where {
		where[ch] = sh
	}
	s.mu.Unlock()
	for ch, old := range where {
		node, err := s.cluster.MasterForKey(ctx, ch)
		if err != nil {
			s.warn("relay resubscribe failed", err)
			s.askResync()
			return
		}
		if node.Options().Addr == old.addr {
			continue
		}
		s.mu.Lock()
		if s.where[ch] != old { // left or moved meanwhile
			s.mu.Unlock()
			continue
		}
		sh := s.shardOf(node)
		s.where[ch] = sh
		s.mu.Unlock()
		// Off the old subscription (go-redis would resubscribe it there on
		// a reconnect), then onto the new one. A frame published between
		// the slot's move and this SSUBSCRIBE had no subscriber: its
		// sender sees none (redisstore.Store.KeepOrPublish).
		_ = old.pubsub.SUnsubscribe(ctx, ch)
		if err := sh.pubsub.SSubscribe(ctx, ch); err != nil {
			s.warn("relay resubscribe failed", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	used := map[*shard]bool{}
	for _, sh := range s.where {
		used[sh] = true
	}
	for addr, sh := range s.subs {
		if !used[sh] {
			_ = sh.pubsub.Close()
			delete(s.subs, addr)
		}
	}
}
