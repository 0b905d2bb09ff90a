package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// ChurnOptions tunes RunChurn.
type ChurnOptions struct {
	Pairs    int
	Duration time.Duration
	// Chaos: instead of pressing next as soon as it is matched, every client
	// presses Next at random moments, a uniformly random gap of 0..2*ChaosGap
	// apart, whenever it is in a call then (the React client shows Next only
	// in the call view).
	Chaos    bool
	ChaosGap time.Duration // 0: 20 ms
}

// churnClient is the bench's model of one React client, plus what the
// server's announcements say about it.
type churnClient struct {
	i int
	c *Client

	mu sync.Mutex
	// What the React client shows: a call (uiRoom) or the queue (""). Next
	// and partner-left switch to the queue; matched to a call.
	uiRoom string
	// What the server told: the last room announced (evRoom) and whether it
	// is still open, i.e. no partner-left and no later matched yet.
	evRoom    string
	evOpen    bool
	evPartner int
	// pressedInEv: a next was pressed in evRoom (after its matched, before
	// any partner-left). pendingStale counts earlier nexts that no room has
	// used up yet: pressed in a room whose partner-left came after the
	// press, so the server processed them later, as a no-op or against a
	// newer room (the race every real client has too).
	pressedInEv  bool
	pendingStale int
	nexts        int // nexts sent and not refused
	silent       int // rooms left without a partner-left
	refused      int
	nextAt       time.Time
	matched      int
}

// churnRoom is what the bench learnt about one pairing.
type churnRoom struct {
	members [2]int  // members[0] is the first one told
	told    [2]bool // which members got matched
	init    [2]bool
	left    int // partner-left events attributed to this room
	silent  [2]bool
	at      time.Time
}

type churnRun struct {
	o           ChurnOptions
	cl          []*churnClient
	bySID       map[string]int
	names       []string
	ck          *Checks
	lat         Latencies
	running     atomic.Bool
	lastEv      atomic.Int64 // unix nanos of the last event, for quiescence
	mu          sync.Mutex
	rooms       map[string]*churnRoom
	start       time.Time
	stop        time.Time
	formed      int // rooms first announced inside the window
	emitErr     atomic.Int64
	partnerLeft atomic.Int64
	refusals    atomic.Int64
	nextsSent   atomic.Int64 // every next emitted, refused or not
	nextsAcked  atomic.Int64
	refuseMsg   string
	extra       map[string]float64
}

// RunChurn pairs 2*Pairs clients, then for Duration every client presses
// next as soon as it is matched (or, with Chaos, at random moments). It
// reports new pairings per second and the latency from a client's next to
// its next matched, and checks the announcements as the React client would
// see them.
func RunChurn(ctx context.Context, t Target, o ChurnOptions) Result {
	if o.ChaosGap <= 0 {
		o.ChaosGap = 20 * time.Millisecond
	}
	ck := &Checks{}
	t, dc := t.counted()
	ctx, cancel := context.WithTimeout(ctx, o.Duration+60*time.Second)
	defer cancel()
	cr := &churnRun{o: o, ck: ck, rooms: map[string]*churnRoom{}, bySID: map[string]int{}, extra: map[string]float64{}}
	err := cr.run(ctx, t)
	name := "churn"
	if o.Chaos {
		name = "churn-chaos"
	}
	r := newResult(name, t.Store, o.Pairs, "rematch/s", ck, err)
	r.Latency = cr.lat.Summary()
	maps.Copy(r.Extra, cr.extra)
	dc.note(&r)
	if el := cr.stop.Sub(cr.start); el > 0 {
		r.Duration = el.Seconds()
		r.Throughput = float64(cr.formed) / el.Seconds()
	}
	nexts, silent := 0, 0
	for _, c := range cr.cl {
		c.mu.Lock()
		nexts += c.nexts
		silent += c.silent
		c.mu.Unlock()
	}
	r.Extra["rooms_formed"] = float64(cr.formed)
	r.Extra["nexts_sent"] = float64(nexts)
	r.Extra["silent_leaves"] = float64(silent)
	r.Extra["partner_left"] = float64(cr.partnerLeft.Load())
	r.Extra["nexts_refused"] = float64(cr.refusals.Load())
	if n := cr.refusals.Load(); n > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d nexts refused by the server (%q), pressed again 2 ms later", n, cr.refuseMsg))
	}
	return r
}

