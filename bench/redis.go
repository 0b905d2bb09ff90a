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

// MemoryInfo is what INFO memory says of Redis's memory: used_memory,
// used_memory_dataset (used_memory without the server's overhead: client
// buffers, the replication backlog, its own structures), and
// mem_clients_normal (the clients' buffers: a connection more is tens of
// kB).
type MemoryInfo struct {
	Used, Dataset, Clients int64
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
		case "mem_clients_normal":
			dst = &m.Clients
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
	if found != 3 {
		return MemoryInfo{}, errors.New("INFO memory: no used_memory, used_memory_dataset or mem_clients_normal")
	}
	return m, nil
}

// Snapshot is what Redis held at one moment (Redis.Snapshot).
type Snapshot struct {
	Mem       MemoryInfo
	Members   int64    // ZCARD of the sorted set
	ZSetBytes int64    // MEMORY USAGE of the sorted set
	Usage     []int64  // MEMORY USAGE of each key asked for, 0 when it does not exist
	Fields    []string // the field asked for of each hash, "" when none
}

// Snapshot reads in one MULTI, so that nothing changes in between: INFO
// memory, ZCARD and MEMORY USAGE of zset, MEMORY USAGE of each of keys,
// and HGET field of each of hashes.
func (r *Redis) Snapshot(ctx context.Context, zset string, keys, hashes []string, field string) (Snapshot, error) {
	var info *redis.StringCmd
	var card, zbytes *redis.IntCmd
	usage := make([]*redis.IntCmd, len(keys))
	fields := make([]*redis.StringCmd, len(hashes))
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		info = p.Info(ctx, "memory")
		card = p.ZCard(ctx, zset)
		zbytes = p.MemoryUsage(ctx, zset, 0)
		for i, k := range keys {
			usage[i] = p.MemoryUsage(ctx, k, 0)
		}
		for i, h := range hashes {
			fields[i] = p.HGet(ctx, h, field)
		}
		return nil
	})
	// A key that does not exist is a nil reply, which fails the pipeline.
	if err != nil && !errors.Is(err, redis.Nil) {
		return Snapshot{}, fmt.Errorf("redis MULTI INFO memory, ZCARD %s, MEMORY USAGE, HGET: %w", zset, err)
	}
	var snap Snapshot
	if snap.Mem, err = parseMemoryInfo(info.Val()); err != nil {
		return Snapshot{}, err
	}
	snap.Members, snap.ZSetBytes = card.Val(), zbytes.Val()
	snap.Usage = make([]int64, len(keys))
	for i, c := range usage {
		snap.Usage[i] = c.Val()
	}
	snap.Fields = make([]string, len(hashes))
	for i, c := range fields {
		snap.Fields[i] = c.Val()
	}
	return snap, nil
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
