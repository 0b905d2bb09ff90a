package bench

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zivro/zivro/internal/redisproc"
)

// RunInstancesCluster is the instances scenario on a Redis Cluster of
// shards primaries started for it (REDIS_MODE=cluster), beside the run on
// one Redis: the relayed messages per second, and the SPUBLISH calls each
// shard carried (INFO commandstats on each primary), per second and per
// relayed message. The state's keys share one slot (redisstore.Keys), so
// one shard also runs every script; the relays' channels spread over all.
func RunInstancesCluster(ctx context.Context, redisBin string, opt ServerOptions, k, shards int, o RelayOptions) Result {
	fail := func(err error) Result {
		r := newResult("instances", "cluster", k, "msgs/s", &Checks{}, err)
		r.Extra["instances"] = float64(k)
		r.Extra["shards"] = float64(shards)
		return r
	}
	cli, err := exec.LookPath(filepath.Join(filepath.Dir(redisBin), "redis-cli"))
	if err != nil {
		if cli, err = exec.LookPath("redis-cli"); err != nil {
			return fail(fmt.Errorf("instances cluster: %w", err))
		}
	}
	c, err := redisproc.RunCluster(redisBin, cli, redisproc.ClusterOptions{Primaries: shards})
	if err != nil {
		return fail(fmt.Errorf("instances cluster: %w", err))
	}
	defer c.Close()
	nodes := make([]*Redis, len(c.Nodes))
	for i, n := range c.Nodes {
		nodes[i] = &Redis{Addr: n.Addr(), URL: n.URL(), client: newStatsClient(n.Addr())}
		defer nodes[i].client.Close()
	}
	opt.RedisURL = c.URL()
	opt.Env = append(slices.Clone(opt.Env), "REDIS_MODE=cluster")
	var urls []string
	for range k {
		srv, err := StartServer(ctx, opt)
		if err != nil {
			return fail(fmt.Errorf("instances cluster: start server: %w", err))
		}
		defer srv.Stop()
		urls = append(urls, srv.URL)
	}
	before, err := spublishes(ctx, nodes)
	if err != nil {
		return fail(err)
	}
	o.Instances = k
	start := time.Now()
	r := RunRelay(ctx, Target{Store: "cluster", URLs: urls}, o)
	elapsed := time.Since(start).Seconds()
	after, err := spublishes(ctx, nodes)
	r.Scenario = "instances"
	r.Store = "cluster"
	r.N = k
	r.Extra["instances"] = float64(k)
	r.Extra["shards"] = float64(shards)
	r.Extra["relay_pairs"] = float64(o.Pairs)
	if err != nil {
		r.Notes = append(r.Notes, err.Error())
		return r
	}
	var total, most, usec int64
	for i := range nodes {
		n := after[i].calls - before[i].calls
		r.Extra[fmt.Sprintf("spublish_shard%d", i)] = float64(n)
		total += n
		most = max(most, n)
		usec += after[i].usec - before[i].usec
		r.Extra[fmt.Sprintf("scripts_shard%d", i)] = float64(after[i].scripts - before[i].scripts)
	}
	r.Extra["spublish_per_s_busiest_shard"] = float64(most) / elapsed
	if total > 0 {
		// A shard's CPU per publish, delivery to the subscriber included:
		// 1e6 / this is what one shard's core could publish per second.
		r.Extra["spublish_usec_per_call"] = float64(usec) / float64(total)
	}
	if relayed := r.Extra["relayed"]; relayed > 0 {
		r.Extra["spublish_per_relayed"] = float64(total) / relayed
	}
	return r
}

// spublishStats are the SPUBLISH calls each node has served, and the
// microseconds of its CPU they took (INFO commandstats: calls, usec).
// scripts are its script calls (EVALSHA, EVAL): the state's shard's.
type spublishStats struct{ calls, usec, scripts int64 }

func spublishes(ctx context.Context, nodes []*Redis) ([]spublishStats, error) {
	out := make([]spublishStats, len(nodes))
	for i, n := range nodes {
		info, err := n.client.InfoMap(ctx, "commandstats").Result()
		if err != nil {
			return nil, fmt.Errorf("%s: INFO commandstats: %w", n.Addr, err)
		}
		for _, fields := range info {
			for _, cmd := range []string{"cmdstat_evalsha", "cmdstat_eval"} {
				for kv := range strings.SplitSeq(fields[cmd], ",") {
					if v, ok := strings.CutPrefix(kv, "calls="); ok {
						n, _ := strconv.ParseInt(v, 10, 64)
						out[i].scripts += n
					}
				}
			}
			for kv := range strings.SplitSeq(fields["cmdstat_spublish"], ",") {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "calls":
					out[i].calls, _ = strconv.ParseInt(v, 10, 64)
				case "usec":
					out[i].usec, _ = strconv.ParseInt(v, 10, 64)
				}
			}
		}
	}
	return out, nil
}