func (cr *churnRun) run(ctx context.Context, t Target) error {
	n := 2 * cr.o.Pairs
	for _, c := range []string{ckPayload, ckRoomID, ckTwoRooms, ckOrder, ckOnePL, ckReason, ckStuck, ckHalf, ckWaiting, ckAnswered} {
		cr.ck.Pass(c)
	}
	cs, err := connectAll(ctx, t, n, nil)
	if err != nil {
		return fmt.Errorf("churn: %w", err)
	}
	defer closeAll(cs)
	cr.names = names(n)
	for i, c := range cs {
		cr.bySID[c.SID] = i
		cr.cl = append(cr.cl, &churnClient{i: i, c: c, evPartner: -1})
	}
	for _, cc := range cr.cl {
		cc.c.SetHandler(cr.handler(cc))
	}
	// Everybody joins at once; the first pairings are not counted.
	cr.touch()
	for i, cc := range cr.cl {
		if err := cc.c.Emit("join-queue", benchProfile(i)); err != nil {
			return fmt.Errorf("churn: join: %w", err)
		}
	}
	if err := cr.quiesce(ctx, 200*time.Millisecond, 10*time.Second); err != nil {
		return fmt.Errorf("churn: initial pairing: %w", err)
	}
	cr.mu.Lock()
	cr.start = time.Now()
	cr.mu.Unlock()
	cr.running.Store(true)
	cpu := startCPU(t.Server)
	var wg sync.WaitGroup
	wctx, wcancel := context.WithTimeout(ctx, cr.o.Duration)
	defer wcancel()
	if cr.o.Chaos {
		for _, cc := range cr.cl {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(cc.i), uint64(time.Now().UnixNano())))
				for {
					gap := time.Duration(rng.Int64N(int64(2*cr.o.ChaosGap) + 1))
					select {
					case <-wctx.Done():
						return
					case <-time.After(gap):
					}
					cr.pressNext(cc)
				}
			}()
		}
	} else {
		for _, cc := range cr.cl {
			cc.mu.Lock()
			inCall := cc.uiRoom != ""
			cc.mu.Unlock()
			if inCall {
				cr.pressNext(cc)
			}
		}
	}
	<-wctx.Done()
	cr.running.Store(false)
	wg.Wait()
	cr.mu.Lock()
	cr.stop = time.Now()
	cr.mu.Unlock()
	cpu.record(cr.extra)
	if err := cr.quiesce(ctx, 300*time.Millisecond, 10*time.Second); err != nil {
		return fmt.Errorf("churn: settle: %w", err)
	}
	cr.finalChecks()
	cr.checkAnswered(ctx)
	if e := cr.emitErr.Load(); e > 0 {
		return fmt.Errorf("churn: %d emits failed", e)
	}
	return ctx.Err()
}

func (cr *churnRun) touch() { cr.lastEv.Store(time.Now().UnixNano()) }

// quiesce waits until no client has received anything for quiet, at most max.
func (cr *churnRun) quiesce(ctx context.Context, quiet, max time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	for {
		if time.Since(time.Unix(0, cr.lastEv.Load())) >= quiet {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("events still flowing after %v: %w", max, ctx.Err())
		case <-time.After(quiet / 4):
		}
	}
}

// pressNext is the user pressing Next: the client emits next and shows the
// queue at once.
func (cr *churnRun) pressNext(cc *churnClient) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cr.pressNextLocked(cc)
}

func (cr *churnRun) pressNextLocked(cc *churnClient) {
	if cc.uiRoom == "" || !cr.running.Load() {
		return // the React client shows Next only in a call
	}
	room := cc.evRoom
	cc.nexts++
	cc.pressedInEv = true
	if cc.nextAt.IsZero() {
		cc.nextAt = time.Now()
	}
	cc.uiRoom = ""
	// The ack tells a refused next (rate limit) from a processed one; the
	// React client passes none, but it changes nothing else.
	if err := cc.c.EmitCallback("next", nil, func(args json.RawMessage, ok bool) { cr.onNextAck(cc, room, args, ok) }); err != nil {
		cr.emitErr.Add(1)
		return
	}
	cr.nextsSent.Add(1)
}
