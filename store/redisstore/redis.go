// Package redisstore is the queue.Store that several server instances share
// through one Redis, with the key names of the original Node.js server. Each
// state change runs inside one Lua script call, which makes it atomic across
// instances (joins, nexts, leaves and blocks that arrive together share a
// call, see batch.go); the script appends its events to a stream, in order,
// and Listen reads that stream on every instance.
package redisstore

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/queue"
)

const (
	// streamMaxLen caps the event stream (approximately, which is cheap); a
	// listener more than this many events behind loses the oldest.
	streamMaxLen = 10000
	// reportsMaxLen caps the reports stream (approximately): moderators
	// read it sooner than that fills.
	reportsMaxLen = 10000
)

// Store is a queue.Store in Redis.
type Store struct {
	client redis.UniversalClient
	opts   queue.StoreOptions
	// keys are the key names for client (KeysFor); libKeys the KEYS of
	// the scripts built on lib.lua.
	keys    Keys
	libKeys []string
	// cluster: client is a Redis Cluster's (see KeepOrPublish).
	cluster bool

	batch, match, sweep *redis.Script
	beat, retire        *redis.Script
	report, census      *redis.Script
	hold, resume, lapse *redis.Script
	keep                *redis.Script
	ban                 *redis.Script
	reconcile           *redis.Script
	// changes sends joins, nexts, leaves and blocks to the batch script.
	changes *batcher

	// primary is the run_id of the server that answered the last beat
	// (see failover.go).
	primaryMu sync.Mutex
	primary   string
}

// New returns a store using client (a single Redis's, a Sentinel's or a
// Redis Cluster's: the key names follow, see KeysFor); zero options take
// the defaults. Redis must be version 7 or later (the scripts declare their
// flags).
func New(client redis.UniversalClient, opts queue.StoreOptions) *Store {
	script := func(body string) *redis.Script { return redis.NewScript(mayWrite + libLua + "\n" + body) }
	keys := KeysFor(client)
	s := &Store{
		client:  client,
		opts:    opts.WithDefaults(),
		keys:    keys,
		libKeys: keys.lib(),
		cluster: keys == ClusterKeys(),
		batch:   script(batchLua),
		match:   script(matchLua),
		sweep:   script(sweepLua),
		// A beat must answer while Redis is full: a refusal would let the
		// instance's presence lapse, and the others would take over its
		// users. It adds little: one field, and a takeover deletes more
		// than it writes.
		beat:   redis.NewScript(mayWriteWhenFull + libLua + "\n" + beatLua),
		retire: redis.NewScript(mayWriteWhenFull + libLua + "\n" + retireLua),
		// A report is refused when Redis is full, as a state change is.
		report: redis.NewScript(mayWrite + reportLua),
		// Overwrites one small field per instance: the figures stay
		// readable while Redis is full.
		census: redis.NewScript(mayWriteWhenFull + censusLua),
		// A hold is refused when Redis is full: the drop is then a
		// disconnect, which frees memory.
		hold: script(holdLua),
		// Resume and lapse delete the kept frames, more than they write:
		// they must work while Redis is full, as a retirement does.
		resume: redis.NewScript(mayWriteWhenFull + libLua + "\n" + resumeLua),
		lapse:  redis.NewScript(mayWriteWhenFull + libLua + "\n" + lapseLua),
		// Keeping also carries every relay (KeepOrPublish), which must not
		// stop while Redis is full, and a frame refused to a held session
		// would be missed by its client without anyone knowing; what one
		// session keeps is bounded (MaxKeptFrames, MaxKeptBytes).
		keep: redis.NewScript(mayWriteWhenFull + keepLua),
		// A ban must go through when Redis is full: it adds one key and
		// one event, and stops users who may be what filled it.
		ban: redis.NewScript(mayWriteWhenFull + banLua),
		// A reconciliation writes back what a failover lost, little more
		// than was there: refused while Redis is full, the instance's
		// users would stay wrong until it is not.
		reconcile: redis.NewScript(mayWriteWhenFull + libLua + "\n" + reconcileLua),
	}
	s.changes = &batcher{run: s.runBatch}
	return s
}

var _ queue.Store = (*Store)(nil)

// Keys are the names of the keys s keeps.
func (s *Store) Keys() Keys { return s.keys }

// Join implements queue.Store.
func (s *Store) Join(ctx context.Context, id string, p queue.Profile) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("redisstore: join %s: %w", id, err)
	}
	return wrap(s.change(ctx, "j", id, string(raw)), "join "+id)
}

// Next implements queue.Store.
func (s *Store) Next(ctx context.Context, id string) error {
	return wrap(s.change(ctx, "n", id, ""), "next "+id)
}

// Leave implements queue.Store.
func (s *Store) Leave(ctx context.Context, id string, reason queue.Reason) error {
	return wrap(s.change(ctx, "l", id, string(reason)), "leave "+id)
}

