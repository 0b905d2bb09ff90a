// Package redisstore is the queue.Store that several server instances share
// through one Redis, with the key names of the original Node.js server. Each
// state change runs inside one Lua script call, which makes it atomic across
// instances (joins, nexts and leaves that arrive together share a call, see
// batch.go); the script appends its events to a stream, in order, and Listen
// reads that stream on every instance.
package redisstore

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/queue"
)

// Key names, as the original server used them (those from EventsKey on are
// new).
const (
	QueueListKey         = "zivro:queue:list"
	QueueSetKey          = "zivro:queue:set"
	RoomsKey             = "zivro:rooms"
	RoomDetailsKey       = "zivro:room_details"
	UserKeyPrefix        = "zivro:user:"
	LastPartnerKeyPrefix = "zivro:last_partner:"
	EventsKey            = "zivro:events"
	// QueueSinceKey is a hash: queued user → when it was queued (ms), for
	// the interest wait.
	QueueSinceKey = "zivro:queue:since"
	// BlockKeyPrefix + address key is a set of the address's blocks (see
	// queue.BlockMember), expiring BlockTTL after the last.
	BlockKeyPrefix = "zivro:blocks:"
	// ReportsKey is the stream of reports kept for moderators.
	ReportsKey = "zivro:reports"
	// ReportersKeyPrefix + address key is a sorted set of the networks
	// (queue.Peer.Net) that recently reported it, by time.
	ReportersKeyPrefix = "zivro:reporters:"
	// CoolDownKeyPrefix + address key exists while the address cools down.
	CoolDownKeyPrefix = "zivro:cooldown:"
	// OnlineKey is a hash: instance → its connected users and when that
	// figure lapses (see census.lua).
	OnlineKey = "zivro:online"
	// InstancesKey is a hash: instance → when its presence lapses (ms,
	// Redis's clock); see beat.lua.
	InstancesKey = "zivro:instances"
	// MembersKeyPrefix + instance is the set of users who joined through
	// it, for a takeover when it dies.
	MembersKeyPrefix = "zivro:members:"
)

const (
	// streamMaxLen caps the event stream (approximately, which is cheap); a
	// listener more than this many events behind loses the oldest.
	streamMaxLen = 10000
	// reportsMaxLen caps the reports stream (approximately): moderators
	// read it sooner than that fills.
	reportsMaxLen = 10000
	// listenBlock is how long one XREAD waits for new events.
	listenBlock = 2 * time.Second
	// listenBatch is how many events one XREAD returns at most.
	listenBatch = 512
	// maxBackoff caps the wait between attempts while Redis is down.
	maxBackoff = time.Second
	// wakeKeyPrefix names the stream a Listen also reads, to be woken up
	// when its context is done: go-redis does not abort a blocked XREAD on
	// cancellation, and a shutdown should not wait for listenBlock.
	wakeKeyPrefix = "zivro:listen:"
	wakeKeyTTL    = 10 * time.Second
)

// Status codes returned by the scripts; see lib.lua.
const (
	statusOK        = 0
	statusBusy      = 1
	statusNotJoined = 2
	statusGone      = 4
)

var (
	//go:embed lib.lua
	libLua string
	//go:embed batch.lua
	batchLua string
	//go:embed match.lua
	matchLua string
	//go:embed sweep.lua
	sweepLua string
	//go:embed beat.lua
	beatLua string
	//go:embed retire.lua
	retireLua string
	//go:embed report.lua
	reportLua string
	//go:embed census.lua
	censusLua string
)

// Store is a queue.Store in Redis.
type Store struct {
	client redis.UniversalClient
	opts   queue.StoreOptions

	batch, match, sweep *redis.Script
	beat, retire        *redis.Script
	report, census      *redis.Script
	// changes sends joins, nexts and leaves to the batch script.
	changes *batcher
}

