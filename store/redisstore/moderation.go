package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/queue"
)

// Reports implements queue.Moderation: the newest entries of the reports
// stream.
func (s *Store) Reports(ctx context.Context, limit int) ([]queue.KeptReport, error) {
	msgs, err := s.client.XRevRangeN(ctx, s.keys.Reports, "+", "-", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: reports: %w", err)
	}
	out := make([]queue.KeptReport, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, decodeReport(m))
	}
	return s.markEvidence(ctx, out, false)
}

// ReportsAbout implements queue.Moderation: the stream is read whole (it
// is capped) and filtered.
func (s *Store) ReportsAbout(ctx context.Context, addr string) ([]queue.KeptReport, error) {
	msgs, err := s.client.XRevRange(ctx, s.keys.Reports, "+", "-").Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: reports about %s: %w", addr, err)
	}
	var out []queue.KeptReport
	for _, m := range msgs {
		if r := decodeReport(m); r.Reported.Addr == addr {
			out = append(out, r)
		}
	}
	return s.markEvidence(ctx, out, true)
}

// markEvidence sets HasEvidence on the reports whose evidence is still
// kept, and with load their Evidence.
func (s *Store) markEvidence(ctx context.Context, rs []queue.KeptReport, load bool) ([]queue.KeptReport, error) {
	var keys []string
	var idx []int
	for i, r := range rs {
		if r.HasEvidence {
			keys = append(keys, s.keys.EvidencePrefix+r.ID)
			idx = append(idx, i)
			rs[i].HasEvidence = false
		}
	}
	if len(keys) == 0 {
		return rs, nil
	}
	vals, err := s.client.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: evidence: %w", err)
	}
	for j, v := range vals {
		raw, ok := v.(string)
		if !ok {
			continue // expired, or pushed out
		}
		i := idx[j]
		rs[i].HasEvidence = true
		if !load {
			continue
		}
		var ev queue.Evidence
		if err := json.Unmarshal([]byte(raw), &ev); err != nil {
			return nil, fmt.Errorf("redisstore: evidence of %s: %w", rs[i].ID, err)
		}
		rs[i].Evidence = &ev
	}
	return rs, nil
}

// decodeReport reads an entry of the reports stream (see report.lua).
// HasEvidence says whether evidence was attached; markEvidence checks
// that it is still kept.
func decodeReport(m redis.XMessage) queue.KeptReport {
	str := func(k string) string {
		v, _ := m.Values[k].(string)
		return v
	}
	r := queue.KeptReport{ID: m.ID, HasEvidence: str("evidence") == "1"}
	r.Reporter = queue.Peer{ID: str("reporter"), Addr: str("reporter_addr")}
	r.Reported = queue.Peer{ID: str("reported"), Addr: str("reported_addr")}
	r.Reason = str("reason")
	if at, err := strconv.ParseInt(str("at"), 10, 64); err == nil {
		r.At = time.UnixMilli(at)
	} else {
		r.At = entryTime(m.ID)
	}
	return r
}

// Standings implements queue.Moderation with one pipeline.
func (s *Store) Standings(ctx context.Context, addrs []string) (map[string]queue.Standing, error) {
	out := make(map[string]queue.Standing, len(addrs))
	if len(addrs) == 0 {
		return out, nil
	}
	cool := make([]*redis.DurationCmd, len(addrs))
	bans := make([]*redis.StringCmd, len(addrs))
	var dismissed *redis.SliceCmd
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, a := range addrs {
			cool[i] = p.PTTL(ctx, s.keys.CoolDownPrefix+a)
			bans[i] = p.Get(ctx, s.keys.BanPrefix+a)
		}
		dismissed = p.HMGet(ctx, s.keys.Dismissed, addrs...)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redisstore: standings: %w", err)
	}
	now := time.Now()
	dis := dismissed.Val()
	for i, a := range addrs {
		var st queue.Standing
		if ttl := cool[i].Val(); ttl > 0 {
			st.CoolDownUntil = now.Add(ttl)
		}
		if raw, err := bans[i].Result(); err == nil {
			var b queue.Ban
			if json.Unmarshal([]byte(raw), &b) == nil {
				st.Ban = &b
			}
		}
		if i < len(dis) {
			if v, ok := dis[i].(string); ok {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					st.DismissedAt = time.UnixMilli(n)
				}
			}
		}
		out[a] = st
	}
	return out, nil
}

