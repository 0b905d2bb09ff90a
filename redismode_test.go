package main

import (
	"io"
	"strings"
	"testing"

	"github.com/zivro/zivro/internal/redisproc"
)

// A REDIS_MODE that does not fit the Redis named stops the server at
// start, with what to change; an unreachable cluster seed too, and a
// host name that does not exist in every mode.
func TestRedisModeMismatchStopsTheServer(t *testing.T) {
	single := redisproc.Start(t)
	down := redisproc.Start(t)
	down.Stop(t)
	tests := []struct {
		name, url, mode, want string
	}{
		{"cluster mode on a single Redis", single.URL(), "cluster", "is not a cluster node: set REDIS_MODE=single"},
		{"sentinel mode on a single Redis", single.URL(), "sentinel", "is not a sentinel"},
		{"cluster seed unreachable", down.URL(), "cluster", "cannot reach"},
		{"single Redis on a host that does not exist", "redis://zivro-redis.invalid:6379", "single", "no host is named \"zivro-redis.invalid\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"REDIS_URL": tc.url, "REDIS_MODE": tc.mode, "REDIS_MASTER_NAME": "", "PORT": "0"}
			if tc.mode == "sentinel" {
				env["REDIS_MASTER_NAME"] = "zivro"
			}
			err := run(t.Context(), func(k string) string { return env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