// Block implements queue.Store: a change of its own in the batch script.
func (s *Store) Block(ctx context.Context, by, target queue.Peer) error {
	raw, err := json.Marshal(struct {
		Addr       string `json:"addr"`
		Target     string `json:"target"`
		TargetAddr string `json:"targetAddr"`
	}{by.Addr, target.ID, target.Addr})
	if err != nil {
		return fmt.Errorf("redisstore: block %s: %w", by.ID, err)
	}
	return wrap(s.change(ctx, "b", by.ID, string(raw)), "block "+by.ID)
}

// Report implements queue.Store with one call of report.lua.
func (s *Store) Report(ctx context.Context, r queue.Report) (bool, error) {
	var evidence []byte
	if r.Evidence != nil {
		var err error
		if evidence, err = json.Marshal(r.Evidence); err != nil {
			return false, fmt.Errorf("redisstore: report %s by %s: evidence: %w", r.Reported.ID, r.Reporter.ID, err)
		}
	}
	k := s.keys
	started, err := s.report.Run(ctx, s.client, []string{k.Reports, k.ReportersPrefix, k.CoolDownPrefix, k.EvidencePrefix, k.EvidenceList},
		r.Reporter.ID, r.Reporter.Addr, r.Reported.ID, r.Reported.Addr, r.Reason,
		ms(s.opts.ReportWindow), s.opts.ReportThreshold, ms(s.opts.CoolDown),
		reportsMaxLen, r.Reporter.ReporterNet(),
		evidence, ms(s.opts.EvidenceTTL), s.opts.EvidenceKeep).Int64()
	if err != nil {
		return false, fmt.Errorf("redisstore: report %s by %s: %w", r.Reported.ID, r.Reporter.ID, err)
	}
	return started == 1, nil
}

// Match implements queue.Store.
func (s *Store) Match(ctx context.Context) error {
	return wrap(s.run(ctx, s.match), "match")
}

// Sweep implements queue.Store.
func (s *Store) Sweep(ctx context.Context) error {
	return wrap(s.run(ctx, s.sweep), "sweep")
}

// Refresh implements queue.Store with one pipeline of SETs: the profiles are
// independent, so they need no script.
func (s *Store) Refresh(ctx context.Context, profiles map[string]queue.Profile) error {
	if len(profiles) == 0 {
		return nil
	}
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for id, prof := range profiles {
			raw, err := json.Marshal(prof)
			if err != nil {
				return err
			}
			p.Set(ctx, s.keys.UserPrefix+id, raw, s.opts.ProfileTTL)
		}
		return nil
	})
	return wrap(err, fmt.Sprintf("refresh %d profiles", len(profiles)))
}

// Beat implements queue.Store with one call of beat.lua.
func (s *Store) Beat(ctx context.Context, instance string, ttl time.Duration) (queue.Presence, error) {
	v, err := s.beat.Run(ctx, s.client, s.libKeys, s.argv(instance, ms(ttl))...).Int64Slice()
	if err != nil {
		s.reloadSlots(ctx)
		return queue.Presence{}, wrap(err, "beat "+instance)
	}
	if len(v) != 2 {
		return queue.Presence{}, fmt.Errorf("redisstore: beat %s: %d figures, want 2", instance, len(v))
	}
	return queue.Presence{Kept: v[0] == 1, TakenOver: int(v[1]), Switched: s.switched(ctx)}, nil
}

// Retire implements queue.Store with one call of retire.lua.
func (s *Store) Retire(ctx context.Context, instance string) error {
	return wrap(s.run(ctx, s.retire, instance), "retire "+instance)
}

// Census implements queue.Store with one script call.
func (s *Store) Census(ctx context.Context, instance string, online int, ttl time.Duration) (queue.Counts, error) {
	v, err := s.census.Run(ctx, s.client, []string{s.keys.Online, s.keys.QueueSet, s.keys.Rooms}, instance, online, ms(ttl)).Int64Slice()
	if err != nil {
		return queue.Counts{}, fmt.Errorf("redisstore: census: %w", err)
	}
	if len(v) != 3 {
		return queue.Counts{}, fmt.Errorf("redisstore: census: %d figures, want 3", len(v))
	}
	return queue.Counts{Online: int(v[0]), Waiting: int(v[1]), InCall: int(v[2])}, nil
}

// Windows returns the rematch window and interest wait this store enforces.
func (s *Store) Windows() queue.Windows {
	return queue.Windows{RematchWindow: s.opts.RematchWindow, InterestWait: s.opts.InterestWait}
}

// Ping implements queue.Store.
func (s *Store) Ping(ctx context.Context) error {
	return wrap(s.client.Ping(ctx).Err(), "ping")
}