// Each script starts with a shebang line declaring its flags (Redis 7). A
// script without one is checked command by command: under maxmemory with
// noeviction, Redis refuses its first write that may add memory when the
// script has written nothing yet, and lets everything through once it has
// (a leave's first write is a DEL), so whether a state change runs, and how
// far Redis grows past its limit, depends on its order of commands. A
// script that declares its flags and does not allow OOM is refused whole,
// before it runs, whenever Redis is over its limit: a state change is then
// applied whole or not at all, and its caller gets ErrStoreFull.
const (
	// mayWrite declares a script that writes and is refused when Redis is
	// out of memory.
	mayWrite = "#!lua\n"
	// mayWriteWhenFull declares a script that may also run when Redis is
	// out of memory.
	mayWriteWhenFull = "#!lua flags=allow-oom\n"
)

// New returns a store using client; zero options take the defaults. The
// scripts address keys they compute (profiles, last partners), so client
// must not be a Redis Cluster client. Redis must be version 7 or later (the
// scripts declare their flags).
func New(client redis.UniversalClient, opts queue.StoreOptions) *Store {
	script := func(body string) *redis.Script { return redis.NewScript(mayWrite + libLua + "\n" + body) }
	s := &Store{
		client: client,
		opts:   opts.WithDefaults(),
		batch:  script(batchLua),
		match:  script(matchLua),
		sweep:  script(sweepLua),
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
	}
	s.changes = &batcher{run: s.runBatch}
	return s
}

var _ queue.Store = (*Store)(nil)

var keys = []string{QueueListKey, QueueSetKey, RoomsKey, RoomDetailsKey, EventsKey, QueueSinceKey, InstancesKey}

// argv is the arguments every script takes (see lib.lua), then args.
func (s *Store) argv(args ...any) []any {
	return append([]any{
		rand.Text(),
		ms(s.opts.ProfileTTL),
		ms(s.opts.RematchWindow),
		queue.ScanWindow,
		streamMaxLen,
		UserKeyPrefix,
		LastPartnerKeyPrefix,
		ms(s.opts.InterestWait),
		BlockKeyPrefix,
		ms(s.opts.BlockTTL),
		queue.MaxBlocks,
		CoolDownKeyPrefix,
		MembersKeyPrefix,
		OnlineKey,
	}, args...)
}

// run runs one script: EVALSHA, or EVAL when Redis does not know it yet
// (after a restart), and maps its status to the queue package's errors.
func (s *Store) run(ctx context.Context, sc *redis.Script, args ...any) error {
	status, err := sc.Run(ctx, s.client, keys, s.argv(args...)...).Int64()
	if err != nil {
		return err
	}
	return statusErr(status)
}

// runBatch runs the batch script on ARGV triples (see batch.lua).
func (s *Store) runBatch(ctx context.Context, triples []any) ([]int64, error) {
	return s.batch.Run(ctx, s.client, keys, s.argv(triples...)...).Int64Slice()
}

// change applies one join, next, leave or block through the batcher.
func (s *Store) change(ctx context.Context, op, id, arg string) error {
	status, err := s.changes.do(ctx, op, id, arg)
	if err != nil {
		return err
	}
	return statusErr(status)
}

func statusErr(status int64) error {
	switch {
	case status < 0:
		return &queue.CoolDownError{Remaining: time.Duration(-status) * time.Millisecond}
	case status == statusOK:
		return nil
	case status == statusBusy:
		return queue.ErrBusy
	case status == statusNotJoined:
		return queue.ErrNotJoined
	case status == statusGone:
		return queue.ErrInstanceGone
	default:
		return fmt.Errorf("script returned unknown status %d", status)
	}
}

// ms is d in whole milliseconds, at least 1: PX refuses 0.
func ms(d time.Duration) int64 {
	return max(1, d.Milliseconds())
}

