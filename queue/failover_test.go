package queue_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/eventually"
	"github.com/zivro/zivro/internal/redisproc"
	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/redisstore"
)

// logCapture keeps a service's log records, for the test to read what it
// reconciled.
type logCapture struct {
	mu      sync.Mutex
	records []slog.Record
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *logCapture) WithGroup(string) slog.Handler            { return c }
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	c.records = append(c.records, r.Clone())
	c.mu.Unlock()
	return nil
}

// count is how many records say msg.
func (c *logCapture) count(msg string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.records {
		if r.Message == msg {
			n++
		}
	}
	return n
}

// sum adds up the integer attribute key of the records saying msg.
func (c *logCapture) sum(msg, key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.records {
		if r.Message != msg {
			continue
		}
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				n += int(a.Value.Int64())
			}
			return true
		})
	}
	return n
}

// outcomes records when the users' state changes were refused or went
// through, for the time without service.
type outcomes struct {
	mu      sync.Mutex
	refused []time.Time
	ok      []time.Time
	errs    map[string]int
}

func (o *outcomes) note(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	switch {
	case err == nil:
		o.ok = append(o.ok, now)
	case errors.Is(err, queue.ErrBusy), errors.Is(err, queue.ErrNotJoined):
		// Answers, not refusals: the store was there.
		o.ok = append(o.ok, now)
	default:
		o.refused = append(o.refused, now)
		if o.errs == nil {
			o.errs = map[string]int{}
		}
		o.errs[refusal(err)]++
	}
}

