package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/redisproc"
	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store"
	redisstore "github.com/zivro/zivro/store/redis"
	"github.com/zivro/zivro/store/storetest"
)

// newClient starts a fresh redis-server for t and returns a client for it.
func newClient(t *testing.T) (*redisproc.Server, *redis.Client) {
	srv := redisproc.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = client.Close() })
	return srv, client
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts store.Options) queue.Store {
		_, client := newClient(t)
		return redisstore.New(client, opts)
	})
}
