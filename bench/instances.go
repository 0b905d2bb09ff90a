package bench

import (
	"context"
	"fmt"
)

// RunInstances runs the relay scenario with clients spread round-robin over
// k fresh server instances sharing t's Redis, and measures what a relayed
// message costs Redis: the pub/sub publishes per relayed message (INFO
// commandstats: SPUBLISH, and PUBLISH, which a broadcast adapter would
// use), and the bytes Redis sent to its clients per relayed message (INFO
// stats total_net_output_bytes, which counts every pub/sub delivery): with
// delivery to the holding instance only, both stay flat as k grows. The
// throughput is relayed messages per second across the instances. It
// needs t.Redis.
func RunInstances(ctx context.Context, t Target, opt ServerOptions, k int, o RelayOptions) Result {
	fail := func(err error) Result {
		r := newResult("instances", t.Store, k, "msgs/s", &Checks{}, err)
		r.Extra["instances"] = float64(k)
		return r
	}
	if t.Redis == nil {
		return fail(fmt.Errorf("instances: needs Redis"))
	}
	if err := t.Redis.FlushAll(ctx); err != nil {
		return fail(fmt.Errorf("instances: %w", err))
	}
	var urls []string
	for range k {
		srv, err := StartServer(ctx, opt)
		if err != nil {
			return fail(fmt.Errorf("instances: start server: %w", err))
		}
		defer srv.Stop()
		urls = append(urls, srv.URL)
	}
	t.URLs = urls
	t.Server = nil // the load is on k processes; RunRelay's CPU meter reads none
	o.Instances = k
	cmdBefore, err1 := t.Redis.CommandStats(ctx)
	netBefore, err2 := t.Redis.Info(ctx, "stats", "total_net_output_bytes")
	r := RunRelay(ctx, t, o)
	cmdAfter, err3 := t.Redis.CommandStats(ctx)
	netAfter, err4 := t.Redis.Info(ctx, "stats", "total_net_output_bytes")
	r.Scenario = "instances"
	r.N = k
	r.Extra["instances"] = float64(k)
	r.Extra["relay_pairs"] = float64(o.Pairs)
	if err := firstErr([]error{err1, err2, err3, err4}); err != nil {
		r.Notes = append(r.Notes, "redis stats: "+err.Error())
		return r
	}
	if relayed := r.Extra["relayed"]; relayed > 0 {
		r.Extra["spublish_per_relayed"] = float64(cmdAfter["spublish"]-cmdBefore["spublish"]) / relayed
		r.Extra["publish_per_relayed"] = float64(cmdAfter["publish"]-cmdBefore["publish"]) / relayed
		r.Extra["redis_out_bytes_per_relayed"] = float64(netAfter-netBefore) / relayed
	}
	return r
}