// refusal names what refused a state change, for the log: the error's
// text without the user's id.
func refusal(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// outage is the longest time after since in which no state change went
// through, while some were refused: the time without service; and how
// many were refused after since.
func (o *outcomes) outage(since time.Time) (time.Duration, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, at := range o.refused {
		if at.After(since) {
			n++
		}
	}
	ok := slices.Clone(o.ok)
	slices.SortFunc(ok, func(a, b time.Time) int { return a.Compare(b) })
	var longest time.Duration
	for i := 1; i < len(ok); i++ {
		if ok[i].After(since) {
			longest = max(longest, ok[i].Sub(ok[i-1]))
		}
	}
	return longest, n
}

// failoverInstance is one server instance of the test: its service, its
// log.
type failoverInstance struct {
	svc *queue.Service
	log *logCapture
}

func startFailoverInstance(t *testing.T, client redis.UniversalClient, rec *recorder, opts queue.StoreOptions) *failoverInstance {
	t.Helper()
	t.Cleanup(func() { _ = client.Close() })
	logs := &logCapture{}
	svc := queue.NewService(redisstore.New(client, opts), rec, slog.New(logs), queue.Config{HeartbeatEvery: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_ = svc.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-svc.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("service not listening to the store after 10 s")
	}
	return &failoverInstance{svc: svc, log: logs}
}

// traffic is users who join, and when told they are paired check their
// partner (as each relayed signal does) and press Next, or now and then
// leave and join again, until ctx is done.
func traffic(ctx context.Context, svc *queue.Service, view *recorder, id string, out *outcomes) {
	svc.Connect(id)
	joined := false
	for ctx.Err() == nil {
		if !joined {
			err := svc.Join(ctx, id, queue.Profile{Name: "n-" + id})
			out.note(err)
			joined = err == nil || errors.Is(err, queue.ErrBusy)
		}
		time.Sleep(time.Duration(20+rand.IntN(40)) * time.Millisecond)
		if !joined {
			continue
		}
		// A client acts on what it was told: Next only in a call it knows
		// of. Each relayed signal asks the service for the partner.
		svc.Partner(id)
		if _, ok := clientView(view.of(id)); !ok {
			continue
		}
		// The client leaves the call as it presses the button; if the
		// server refuses, the call goes on.
		view.add(id, announcement{own: true})
		var err error
		if rand.IntN(8) == 0 {
			err = svc.Leave(ctx, id)
			joined = err != nil && !errors.Is(err, queue.ErrNotJoined)
		} else {
			err = svc.Next(ctx, id)
		}
		out.note(err)
		view.add(id, announcement{ownRefused: err != nil, ownDone: err == nil})
	}
}

// clientView replays what a user was told, and its own Nexts and leaves,
// as its client does: its current call, if any.
func clientView(seen []announcement) (queue.Match, bool) {
	var m, before queue.Match
	var in, inBefore, crossed bool
	for _, a := range seen {
		switch {
		case a.matched:
			m, in, crossed = a.match, true, true
		case a.own:
			before, inBefore, crossed = m, in, false
			in = false
		case a.ownRefused:
			// Unless something was announced meanwhile (see
			// assertStrictlyCoherent).
			if !crossed {
				m, in = before, inBefore
			}
		case a.ownDone:
		default:
			in, crossed = false, true
		}
	}
	return m, in
}

// assertStrictlyCoherent checks what a user was told, as a client reads
// it: a pairing only while in no call, partner-left only while in one,
// every room once.
func assertStrictlyCoherent(t *testing.T, id string, seen []announcement) bool {
	t.Helper()
	ok := true
	// outstanding: an own Next or leave is under way; crossed: something
	// was announced meanwhile, so which call it ended is the server's
	// order (its partner's Next crossed it, or a pairing made meanwhile
	// that it then ended silently), as for any client, failover or not:
	// the client shows the latest, up to its next pairing.
	// ownSinceMatch: the user pressed Next since its last pairing; a
	// partner-left for that pairing may come after (its partner's Next
	// crossed its own), which the client, in the queue already, ignores.
	inCall, before, outstanding, crossed, ownSinceMatch := false, false, false, false, false
	rooms := map[string]bool{}
	for i, a := range seen {
		switch {
		case a.own:
			before, inCall, outstanding, crossed, ownSinceMatch = inCall, false, true, false, true
			continue
		case a.ownRefused:
			// Unless something was announced meanwhile: then the request
			// went through after all (its reply lost), or was overtaken.
			if !crossed {
				inCall = before
			}
			outstanding = false
			continue
		case a.ownDone:
			outstanding = false
			continue
		case outstanding:
			crossed = true
		case crossed && a.matched:
			crossed = false
		case a.matched && inCall:
			t.Errorf("%s: matched (%s) at %d while in a call", id, a.match.RoomID, i)
			ok = false
		case a.matched && rooms[a.match.RoomID]:
			t.Errorf("%s: room %s announced twice (%d)", id, a.match.RoomID, i)
			ok = false
		case !a.matched && !inCall && !ownSinceMatch:
			t.Errorf("%s: partner-left (%s) at %d while not in a call", id, a.reason, i)
			ok = false
		}
		if a.matched {
			rooms[a.match.RoomID] = true
			ownSinceMatch = false
		}
		inCall = a.matched
	}
	return ok
}

// tail is formatSeen of the last announcements.
func tail(seen []announcement) string {
	return formatSeen(seen[max(0, len(seen)-12):])
}

func formatSeen(seen []announcement) string {
	var b strings.Builder
	for i, a := range seen {
		switch {
		case a.matched:
			fmt.Fprintf(&b, "\t%d matched %s room %s\n", i, a.match.PartnerID, a.match.RoomID)
		case a.own:
			fmt.Fprintf(&b, "\t%d own next or leave\n", i)
		case a.ownRefused:
			fmt.Fprintf(&b, "\t%d refused\n", i)
		case a.ownDone:
			fmt.Fprintf(&b, "\t%d done\n", i)
		default:
			fmt.Fprintf(&b, "\t%d partner-left %s\n", i, a.reason)
		}
	}
	return b.String()
}

// failoverRig is what a failover test runs on: how to make a client for
// an instance, a client to check the store with, its key names, and the
// failure, which returns once a replica has taken over. lossy: the
// failure loses the last writes, which the instances must notice.
type failoverRig struct {
	client func() redis.UniversalClient
	check  redis.UniversalClient
	keys   redisstore.Keys
	fail   func(t *testing.T)
	lossy  bool
}

// TestSentinelFailover runs two instances on a Sentinel group (a primary,
// a replica, three sentinels) with users pairing and pressing Next, cuts
// the replica off so that what the primary writes from then on is lost,
// SIGKILLs the primary mid-traffic and lets the sentinels promote the
// replica; then checks what testFailover says.
func TestSentinelFailover(t *testing.T) {
	g := redisproc.StartSentinel(t)
	client := func() redis.UniversalClient {
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:    redisproc.SentinelMaster,
			SentinelAddrs: g.Sentinels,
			DialTimeout:   200 * time.Millisecond,
			MaxRetries:    -1,
		})
	}
	check := client()
	defer check.Close()
	testFailover(t, failoverRig{client: client, check: check, keys: redisstore.SingleKeys(), lossy: true, fail: func(t *testing.T) {
		g.DetachReplica(t)
		time.Sleep(300 * time.Millisecond) // writes the replica never gets
		g.WaitPromoted(t, g.KillPrimary(t))
	}})
}

