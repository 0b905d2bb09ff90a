package socketio

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// relayPrefix + socket id is the sharded pub/sub channel of one socket:
// the instance it is connected to subscribes to it while it is connected.
const relayPrefix = "zivro:to:"

// relayTimeout bounds one subscription change or publish.
const relayTimeout = 3 * time.Second

// relay carries frames to sockets connected to other instances, over Redis
// 7's sharded pub/sub with a channel per socket (SSUBSCRIBE while it is
// connected here, SPUBLISH to send): a frame reaches the one instance that
// holds the socket, however many instances share the Redis, and arrives
// as the bytes that were encoded once, in the order it was published.
//
// Why not the library's adapters: its classic Redis adapter delivers every
// message to every instance (PSUBSCRIBE), and with both it and its sharded
// adapter (dynamic private rooms), the last of several frames published
// to one socket in quick succession was lost (e2e/contract/instances:
// held relays released together at the end of the signal delay).
type relay struct {
	client *redis.Client
	pubsub *redis.PubSub
	log    *slog.Logger
	every  *rate.Sometimes
}

// newRelay subscribes to nothing yet, and delivers what arrives to
// deliver, from one goroutine, until ctx is done. go-redis resubscribes by
// itself after a lost connection.
func newRelay(ctx context.Context, client *redis.Client, log *slog.Logger, deliver func(to string, frame []byte)) *relay {
	r := &relay{client: client, pubsub: client.SSubscribe(ctx), log: log, every: &rate.Sometimes{Interval: 10 * time.Second}}
	ch := r.pubsub.Channel()
	go func() {
		for msg := range ch {
			deliver(strings.TrimPrefix(msg.Channel, relayPrefix), []byte(msg.Payload))
		}
	}()
	context.AfterFunc(ctx, func() { _ = r.pubsub.Close() })
	return r
}

// join subscribes to the socket's channel.
func (r *relay) join(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), relayTimeout)
	defer cancel()
	if err := r.pubsub.SSubscribe(ctx, relayPrefix+id); err != nil {
		r.warn("relay subscribe failed", err)
	}
}

// leave unsubscribes from the socket's channel.
func (r *relay) leave(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), relayTimeout)
	defer cancel()
	if err := r.pubsub.SUnsubscribe(ctx, relayPrefix+id); err != nil {
		r.warn("relay unsubscribe failed", err)
	}
}

// send publishes frame to the socket's channel; nobody gets it when the
// socket is connected nowhere.
func (r *relay) send(to string, frame []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), relayTimeout)
	defer cancel()
	if err := r.client.SPublish(ctx, relayPrefix+to, frame).Err(); err != nil {
		r.warn("relay publish failed", err)
	}
}

func (r *relay) warn(msg string, err error) {
	r.every.Do(func() { r.log.Warn(msg, "err", err) })
}
