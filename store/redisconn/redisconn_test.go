package redisconn_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/redisproc"
	"github.com/zivro/zivro/store/redisconn"
)

// The start check says which variable to change when the mode does not fit
// the seed, and passes, with a working client, when it does.
func TestCheck(t *testing.T) {
	single := redisproc.Start(t)
	cluster := redisproc.StartCluster(t, redisproc.ClusterOptions{})
	down := redisproc.Start(t)
	down.Stop(t)
	url := func(u string) *redis.Options {
		o, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	tests := []struct {
		name    string
		c       redisconn.Config
		wantErr string
	}{
		{"single", redisconn.Config{Mode: redisconn.Single, URL: url(single.URL())}, ""},
		{"cluster", redisconn.Config{Mode: redisconn.Cluster, URL: url(cluster.URL())}, ""},
		{"cluster mode on a single server", redisconn.Config{Mode: redisconn.Cluster, URL: url(single.URL())}, "is not a cluster node: set REDIS_MODE=single"},
		{"single mode on a cluster node", redisconn.Config{Mode: redisconn.Single, URL: url(cluster.URL())}, "is a Redis Cluster node: set REDIS_MODE=cluster"},
		{"sentinel mode on a single server", redisconn.Config{Mode: redisconn.Sentinel, URL: url(single.URL()), MasterName: "m"}, "is not a sentinel"},
		{"unreachable seed", redisconn.Config{Mode: redisconn.Cluster, URL: url(down.URL())}, "cannot reach"},
		{"host that does not exist", redisconn.Config{Mode: redisconn.Single, URL: url("redis://zivro-redis.invalid:6379")}, "no host is named"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := redisconn.Check(t.Context(), tc.c, 3*time.Second)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				client := redisconn.New(tc.c)
				defer client.Close()
				if err := client.Set(t.Context(), "k", "v", time.Minute).Err(); err != nil {
					t.Fatalf("client of the mode: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
			}
			if unreachable := strings.Contains(tc.wantErr, "cannot reach"); errors.Is(err, redisconn.ErrUnreachable) != unreachable {
				t.Fatalf("%v: wraps ErrUnreachable: %v, want %v", err, !unreachable, unreachable)
			}
		})
	}
}