// TestClusterFailover is TestSentinelFailover on a 3-primary Redis
// Cluster with a replica each: the primary of the state's slot ({zivro})
// is SIGKILLed mid-traffic and its replica takes over.
func TestClusterFailover(t *testing.T) {
	c := redisproc.StartCluster(t, redisproc.ClusterOptions{Replicas: true})
	client := func() redis.UniversalClient {
		// Retries, as in production (redisconn): the client reads the
		// slots again after a failed call to a dead node.
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DialTimeout: 200 * time.Millisecond})
	}
	check := client()
	defer check.Close()
	keys := redisstore.ClusterKeys()
	slot, err := check.ClusterKeySlot(context.Background(), keys.Events).Result()
	if err != nil {
		t.Fatal(err)
	}
	testFailover(t, failoverRig{client: client, check: check, keys: keys, fail: func(t *testing.T) {
		c.KillPrimary(t, int(slot))
	}})
}

// testFailover runs two instances on rig with users pairing and pressing
// Next, makes the failure mid-traffic, and, once the users stop acting,
// requires every one of them in a call that both sides were told of and
// that the store holds: nobody in two rooms or with someone gone, nobody
// waiting, every partner of a lost pairing told (or it would still believe
// in it); nobody told of a second call while in one; both instances
// reconciled, and noticed the stream's gap when the failure lost writes.
// It logs the time without service, the calls ended and the users
// requeued.
func testFailover(t *testing.T, rig failoverRig) {
	rec := newRecorder()
	opts := queue.StoreOptions{RematchWindow: 300 * time.Millisecond}
	insts := []*failoverInstance{startFailoverInstance(t, rig.client(), rec, opts), startFailoverInstance(t, rig.client(), rec, opts)}

	const users = 40
	ids := make([]string, users)
	out := &outcomes{}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range ids {
		ids[i] = fmt.Sprintf("u%02d", i)
		wg.Go(func() { traffic(ctx, insts[i%2].svc, rec, ids[i], out) })
	}
	t.Cleanup(func() { stop(); wg.Wait() })

	time.Sleep(time.Second) // traffic before the failure
	failed := time.Now()
	rig.fail(t)
	promoted := time.Since(failed)
	time.Sleep(2 * time.Second) // traffic after the failover
	stop()
	wg.Wait()
	// Who had just left joins again: everybody wants a partner now.
	for i, id := range ids {
		eventually.True(t, 10*time.Second, func() (bool, string) {
			err := insts[i%2].svc.Join(context.Background(), id, queue.Profile{Name: "n-" + id})
			return err == nil || errors.Is(err, queue.ErrBusy), fmt.Sprintf("join %s after the failover: %v", id, err)
		})
	}

	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i, in := range insts {
			in.log.mu.Lock()
			for _, r := range in.log.records {
				if r.Level >= slog.LevelWarn {
					var b strings.Builder
					r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
					t.Logf("instance %d %s %s%s", i, r.Time.Format("05.000"), r.Message, b.String())
				}
			}
			in.log.mu.Unlock()
		}
	})
	if ok, why := settledWithin(rig.check, rig.keys, rec, ids); !ok {
		t.Fatal(why)
	}

	for _, id := range ids {
		if !assertStrictlyCoherent(t, id, rec.of(id)) {
			t.Logf("%s was told:\n%s", id, formatSeen(rec.of(id)))
		}
	}
	for i, in := range insts {
		if in.log.count("reconciled with the store") == 0 {
			t.Errorf("instance %d never reconciled after the failover", i)
		}
		if rig.lossy && in.log.count("the store's event stream lost events (failover): reconciling") == 0 {
			t.Errorf("instance %d never noticed the stream's gap", i)
		}
	}
	outage, refused := out.outage(failed)
	ended, requeued := 0, 0
	for _, in := range insts {
		ended += in.log.sum("reconciled with the store", "calls_ended") + in.log.sum("reconciled with the store", "ghost_calls")
		requeued += in.log.sum("reconciled with the store", "requeued")
	}
	told := 0
	for _, id := range ids {
		for _, r := range rec.partnerLefts(id) {
			if r == queue.ReasonDisconnect {
				told++
			}
		}
	}
	t.Logf("failover: promoted %v after the kill; no state change went through for %v (%d refused: %v); reconciliations ended %d calls (%d users told partner-left), requeued %d users",
		promoted.Round(time.Millisecond), outage.Round(time.Millisecond), refused, out.errs, ended, told, requeued)
}

