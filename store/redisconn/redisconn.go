// Package redisconn opens the Redis the store lives in, in one of the three
// shapes a deployment runs: one server (with or without replicas behind a
// proxy), a Redis Cluster, or a primary watched by Sentinel. It builds the
// go-redis client for the shape and checks, at start, that the seed it was
// given is what the shape expects, so that a wrong REDIS_MODE stops the
// server with an error that says what to change instead of failing on the
// first relay.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Mode is the shape of the deployment's Redis.
type Mode string

// The modes REDIS_MODE takes.
const (
	// Single: REDIS_URL is the one primary (the default, as the original).
	Single Mode = "single"
	// Cluster: REDIS_URL is any node of a Redis Cluster; the client
	// discovers the others.
	Cluster Mode = "cluster"
	// Sentinel: REDIS_URL is one of the sentinels; MasterName names the
	// primary they watch.
	Sentinel Mode = "sentinel"
)

// ParseMode reads REDIS_MODE.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Single, Cluster, Sentinel:
		return m, nil
	}
	return "", fmt.Errorf("want %s, %s or %s", Single, Cluster, Sentinel)
}

// Config is where the store's Redis is.
type Config struct {
	Mode Mode
	// URL is REDIS_URL parsed: the seed's address, the credentials (the
	// data nodes' and, with Sentinel, the sentinels' too), TLS (rediss://)
	// and, except on a cluster, the database.
	URL *redis.Options
	// MasterName is the primary's name that the sentinels know (Sentinel
	// only).
	MasterName string
}

// New builds the client for c's mode; it connects lazily.
func New(c Config) redis.UniversalClient {
	u := c.URL
	switch c.Mode {
	case Cluster:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:    []string{u.Addr},
			Username: u.Username, Password: u.Password,
			TLSConfig:   u.TLSConfig,
			DialTimeout: u.DialTimeout, ReadTimeout: u.ReadTimeout, WriteTimeout: u.WriteTimeout,
			PoolSize: u.PoolSize, MaxRetries: u.MaxRetries,
		})
	case Sentinel:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:    c.MasterName,
			SentinelAddrs: []string{u.Addr},
			// A managed Sentinel guards its sentinels with the primary's
			// credentials; REDIS_URL has one set. Open sentinels take
			// them too: go-redis sends them with the user name
			// ("default" when REDIS_URL has none), which a user without
			// a password accepts whatever the password.
			SentinelUsername: u.Username, SentinelPassword: u.Password,
			Username: u.Username, Password: u.Password,
			DB:          u.DB,
			TLSConfig:   u.TLSConfig,
			DialTimeout: u.DialTimeout, ReadTimeout: u.ReadTimeout, WriteTimeout: u.WriteTimeout,
			PoolSize: u.PoolSize, MaxRetries: u.MaxRetries,
		})
	default:
		return redis.NewClient(u)
	}
}

// ErrUnreachable is Check's error when the seed does not answer.
var ErrUnreachable = errors.New("unreachable")

