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

// Names of the churn checks.
const (
	ckPayload  = "matched payload (partner, name, one initiator)"
	ckRoomID   = "roomId unique per pairing"
	ckTwoRooms = "never matched while paired (two partners at once)"
	ckOrder    = "partner-left only for a told, open pairing"
	ckOnePL    = "at most one partner-left per pairing"
	ckReason   = "partner-left reason next"
	ckStuck    = "nobody stuck in a call its partner left"
	ckHalf     = "both members told of a pairing"
	ckWaiting  = "nobody left waiting with an eligible stranger"
	ckAnswered = "every next answered"
)

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

// checkAnswered waits, briefly, for the ack of every next. A next the
// server dropped unanswered (its per-connection event limit, which the
// bench lifts) leaves its client waiting for a partner-left, so that the
// run would measure the limit instead of the server.
func (cr *churnRun) checkAnswered(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for cr.nextsAcked.Load() < cr.nextsSent.Load() {
		select {
		case <-ctx.Done():
			cr.ck.Failf(ckAnswered, "%d of %d nexts never answered", cr.nextsSent.Load()-cr.nextsAcked.Load(), cr.nextsSent.Load())
			return
		case <-time.After(10 * time.Millisecond):
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

type ackReply struct {
	OK    *bool  `json:"ok"`
	Error string `json:"error"`
}

// onNextAck undoes a next that the server refused (it changed nothing): the
// call goes on, and the user presses again a moment later.
func (cr *churnRun) onNextAck(cc *churnClient, room string, args json.RawMessage, ok bool) {
	if !ok {
		return
	}
	cr.nextsAcked.Add(1)
	var r []ackReply
	if err := json.Unmarshal(args, &r); err != nil || len(r) == 0 || r[0].OK == nil || *r[0].OK {
		return
	}
	cr.refusals.Add(1)
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.nexts--
	cc.refused++
	switch {
	case cc.evOpen && cc.evRoom == room && cc.pressedInEv:
		cc.pressedInEv = false
		cc.uiRoom = room
		time.AfterFunc(2*time.Millisecond, func() { cr.pressNext(cc) })
	case cc.pendingStale > 0:
		cc.pendingStale--
	}
	if cc.refused == 1 {
		cr.mu.Lock()
		cr.refuseMsg = r[0].Error
		cr.mu.Unlock()
	}
}

type partnerLeftMsg struct {
	Reason string `json:"reason"`
}

func (cr *churnRun) handler(cc *churnClient) Handler {
	return func(_ *Client, ev Event) {
		cr.touch()
		switch ev.Name {
		case "matched":
			cr.onMatched(cc, ev)
		case "partner-left":
			cr.onPartnerLeft(cc, ev)
		default:
			cr.ck.Failf(ckOrder, "client %d got unexpected %s %s", cc.i, ev.Name, ev.Data)
		}
	}
}

func (cr *churnRun) onMatched(cc *churnClient, ev Event) {
	var m matchedMsg
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		cr.ck.Failf(ckPayload, "client %d: matched %s: %v", cc.i, ev.Data, err)
		return
	}
	p, ok := cr.bySID[m.PartnerID]
	if !ok || p == cc.i || m.RoomID == "" {
		cr.ck.Failf(ckPayload, "client %d: matched %s names no other client", cc.i, ev.Data)
		return
	}
	if m.PartnerName != cr.names[p] {
		cr.ck.Failf(ckPayload, "client %d: partnerName %q, want %q", cc.i, m.PartnerName, cr.names[p])
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.evOpen {
		// The server moved us on without a partner-left: only a next of
		// ours, pressed in that room or still pending from before, explains
		// that, and each next explains one room.
		cc.silent++
		potential := cc.pendingStale
		if cc.pressedInEv {
			potential++
		}
		if potential == 0 {
			cr.ck.Failf(ckTwoRooms, "client %d matched into %s while still in %s (no partner-left, no next of its own)",
				cc.i, m.RoomID, cc.evRoom)
		} else {
			cc.pendingStale = potential - 1
		}
		cr.mu.Lock()
		if r := cr.rooms[cc.evRoom]; r != nil {
			r.silent[r.slot(cc.i)] = true
		}
		cr.mu.Unlock()
	}
	cr.mu.Lock()
	r := cr.rooms[m.RoomID]
	if r == nil {
		r = &churnRoom{members: [2]int{cc.i, p}, at: ev.At}
		cr.rooms[m.RoomID] = r
		if cr.running.Load() {
			cr.formed++
		}
	}
	if s := r.slot(cc.i); s < 0 || r.members[1-s] != p {
		cr.ck.Failf(ckRoomID, "room %s: client %d with %d, but it was announced for %v", m.RoomID, cc.i, p, r.members)
	} else {
		if r.told[s] {
			cr.ck.Failf(ckRoomID, "client %d told twice of room %s", cc.i, m.RoomID)
		}
		r.told[s] = true
		r.init[s] = m.IsInitiator
		if r.told[1-s] && r.init[0] == r.init[1] {
			cr.ck.Failf(ckPayload, "room %s: isInitiator %v for both", m.RoomID, m.IsInitiator)
		}
	}
	cr.mu.Unlock()
	cc.evRoom, cc.evOpen, cc.evPartner, cc.pressedInEv = m.RoomID, true, p, false
	cc.uiRoom = m.RoomID
	cc.matched++
	if !cc.nextAt.IsZero() {
		cr.lat.Add(ev.At.Sub(cc.nextAt))
		cc.nextAt = time.Time{}
	}
	if !cr.o.Chaos {
		cr.pressNextLocked(cc)
	}
}

func (r *churnRoom) slot(i int) int {
	switch i {
	case r.members[0]:
		return 0
	case r.members[1]:
		return 1
	}
	return -1
}

func (cr *churnRun) onPartnerLeft(cc *churnClient, ev Event) {
	var m partnerLeftMsg
	if err := json.Unmarshal(ev.Data, &m); err != nil || m.Reason != "next" {
		cr.ck.Failf(ckReason, "client %d: partner-left %s", cc.i, ev.Data)
	}
	cr.partnerLeft.Add(1)
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.uiRoom = ""
	if !cc.evOpen {
		cr.ck.Failf(ckOrder, "client %d got partner-left with no open pairing (last room %q)", cc.i, cc.evRoom)
		return
	}
	cc.evOpen = false
	if cc.pressedInEv {
		cc.pendingStale++ // our next came after this: it is still to be used
		cc.pressedInEv = false
	}
	cr.mu.Lock()
	if r := cr.rooms[cc.evRoom]; r != nil {
		r.left++
		if r.left > 1 {
			cr.ck.Failf(ckOnePL, "room %s: both members got partner-left", cc.evRoom)
		}
	}
	cr.mu.Unlock()
}

// finalChecks runs once everything is quiet and nobody presses next.
func (cr *churnRun) finalChecks() {
	for _, cc := range cr.cl {
		cc.mu.Lock()
	}
	defer func() {
		for _, cc := range cr.cl {
			cc.mu.Unlock()
		}
	}()
	cr.mu.Lock()
	defer cr.mu.Unlock()
	half := map[int]bool{}
	for id, r := range cr.rooms {
		for s := range 2 {
			if !r.told[s] {
				half[r.members[s]] = true
				// A correct server may drop a matched that the member's own
				// next made stale; then that member must have pressed next.
				if cr.cl[r.members[s]].nexts == 0 {
					cr.ck.Failf(ckHalf, "room %s: client %d never told, and it never pressed next", id, r.members[s])
				}
			}
		}
	}
	for _, cc := range cr.cl {
		if cc.uiRoom == "" {
			continue
		}
		// The UI shows a call: the partner must show the same call, unless
		// a pending next of ours ended it.
		p := cr.cl[cc.evPartner]
		if p.uiRoom == cc.uiRoom || cc.pendingStale > 0 {
			continue
		}
		cr.ck.Failf(ckStuck, "client %d shows call %s, but partner %d shows %q (its last room %s, open %v)", cc.i, cc.uiRoom, p.i, p.uiRoom, p.evRoom, p.evOpen)
	}
	// Users in the queue with an eligible stranger must have been paired:
	// the only excuse is the no-rematch rule (the last partner).
	// The queue view means: got partner-left, or pressed next after its
	// last matched (all quiet now, so that next has been processed).
	var waiting []*churnClient
	for _, cc := range cr.cl {
		if cc.uiRoom == "" && !half[cc.i] {
			waiting = append(waiting, cc)
		}
	}
	for a := range waiting {
		for b := a + 1; b < len(waiting); b++ {
			x, y := waiting[a], waiting[b]
			if x.evPartner == y.i || y.evPartner == x.i {
				continue
			}
			cr.ck.Failf(ckWaiting, "clients %d and %d both wait, and were not each other's last partner", x.i, y.i)
		}
	}
}