// Ban implements queue.Moderation with one call of ban.lua.
func (s *Store) Ban(ctx context.Context, b queue.Ban) error {
	raw, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("redisstore: ban %s: %w", b.Addr, err)
	}
	var duration int64
	if !b.Until.IsZero() {
		duration = ms(time.Until(b.Until))
	}
	err = s.ban.Run(ctx, s.client, []string{s.keys.Events, s.keys.Bans, s.keys.BanPrefix}, b.Addr, raw, duration, streamMaxLen).Err()
	return wrap(err, "ban "+b.Addr)
}

// Banned implements queue.Moderation: the ban's key lives as long as it.
func (s *Store) Banned(ctx context.Context, addr string) (queue.Ban, bool, error) {
	raw, err := s.client.Get(ctx, s.keys.BanPrefix+addr).Result()
	if errors.Is(err, redis.Nil) {
		return queue.Ban{}, false, nil
	}
	if err != nil {
		return queue.Ban{}, false, fmt.Errorf("redisstore: ban of %s: %w", addr, err)
	}
	var b queue.Ban
	if err := json.Unmarshal([]byte(raw), &b); err != nil {
		return queue.Ban{}, false, fmt.Errorf("redisstore: ban of %s: %w", addr, err)
	}
	return b, b.Active(time.Now()), nil
}

// Lift implements queue.Moderation.
func (s *Store) Lift(ctx context.Context, addr string) (bool, error) {
	var del *redis.IntCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.Del(ctx, s.keys.BanPrefix+addr)
		p.HDel(ctx, s.keys.Bans, addr)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("redisstore: lift %s: %w", addr, err)
	}
	return del.Val() == 1, nil
}

// Bans implements queue.Moderation: the hash of bans, less those that
// ended (removed from it on the way).
func (s *Store) Bans(ctx context.Context) ([]queue.Ban, error) {
	all, err := s.client.HGetAll(ctx, s.keys.Bans).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: bans: %w", err)
	}
	now := time.Now()
	var out []queue.Ban
	var ended []string
	for a, raw := range all {
		var b queue.Ban
		if json.Unmarshal([]byte(raw), &b) != nil || !b.Active(now) {
			ended = append(ended, a)
			continue
		}
		out = append(out, b)
	}
	if len(ended) > 0 {
		_ = s.client.HDel(ctx, s.keys.Bans, ended...).Err() // tidying; the next read tries again
	}
	slices.SortFunc(out, func(a, b queue.Ban) int { return b.At.Compare(a.At) })
	return out, nil
}

// LiftCoolDown implements queue.Moderation.
func (s *Store) LiftCoolDown(ctx context.Context, addr string) (bool, error) {
	var del *redis.IntCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.Del(ctx, s.keys.CoolDownPrefix+addr)
		p.Del(ctx, s.keys.ReportersPrefix+addr)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("redisstore: lift cool-down of %s: %w", addr, err)
	}
	return del.Val() == 1, nil
}

// Dismiss implements queue.Moderation.
func (s *Store) Dismiss(ctx context.Context, addr string, at time.Time) error {
	if err := s.client.HSet(ctx, s.keys.Dismissed, addr, at.UnixMilli()).Err(); err != nil {
		return fmt.Errorf("redisstore: dismiss %s: %w", addr, err)
	}
	return nil
}

// Audit implements queue.Moderation.
func (s *Store) Audit(ctx context.Context, e queue.AuditEntry) error {
	raw, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("redisstore: audit: %w", err)
	}
	_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, s.keys.Audit, raw)
		p.LTrim(ctx, s.keys.Audit, 0, queue.MaxAuditEntries-1)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: audit: %w", err)
	}
	return nil
}

// AuditLog implements queue.Moderation.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]queue.AuditEntry, error) {
	raws, err := s.client.LRange(ctx, s.keys.Audit, 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: audit log: %w", err)
	}
	out := make([]queue.AuditEntry, 0, len(raws))
	for _, raw := range raws {
		var e queue.AuditEntry
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return nil, fmt.Errorf("redisstore: audit entry: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}