// wrap adds context to Redis errors and passes the queue package's
// sentinel errors through as they are. Redis's refusal of a script for
// lack of memory becomes queue.ErrStoreFull.
func wrap(err error, op string) error {
	if err == nil || errors.Is(err, queue.ErrBusy) || errors.Is(err, queue.ErrNotJoined) || errors.Is(err, queue.ErrCoolDown) || errors.Is(err, queue.ErrInstanceGone) {
		return err
	}
	if redis.HasErrorPrefix(err, "OOM") {
		return fmt.Errorf("redisstore: %s: %w (%w)", op, queue.ErrStoreFull, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

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
	started, err := s.report.Run(ctx, s.client, []string{ReportsKey},
		r.Reporter.ID, r.Reporter.Addr, r.Reported.ID, r.Reported.Addr, r.Reason,
		ms(s.opts.ReportWindow), s.opts.ReportThreshold, ms(s.opts.CoolDown),
		reportsMaxLen, ReportersKeyPrefix, CoolDownKeyPrefix, r.Reporter.ReporterNet()).Int64()
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
			p.Set(ctx, UserKeyPrefix+id, raw, s.opts.ProfileTTL)
		}
		return nil
	})
	return wrap(err, fmt.Sprintf("refresh %d profiles", len(profiles)))
}

// Beat implements queue.Store with one call of beat.lua.
func (s *Store) Beat(ctx context.Context, instance string, ttl time.Duration) (queue.Presence, error) {
	v, err := s.beat.Run(ctx, s.client, keys, s.argv(instance, ms(ttl))...).Int64Slice()
	if err != nil {
		return queue.Presence{}, wrap(err, "beat "+instance)
	}
	if len(v) != 2 {
		return queue.Presence{}, fmt.Errorf("redisstore: beat %s: %d figures, want 2", instance, len(v))
	}
	return queue.Presence{Kept: v[0] == 1, TakenOver: int(v[1])}, nil
}

// Retire implements queue.Store with one call of retire.lua.
func (s *Store) Retire(ctx context.Context, instance string) error {
	return wrap(s.run(ctx, s.retire, instance), "retire "+instance)
}