// Check asks the seed, within timeout, whether it is what c's mode
// expects: a cluster node with every slot served, a sentinel that knows
// the primary, or a server that is not a cluster node; and whether they
// take REDIS_URL's credentials. Its error says which variable to change. An
// unreachable seed gives an error wrapping ErrUnreachable; a host name
// that does not resolve does not: it is a mistake in REDIS_URL, not a
// server that may yet start.
func Check(ctx context.Context, c Config, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The seed alone, as a plain connection: a sentinel or a cluster node
	// answers INFO as any server does.
	seedOpts := *c.URL
	seedOpts.MaxRetries = -1
	if c.Mode == Sentinel {
		seedOpts.DB = 0 // a sentinel has no databases
	}
	seed := redis.NewClient(&seedOpts)
	defer seed.Close()
	info, err := seed.Info(ctx, "server", "cluster").Result()
	if err != nil {
		if dns := (*net.DNSError)(nil); errors.As(err, &dns) && dns.IsNotFound {
			// Not a server still starting: a name nobody will answer to.
			return fmt.Errorf("REDIS_URL: no host is named %q (REDIS_MODE=%s): %w: fix the host in REDIS_URL", dns.Name, c.Mode, err)
		}
		if isAuthErr(err) {
			return fmt.Errorf("REDIS_URL: %s refused the credentials: %w: fix the user name or password in REDIS_URL", c.URL.Addr, err)
		}
		return fmt.Errorf("REDIS_URL: cannot reach %s (REDIS_MODE=%s): %w: %w: check REDIS_URL's host and port, and rediss:// if the server wants TLS", c.URL.Addr, c.Mode, ErrUnreachable, err)
	}
	sentinel := infoField(info, "redis_mode") == "sentinel"
	clustered := infoField(info, "cluster_enabled") == "1"
	switch c.Mode {
	case Single:
		if sentinel {
			return fmt.Errorf("REDIS_URL: %s is a sentinel: set REDIS_MODE=sentinel and REDIS_MASTER_NAME", c.URL.Addr)
		}
		if clustered {
			return fmt.Errorf("REDIS_URL: %s is a Redis Cluster node: set REDIS_MODE=cluster", c.URL.Addr)
		}
	case Cluster:
		if !clustered {
			what := "not a cluster node: set REDIS_MODE=single"
			if sentinel {
				what = "a sentinel: set REDIS_MODE=sentinel and REDIS_MASTER_NAME"
			}
			return fmt.Errorf("REDIS_MODE=cluster but %s is %s", c.URL.Addr, what)
		}
		if err := checkClusterState(ctx, c, seed); err != nil {
			return err
		}
	case Sentinel:
		if !sentinel {
			what := "not a sentinel: set REDIS_MODE=single, or REDIS_URL to a sentinel (port 26379 by default)"
			if clustered {
				what = "a Redis Cluster node: set REDIS_MODE=cluster"
			}
			return fmt.Errorf("REDIS_MODE=sentinel but %s is %s", c.URL.Addr, what)
		}
		if err := checkSentinelPrimary(ctx, c, &seedOpts); err != nil {
			return err
		}
	}
	return nil
}

// checkClusterState checks that every slot of the seed's cluster is
// served.
func checkClusterState(ctx context.Context, c Config, seed *redis.Client) error {
	state, err := seed.ClusterInfo(ctx).Result()
	if err != nil {
		return fmt.Errorf("REDIS_MODE=cluster: CLUSTER INFO on %s: %w", c.URL.Addr, err)
	}
	if s := infoField(state, "cluster_state"); s != "ok" {
		return fmt.Errorf("REDIS_MODE=cluster: the cluster of %s is in state %q, not ok: some slots are served by no node; fix the cluster (redis-cli --cluster check)", c.URL.Addr, s)
	}
	return nil
}

// checkSentinelPrimary asks the sentinel for c's primary, and the primary
// whether it takes REDIS_URL's credentials (a primary that does not
// answer may be failing over: the client waits for the next).
func checkSentinelPrimary(ctx context.Context, c Config, seedOpts *redis.Options) error {
	sc := redis.NewSentinelClient(seedOpts)
	defer sc.Close()
	addr, err := sc.GetMasterAddrByName(ctx, c.MasterName).Result()
	if errors.Is(err, redis.Nil) || err == nil && len(addr) < 2 {
		return fmt.Errorf("REDIS_MASTER_NAME=%q: the sentinel %s watches no primary of that name: set it to one of SENTINEL MASTERS's names", c.MasterName, c.URL.Addr)
	}
	if err != nil {
		return fmt.Errorf("REDIS_MODE=sentinel: ask %s for %q: %w", c.URL.Addr, c.MasterName, err)
	}
	primary := redis.NewClient(&redis.Options{Addr: net.JoinHostPort(addr[0], addr[1]),
		Username: c.URL.Username, Password: c.URL.Password, TLSConfig: c.URL.TLSConfig, MaxRetries: -1})
	defer primary.Close()
	if err := primary.Ping(ctx).Err(); err != nil && isAuthErr(err) {
		return fmt.Errorf("REDIS_URL: the primary %s (%q) refused the credentials: %w: fix the user name or password in REDIS_URL", primary.Options().Addr, c.MasterName, err)
	}
	return nil
}

// infoField is one field of an INFO reply ("" when absent).
func infoField(info, name string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

func isAuthErr(err error) bool {
	return redis.HasErrorPrefix(err, "NOAUTH") || redis.HasErrorPrefix(err, "WRONGPASS") ||
		strings.Contains(err.Error(), "AUTH")
}
