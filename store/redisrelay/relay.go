// Package redisrelay carries frames to sockets connected to other
// instances, over Redis 7's sharded pub/sub: the socketio.Relay of a
// deployment with several instances.
package redisrelay

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// prefix + socket id is the sharded pub/sub channel of one socket: the
// instance it is connected to subscribes to it while it is connected.
const prefix = "zivro:to:"

// timeout bounds one subscription change or publish.
const timeout = 3 * time.Second

// Relay carries frames to sockets connected to other instances, with a
// channel per socket (SSUBSCRIBE while it is connected here, SPUBLISH to
// send): a frame reaches the one instance that holds the socket, however
// many instances share the Redis, and arrives as the bytes that were
// encoded once, in the order it was published.
//
// Why not the Socket.IO library's adapters: its classic Redis adapter
// delivers every message to every instance (PSUBSCRIBE), and with both it
// and its sharded adapter (dynamic private rooms), the last of several
// frames published to one socket in quick succession was lost
// (e2e/contract/instances: held relays released together at the end of
// the signal delay).
//
// Failures (Redis unreachable) are logged, at most one line per 10 s; a
// frame that could not be published is lost, as it would be with the
// socket gone.
type Relay struct {
	client redis.UniversalClient
	// pubsub is the one subscription on a single Redis; shards the
	// subscriptions, one per primary, on a Redis Cluster (nil elsewhere).
	pubsub *redis.PubSub
	shards *shards
	log    *slog.Logger
	every  *rate.Sometimes
	// keeper, when set, sends instead of SPUBLISH: it keeps a frame for a
	// held socket (see KeepHeld).
	keeper Keeper
	// waiting holds, on a cluster, the frames that wait for their
	// socket's subscription to move (waiting.go); nil elsewhere.
	waiting *waiting
}

// Keeper keeps a frame for a socket whose connection dropped and is held
// for a resume, and publishes it to channel otherwise, in one atomic step
// (redisstore.Store.KeepOrPublish). It reports whether the frame was kept
// or reached an instance; on one Redis, where the publish is inside the
// step, it reports true.
type Keeper interface {
	KeepOrPublish(ctx context.Context, id, channel string, frame []byte) (delivered bool, err error)
}

// New returns a relay over client, subscribed to nothing yet; it receives
// nothing until Start. On a cluster client, the channels spread over the
// shards by their slots (see shards).
func New(client redis.UniversalClient, log *slog.Logger) *Relay {
	r := &Relay{client: client, log: log, every: &rate.Sometimes{Interval: 10 * time.Second}}
	if cluster, ok := client.(*redis.ClusterClient); ok {
		r.shards = newShards(cluster, r.warn)
		r.waiting = newWaiting()
		return r
	}
	// No channel: no I/O until the first Join or Start.
	r.pubsub = client.SSubscribe(context.Background())
	return r
}

// KeepHeld makes Send go through k: a frame to a socket that is held (its
// connection dropped, and it may resume on any instance) is kept for its
// resume instead of being published to nobody. Call it before the relay
// is used; it returns r.
func (r *Relay) KeepHeld(k Keeper) *Relay {
	r.keeper = k
	return r
}

// Start hands the frames published to this instance's sockets to deliver,
// from one goroutine, until ctx is done; then the subscription closes.
// Call it once. go-redis resubscribes by itself after a lost connection.
func (r *Relay) Start(ctx context.Context, deliver func(to string, frame []byte)) {
	if r.shards != nil {
		r.shards.start(ctx, deliver)
		return
	}
	ch := r.pubsub.Channel()
	go func() {
		for msg := range ch {
			deliver(strings.TrimPrefix(msg.Channel, prefix), []byte(msg.Payload))
		}
	}()
	context.AfterFunc(ctx, func() { _ = r.pubsub.Close() })
}

// Join subscribes to the socket's channel.
func (r *Relay) Join(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var err error
	if r.shards != nil {
		err = r.shards.join(ctx, prefix+id)
	} else {
		err = r.pubsub.SSubscribe(ctx, prefix+id)
	}
	if err != nil {
		r.warn("relay subscribe failed", err)
	}
}

// Leave unsubscribes from the socket's channel.
func (r *Relay) Leave(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var err error
	if r.shards != nil {
		err = r.shards.leave(ctx, prefix+id)
	} else {
		err = r.pubsub.SUnsubscribe(ctx, prefix+id)
	}
	if err != nil {
		r.warn("relay unsubscribe failed", err)
	}
}

// Send publishes frame to the socket's channel; nobody gets it when the
// socket is connected nowhere. With KeepHeld, a held socket's frame is
// kept instead. On a cluster, a frame that found nobody waits for the
// socket's subscription to move, and the frames after it wait behind it
// (waiting.go).
func (r *Relay) Send(to string, frame []byte) {
	if r.waiting != nil {
		if queued, dropped := r.waiting.behind(to, frame); queued {
			if dropped {
				r.warn("relay frame dropped", errWaitingFull)
			}
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	delivered, err := r.publish(ctx, to, frame)
	if err != nil {
		r.warn("relay publish failed", err)
		return
	}
	if delivered || r.waiting == nil {
		return
	}
	first, dropped := r.waiting.start(to, frame)
	if dropped {
		r.warn("relay frame dropped", errWaitingFull)
	}
	if first {
		go func() {
			// The retries end by themselves within waitFor; the bound
			// below only covers a publish that hangs.
			ctx, cancel := context.WithTimeout(context.Background(), waitFor+timeout)
			defer cancel()
			r.retry(ctx, to)
		}()
	}
}

// errWaitingFull: a frame that would wait past waiting.go's bounds.
var errWaitingFull = errors.New("too many frames wait for their sockets' subscriptions")

// publish sends frame to the socket's channel once, and reports whether
// it was kept or reached an instance.
func (r *Relay) publish(ctx context.Context, to string, frame []byte) (bool, error) {
	if r.keeper != nil {
		return r.keeper.KeepOrPublish(ctx, to, prefix+to, frame)
	}
	receivers, err := r.client.SPublish(ctx, prefix+to, frame).Result()
	return receivers > 0, err
}

func (r *Relay) warn(msg string, err error) {
	r.every.Do(func() { r.log.Warn(msg, "err", err) })
}
