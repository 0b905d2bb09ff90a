package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/redisproc"
)

// Redis is a private redis-server started by StartRedis (internal/redisproc,
// the tests' helper): no persistence, bound to loopback. The bench reads it
// through its own go-redis client.
type Redis struct {
	Addr   string
	URL    string
	proc   *redisproc.Server
	client *redis.Client
}

// StartRedis runs bin (redis-server) on a free loopback port and waits until
// it answers PING.
func StartRedis(bin string) (*Redis, error) {
	p, err := redisproc.Run(bin)
	if err != nil {
		return nil, err
	}
	return &Redis{Addr: p.Addr(), URL: p.URL(), proc: p, client: newStatsClient(p.Addr())}, nil
}

// newStatsClient is the bench's client of the private redis. What it sends
// is counted by the figures it reads (INFO commandstats counts every
// client's commands, total_net_output_bytes every reply), so it sends
// nothing but the commands asked for: one connection, so that a phase never
// sees another connection's handshake; RESP2, so INFO comes back as the
// same bulk string (and the same bytes out) as always, with no RESP3
// maintenance-notification handshake; no CLIENT SETINFO. What remains, one
// HELLO 2 when the connection opens, happens on the first command, before
// any figure is read.
func newStatsClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                  addr,
		Protocol:              2,
		DisableIdentity:       true,
		PoolSize:              1,
		ReadTimeout:           10 * time.Second, // FLUSHALL of a big run's keys
		WriteTimeout:          10 * time.Second,
		ContextTimeoutEnabled: true,
	})
}

// FlushAll empties the private redis between scenarios.
func (r *Redis) FlushAll(ctx context.Context) error {
	if err := r.client.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("redis FLUSHALL: %w", err)
	}
	return nil
}

// CommandStats reads INFO commandstats: calls per command name (lower case,
// subcommands as "config|get").
func (r *Redis) CommandStats(ctx context.Context) (map[string]int64, error) {
	info, err := r.client.InfoMap(ctx, "commandstats").Result()
	if err != nil {
		return nil, fmt.Errorf("redis INFO commandstats: %w", err)
	}
	out := map[string]int64{}
	for _, fields := range info {
		for name, rest := range fields {
			cmd, ok := strings.CutPrefix(name, "cmdstat_")
			if !ok {
				continue
			}
			for kv := range strings.SplitSeq(rest, ",") {
				if v, ok := strings.CutPrefix(kv, "calls="); ok {
					n, err := strconv.ParseInt(v, 10, 64)
					if err != nil {
						return nil, fmt.Errorf("commandstats %s:%s: %w", name, rest, err)
					}
					out[cmd] = n
				}
			}
		}
	}
	return out, nil
}

// Info reads one number of an INFO section (total_net_output_bytes of
// stats, used_memory of memory).
func (r *Redis) Info(ctx context.Context, section, field string) (int64, error) {
	info, err := r.client.InfoMap(ctx, section).Result()
	if err != nil {
		return 0, fmt.Errorf("redis INFO %s: %w", section, err)
	}
	// InfoMap keys the sections by their heading ("Stats" for "stats").
	for _, fields := range info {
		if v, ok := fields[field]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("INFO %s %s=%q: %w", section, field, v, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("INFO %s: no %s", section, field)
}

// MemoryInfo is what INFO memory says of Redis's memory: used_memory, and
// used_memory_dataset (used_memory without the server's overhead: client
// buffers, the replication backlog, its own structures).
type MemoryInfo struct {
	Used, Dataset int64
}

// Memory reads INFO memory.
func (r *Redis) Memory(ctx context.Context) (MemoryInfo, error) {
	info, err := r.client.Info(ctx, "memory").Result()
	if err != nil {
		return MemoryInfo{}, fmt.Errorf("redis INFO memory: %w", err)
	}
	return parseMemoryInfo(info)
}

func parseMemoryInfo(info string) (MemoryInfo, error) {
	var m MemoryInfo
	found := 0
	for line := range strings.SplitSeq(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "used_memory":
			dst = &m.Used
		case "used_memory_dataset":
			dst = &m.Dataset
		default:
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return MemoryInfo{}, fmt.Errorf("INFO memory %s:%q: %w", k, v, err)
		}
		*dst = n
		found++
	}
	if found != 2 {
		return MemoryInfo{}, errors.New("INFO memory: no used_memory or used_memory_dataset")
	}
	return m, nil
}

// HeldSnapshot reads, in one MULTI (so that no session is held or resumed
// in between), INFO memory and the members of the sorted set heldKey: the
// held sessions of resumable clients at that moment.
func (r *Redis) HeldSnapshot(ctx context.Context, heldKey string) (mem MemoryInfo, held []string, err error) {
	var info *redis.StringCmd
	var members *redis.StringSliceCmd
	if _, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		info = p.Info(ctx, "memory")
		members = p.ZRange(ctx, heldKey, 0, -1)
		return nil
	}); err != nil {
		return MemoryInfo{}, nil, fmt.Errorf("redis MULTI INFO memory, ZRANGE %s: %w", heldKey, err)
	}
	if mem, err = parseMemoryInfo(info.Val()); err != nil {
		return MemoryInfo{}, nil, err
	}
	return mem, members.Val(), nil
}

// MemoryUsage is MEMORY USAGE key (every element counted): 0 when the key
// does not exist.
func (r *Redis) MemoryUsage(ctx context.Context, key string) (int64, error) {
	n, err := r.client.MemoryUsage(ctx, key, 0).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("redis MEMORY USAGE %s: %w", key, err)
	}
	return n, nil
}

// HashField is HGET key field: "" when there is none.
func (r *Redis) HashField(ctx context.Context, key, field string) (string, error) {
	v, err := r.client.HGet(ctx, key, field).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("redis HGET %s %s: %w", key, field, err)
	}
	return v, nil
}

// Stop closes the bench's client, stops the server and waits until it has
// exited.
func (r *Redis) Stop() {
	_ = r.client.Close()
	r.proc.Close()
}