// settledWithin waits, 20 s at most, until settled.
func settledWithin(c redis.UniversalClient, keys redisstore.Keys, rec *recorder, ids []string) (bool, string) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, why := settled(context.Background(), c, keys, rec, ids)
		if ok || time.Now().After(deadline) {
			return ok, why
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settled reports whether every user is in a call that both sides were
// told of last and that the store holds, with nobody queued.
func settled(ctx context.Context, c redis.UniversalClient, keys redisstore.Keys, rec *recorder, ids []string) (bool, string) {
	rooms, err := c.HGetAll(ctx, keys.Rooms).Result()
	if cc, ok := c.(*redis.ClusterClient); ok && err != nil {
		cc.ReloadState(ctx) // the state's primary may have moved
	}
	if err != nil {
		return false, fmt.Sprintf("read rooms: %v", err)
	}
	queued, err := c.LLen(ctx, keys.QueueList).Result()
	if err != nil {
		return false, fmt.Sprintf("read queue: %v", err)
	}
	for _, id := range ids {
		m, ok := clientView(rec.of(id))
		if !ok {
			return false, fmt.Sprintf("%s is not in a call (told %+v); store: partner %q, %d queued", id, rec.of(id), rooms[id], queued)
		}
		back, ok := clientView(rec.of(m.PartnerID))
		if !ok || back.PartnerID != id || back.RoomID != m.RoomID {
			return false, fmt.Sprintf("%s believes in room %s with %s, who believes in %+v; the store pairs them with %q and %q\n%s told:\n%s%s told:\n%s",
				id, m.RoomID, m.PartnerID, back, rooms[id], rooms[m.PartnerID], id, tail(rec.of(id)), m.PartnerID, tail(rec.of(m.PartnerID)))
		}
		if rooms[id] != m.PartnerID {
			return false, fmt.Sprintf("%s believes in a call with %s; the store pairs it with %q", id, m.PartnerID, rooms[id])
		}
	}
	if len(rooms) != len(ids) || queued != 0 {
		return false, fmt.Sprintf("the store has %d users in rooms and %d queued, want %d and 0", len(rooms), queued, len(ids))
	}
	return true, ""
}
