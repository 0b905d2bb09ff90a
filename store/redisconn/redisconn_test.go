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

// REDIS_URL's credentials work in every mode: a password on the single
// server, on every cluster node, and on a Sentinel's data nodes, its
// sentinels guarded by the same one or left open (as self-hosted ones
// often are); a wrong one is refused with what to fix.
func TestCredentialsInEveryMode(t *testing.T) {
	const password = "s3cret-pw"
	// guard sets password on the servers at addrs, and has sentinels
	// (when any) use it to reach the data nodes.
	guard := func(t *testing.T, addrs []string, sentinels ...string) {
		t.Helper()
		for _, addr := range sentinels {
			s := redis.NewSentinelClient(&redis.Options{Addr: addr})
			err := s.Set(t.Context(), redisproc.SentinelMaster, "auth-pass", password).Err()
			_ = s.Close()
			if err != nil {
				t.Fatalf("sentinel %s: auth-pass: %v", addr, err)
			}
		}
		for _, addr := range addrs {
			c := redis.NewClient(&redis.Options{Addr: addr})
			err := c.ConfigSet(t.Context(), "masterauth", password).Err()
			if err == nil {
				err = c.ConfigSet(t.Context(), "requirepass", password).Err()
			}
			_ = c.Close()
			if err != nil {
				t.Fatalf("%s: %v", addr, err)
			}
		}
	}
	// guardSentinels has the sentinels ask for password too.
	guardSentinels := func(t *testing.T, sentinels []string) {
		t.Helper()
		for _, addr := range sentinels {
			s := redis.NewClient(&redis.Options{Addr: addr})
			err := s.Do(t.Context(), "SENTINEL", "CONFIG", "SET", "sentinel-pass", password).Err()
			if err == nil {
				err = s.Do(t.Context(), "ACL", "SETUSER", "default", "resetpass", ">"+password).Err()
			}
			_ = s.Close()
			if err != nil {
				t.Fatalf("sentinel %s: %v", addr, err)
			}
		}
	}
	withPassword := func(rawURL, pw string) string {
		return strings.Replace(rawURL, "redis://", "redis://:"+pw+"@", 1)
	}
	tests := []struct {
		name string
		// start brings the servers up, guarded, and returns the seed's URL.
		start func(t *testing.T) string
		mode  redisconn.Mode
	}{
		{"single", func(t *testing.T) string {
			s := redisproc.Start(t)
			guard(t, []string{s.Addr()})
			return s.URL()
		}, redisconn.Single},
		{"cluster", func(t *testing.T) string {
			c := redisproc.StartCluster(t, redisproc.ClusterOptions{})
			guard(t, c.Addrs())
			return c.URL()
		}, redisconn.Cluster},
		{"sentinel, open sentinels", func(t *testing.T) string {
			g := redisproc.StartSentinel(t)
			guard(t, g.DataNodes(), g.Sentinels...)
			return g.URL()
		}, redisconn.Sentinel},
		{"sentinel, guarded sentinels", func(t *testing.T) string {
			g := redisproc.StartSentinel(t)
			guard(t, g.DataNodes(), g.Sentinels...)
			guardSentinels(t, g.Sentinels)
			return g.URL()
		}, redisconn.Sentinel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seed := tc.start(t)
			config := func(pw string) redisconn.Config {
				o, err := redis.ParseURL(withPassword(seed, pw))
				if err != nil {
					t.Fatal(err)
				}
				return redisconn.Config{Mode: tc.mode, URL: o, MasterName: redisproc.SentinelMaster}
			}
			if err := redisconn.Check(t.Context(), config("wrong-pw"), 3*time.Second); err == nil || !strings.Contains(err.Error(), "refused the credentials") {
				t.Fatalf("wrong password: got %v, want an error with %q", err, "refused the credentials")
			}
			if err := redisconn.Check(t.Context(), config(password), 3*time.Second); err != nil {
				t.Fatal(err)
			}
			client := redisconn.New(config(password))
			defer client.Close()
			// Keys of several slots: on the cluster, every node is asked.
			for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
				if err := client.Set(t.Context(), k, "v", time.Minute).Err(); err != nil {
					t.Fatalf("SET %s through the client of the mode: %v", k, err)
				}
			}
		})
	}
}

// rediss:// reaches every mode's client: the TLS settings and the
// credentials REDIS_URL gave are the ones each mode's client dials with.
func TestNewCarriesTLSAndCredentials(t *testing.T) {
	u, err := redis.ParseURL("rediss://zivro:s3cret@redis.example:6380/0")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []redisconn.Mode{redisconn.Single, redisconn.Cluster, redisconn.Sentinel} {
		t.Run(string(mode), func(t *testing.T) {
			client := redisconn.New(redisconn.Config{Mode: mode, URL: u, MasterName: "m"})
			defer client.Close()
			var tlsServer, user, password string
			switch c := client.(type) {
			case *redis.ClusterClient:
				o := c.Options()
				if o.TLSConfig != nil {
					tlsServer = o.TLSConfig.ServerName
				}
				user, password = o.Username, o.Password
			case *redis.Client:
				o := c.Options()
				if o.TLSConfig != nil {
					tlsServer = o.TLSConfig.ServerName
				}
				user, password = o.Username, o.Password
			default:
				t.Fatalf("client %T", client)
			}
			if tlsServer != "redis.example" || user != "zivro" || password != "s3cret" {
				t.Errorf("dials with TLS server name %q, user %q, password %q; want redis.example, zivro, s3cret", tlsServer, user, password)
			}
		})
	}
}