// Census implements queue.Store with one script call.
func (s *Store) Census(ctx context.Context, instance string, online int, ttl time.Duration) (queue.Counts, error) {
	v, err := s.census.Run(ctx, s.client, []string{OnlineKey, QueueSetKey, RoomsKey}, instance, online, ms(ttl)).Int64Slice()
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

// Listen implements queue.Store. Once Redis answers, it takes the id of the
// stream's last entry, calls ready, and reads on from the last id it has
// seen, so that it neither skips nor repeats events across XREAD calls and
// Redis outages. If Redis restarts empty, new entries get ids above the old
// ones (they are timestamps), so reading on from the last id seen picks them
// up.
func (s *Store) Listen(ctx context.Context, ready func(), handle func(queue.Event)) error {
	backoff := time.Duration(0)
	pause := func() bool {
		backoff = min(max(2*backoff, 50*time.Millisecond), maxBackoff)
		t := time.NewTimer(backoff)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}

	// "$" in XREAD would mean "the end at the time of this call" on every
	// call, losing what arrives between two calls: resolve it once, when
	// Redis can be reached, and only then report ready.
	var last string
	for {
		var err error
		if last, err = s.streamEnd(ctx); err == nil {
			break
		}
		if !pause() {
			return ctx.Err()
		}
	}
	backoff = 0
	ready()

	wake := wakeKeyPrefix + rand.Text()
	woken := make(chan struct{})
	stopWaker := context.AfterFunc(ctx, func() {
		defer close(woken)
		wctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		// Best effort: when Redis is down, XREAD is not blocked anyway.
		_, _ = s.client.Pipelined(wctx, func(p redis.Pipeliner) error {
			p.XAdd(wctx, &redis.XAddArgs{Stream: wake, Values: []any{"stop", "1"}})
			p.PExpire(wctx, wake, wakeKeyTTL)
			return nil
		})
	})
	defer func() {
		if !stopWaker() {
			<-woken // leave no goroutine behind
		}
	}()

	// A connection of its own: through the pool, every XREAD would queue
	// behind the script calls waiting for a connection, and a burst of joins
	// would hold back every announcement until the burst is through.
	conn, release := s.listenConn()
	defer func() { release() }()
	for ctx.Err() == nil {
		streams, err := conn.XRead(ctx, &redis.XReadArgs{
			// The wake stream is read from its start: an entry added
			// before this XREAD must still end it at once.
			Streams: []string{EventsKey, wake, last, "0-0"},
			Count:   listenBatch,
			Block:   listenBlock,
		}).Result()
		if errors.Is(err, redis.Nil) {
			continue // nothing new within listenBlock
		}
		if err != nil {
			// The connection may be the broken part: take a new one.
			release()
			conn, release = s.listenConn()
			if ctx.Err() != nil || !pause() {
				break
			}
			continue
		}
		backoff = 0
		for _, st := range streams {
			if st.Stream != EventsKey {
				continue // woken: the loop condition ends it
			}
			for _, m := range st.Messages {
				last = m.ID
				if e, ok := decode(m.Values); ok {
					e.At = entryTime(m.ID)
					handle(e)
				}
			}
		}
	}
	return ctx.Err()
}

// listenConn returns a connection of its own for the blocking reads of
// Listen, where the client can give one (a cluster client can't: it pools
// per node), and how to give it back.
func (s *Store) listenConn() (redis.Cmdable, func()) {
	if c, ok := s.client.(interface{ Conn() *redis.Conn }); ok {
		conn := c.Conn()
		return conn, func() { _ = conn.Close() }
	}
	return s.client, func() {}
}

// streamEnd is the id of the last event in the stream, "0-0" when empty.
func (s *Store) streamEnd(ctx context.Context) (string, error) {
	msgs, err := s.client.XRevRangeN(ctx, EventsKey, "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

// entryTime is when Redis added the stream entry id: the milliseconds
// before its dash, by Redis's clock. Zero when id is not of that form.
func entryTime(id string) time.Time {
	ms, _, ok := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// decode turns a stream entry back into an event; see the emit functions in
// lib.lua for the fields. Entries it does not understand are skipped, so
// that an older instance survives events a newer one adds.
func decode(v map[string]any) (queue.Event, bool) {
	str := func(k string) string {
		s, _ := v[k].(string)
		return s
	}
	e := queue.Event{User: str("u")}
	switch str("k") {
	case "m":
		e.Kind = queue.EventMatched
		e.Partner = str("p")
		e.PartnerName = str("n")
		e.Room = str("r")
		e.Initiator = str("i") == "1"
		e.PartnerAddr = str("a")
		e.PartnerRegion = str("g")
		e.TextOnly = str("t") == "1"
		if c := str("c"); c != "" {
			// Written by cjson.encode of a list of strings; anything else
			// is an older or foreign entry: no common interests.
			_ = json.Unmarshal([]byte(c), &e.Common)
		}
	case "l":
		e.Kind = queue.EventPartnerLeft
		e.Reason = queue.Reason(str("why"))
	case "d":
		e.Kind = queue.EventDone
	default:
		return queue.Event{}, false
	}
	return e, e.User != ""
}

// AddressKeyKey holds the secret of the address keys (see AddressSecret).
const AddressKeyKey = "zivro:address-key"

// AddressSecret returns the address-hash secret that every instance
// sharing client's Redis uses when none is configured (ADDRESS_HASH_KEY):
// the one kept under AddressKeyKey, after storing proposed there if the
// key is missing (nil: a new random one of 256 bits, as text). One round trip
// (SET NX GET, Redis 7); no TTL: the secret lives as long as the data it
// keys.
func AddressSecret(ctx context.Context, client redis.UniversalClient, proposed []byte) ([]byte, error) {
	if proposed == nil {
		proposed = []byte(rand.Text() + rand.Text()) // 2 × 128 bits
	}
	old, err := client.SetArgs(ctx, AddressKeyKey, proposed, redis.SetArgs{Mode: "NX", Get: true}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return proposed, nil
	case err != nil:
		return nil, fmt.Errorf("redisstore: address secret: %w", err)
	case old == "":
		return nil, fmt.Errorf("redisstore: address secret: %s is empty", AddressKeyKey)
	}
	return []byte(old), nil
}
