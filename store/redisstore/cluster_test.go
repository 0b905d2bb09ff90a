package redisstore_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/redisproc"
	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/redisstore"
	"github.com/zivro/zivro/store/storetest"
)

// The conformance suite on a 3-primary Redis Cluster: every script's keys
// share the {zivro} slot. One cluster for the suite (starting one takes
// seconds), emptied before each subtest.
func TestConformanceCluster(t *testing.T) {
	c := redisproc.StartCluster(t, redisproc.ClusterOptions{})
	storetest.Run(t, func(t *testing.T, opts queue.StoreOptions) queue.Store {
		client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
		t.Cleanup(func() { _ = client.Close() })
		if err := client.ForEachMaster(t.Context(), func(ctx context.Context, node *redis.Client) error {
			return node.FlushAll(ctx).Err()
		}); err != nil {
			t.Fatal(err)
		}
		return redisstore.New(client, opts)
	})
}

// On a cluster every key has the tag; on a single Redis none has: the
// original's names.
func TestKeyNames(t *testing.T) {
	single, cluster := redisstore.SingleKeys(), redisstore.ClusterKeys()
	if single.QueueList != "zivro:queue:list" || single.UserPrefix != "zivro:user:" {
		t.Fatalf("single keys %+v: want the original's names", single)
	}
	if cluster.QueueList != "{zivro}:queue:list" || cluster.HeldPrefix != "{zivro}:held:" {
		t.Fatalf("cluster keys %+v: want the {zivro} tag", cluster)
	}
}
