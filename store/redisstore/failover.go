package redisstore

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// After a failover (Sentinel promoting the replica of a dead primary, or
// a cluster's replica taking over its shard), the new primary has what it
// had received: the dead primary's last writes may be lost. The store
// notices it two ways, and the queue package reconciles (see
// queue.Reconciler):
//   - Beat reports Switched when the server answering has another run_id
//     than at the last beat (another process: a promoted replica, or a
//     restart);
//   - Listen, after a failed read, checks that its read position is
//     still in the stream: an entry it read and the stream no longer has
//     was lost. It then reads on from the newest entry at or before it
//     (entries the new primary adds come after that one, whatever their
//     ids, so none is skipped, as reading on from the lost id could skip
//     them for a primary whose clock is behind) and hands the service an
//     EventGap.

// reloadSlots has a cluster client read the slots again (in the
// background), after a beat failed: when the state's primary died, go-redis
// would go on dialing it until its next periodic reload (10 s), where its
// replica took over within a few seconds.
func (s *Store) reloadSlots(ctx context.Context) {
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		cc.ReloadState(ctx)
	}
}

// switched records the run_id of the server answering for the store and
// reports whether it changed since the last call. A failure to ask is no
// switch: the next beat asks again.
func (s *Store) switched(ctx context.Context) bool {
	id, err := s.primaryRunID(ctx)
	if err != nil {
		return false
	}
	s.primaryMu.Lock()
	defer s.primaryMu.Unlock()
	prev := s.primary
	s.primary = id
	return prev != "" && prev != id
}

// primaryRunID is the run_id of the server holding the store's keys: for
// a cluster, the primary of the events stream's slot.
func (s *Store) primaryRunID(ctx context.Context) (string, error) {
	var c redis.Cmdable = s.client
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		node, err := cc.MasterForKey(ctx, s.keys.Events)
		if err != nil {
			return "", err
		}
		c = node
	}
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "run_id:"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no run_id in INFO server")
}

// position checks that the stream still holds last, the last entry Listen
// read. gap is set when it does not, while it holds older entries than
// last or none (a stream trimmed past last is no gap: the listener was
// too far behind): pos is then where to read on, the newest entry at or
// before last ("0-0" when none).
func (s *Store) position(ctx context.Context, last string) (pos string, gap bool, err error) {
	if last == "0-0" {
		return last, false, nil
	}
	found, err := s.client.XRangeN(ctx, s.keys.Events, last, last, 1).Result()
	if err != nil || len(found) == 1 {
		return last, false, err
	}
	first, err := s.client.XRangeN(ctx, s.keys.Events, "-", "+", 1).Result()
	if err != nil {
		return last, false, err
	}
	if len(first) == 1 && compareIDs(first[0].ID, last) > 0 {
		return last, false, nil // trimmed past it
	}
	before, err := s.client.XRevRangeN(ctx, s.keys.Events, last, "-", 1).Result()
	if err != nil {
		return last, false, err
	}
	if len(before) == 0 {
		return "0-0", true, nil
	}
	return before[0].ID, true, nil
}

// compareIDs orders two stream ids (ms-seq).
func compareIDs(a, b string) int {
	am, as := splitID(a)
	bm, bs := splitID(b)
	if c := cmp.Compare(am, bm); c != 0 {
		return c
	}
	return cmp.Compare(as, bs)
}

func splitID(id string) (ms, seq uint64) {
	m, q, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(q, 10, 64)
	return ms, seq
}
