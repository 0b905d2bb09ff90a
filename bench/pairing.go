package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Target is what a scenario runs against.
type Target struct {
	URL    string  // http://host:port of the server
	Store  string  // "memory" or "redis", for the report
	Origin string  // Origin header to send, empty for none
	Server *Server // the process, for RSS; nil when not started by us
	Redis  *Redis  // the private redis; nil on the embedded store
	// URLs, when set, are several instances: client i dials URLs[i%len].
	URLs  []string
	dials *dialCounter
}

// dialParallel bounds how many websocket handshakes are in flight at once.
const dialParallel = 64

// connectWait: a namespace connect reply later than this is taken as lost
// and the client dials again (a fresh Engine.IO session, so no duplicate),
// so that the scenario still measures what it is for; the lost reply fails
// the run's "namespace connect answered" check.
const connectWait = 3 * time.Second

// dialCounter counts, for one scenario run, the clients that needed a fresh
// connection because the server never answered their namespace connect.
type dialCounter struct {
	clients, redials atomic.Int64
}

// counted returns a copy of t that counts its dials in a fresh dialCounter.
func (t Target) counted() (Target, *dialCounter) {
	dc := &dialCounter{}
	t.dials = dc
	return t, dc
}

// connectCheck names the check that every namespace connect got its reply.
// The read gate (handler/socketio/gate.go) removed the cause of lost
// replies: one now is a regression, not noise to dial around.
const connectCheck = "namespace connect answered"

// note adds the connect check to r: failed, with the count, when any
// client had to dial again.
func (dc *dialCounter) note(r *Result) {
	n := dc.redials.Load()
	c := Check{Name: connectCheck, OK: n == 0}
	if n > 0 {
		c.Failures = int(n)
		c.Examples = []string{fmt.Sprintf("%d of %d connects got no reply to the namespace connect (40) within %v and were dialled again",
			n, dc.clients.Load(), connectWait)}
		r.Extra["connect_redials"] = float64(n)
		r.OK = false
	}
	r.Checks = append(r.Checks, c)
}

// connectAll dials n clients, dialParallel at a time, each with handler h
// (which may be nil). On error it closes those it opened.
func connectAll(ctx context.Context, t Target, n int, h Handler) ([]*Client, error) {
	cs := make([]*Client, n)
	errs := make([]error, n)
	sem := make(chan struct{}, dialParallel)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			url := t.URL
			if len(t.URLs) > 0 {
				url = t.URLs[i%len(t.URLs)]
			}
			cs[i], errs[i] = Dial(ctx, url, DialOptions{Origin: t.Origin, Handler: h, ConnectWait: connectWait, Attempts: 3})
		}()
	}
	wg.Wait()
	if t.dials != nil {
		t.dials.clients.Add(int64(n))
		for _, c := range cs {
			if c != nil {
				t.dials.redials.Add(int64(c.Redials))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		closeAll(cs)
		return nil, fmt.Errorf("connect %d clients: %w", n, firstErr(errs))
	}
	return cs, nil
}

func firstErr(errs []error) error {
	n := 0
	var first error
	for _, e := range errs {
		if e != nil {
			if first == nil {
				first = e
			}
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("%w (and %d more)", first, n-1)
	}
	return first
}

// closeAll closes every client, in parallel, after detaching every handler
// (the partner-left that the closing causes is nobody's business).
func closeAll(cs []*Client) {
	for _, c := range cs {
		if c != nil {
			c.SetHandler(nil)
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, dialParallel)
	for _, c := range cs {
		if c == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = c.Close()
		}()
	}
	wg.Wait()
}

// profile is the join-queue payload.
type profile struct {
	Name   string `json:"name"`
	Gender string `json:"gender"`
	Region string `json:"region"`
}

func benchProfile(i int) profile {
	genders := [...]string{"male", "female", "other"}
	regions := [...]string{"asia", "europe", "africa", "north-america", "south-america", "oceania"}
	return profile{Name: fmt.Sprintf("bench%05d", i), Gender: genders[i%3], Region: regions[i%6]}
}

// matchedMsg is the payload of matched.
type matchedMsg struct {
	RoomID      string `json:"roomId"`
	PartnerID   string `json:"partnerId"`
	PartnerName string `json:"partnerName"`
	IsInitiator bool   `json:"isInitiator"`
}

// pairing is the outcome of joinAndPair: who got paired with whom.
type pairing struct {
	// inTurn: each client joins once the one before it has its ack, so
	// that clients 2j and 2j+1 are paired (the instances scenario dials
	// them to different instances).
	inTurn    bool
	clients   []*Client
	names     []string
	bySID     map[string]int
	mu        sync.Mutex
	got       []int // matched events received
	partner   []int // index of the partner, -1 when unknown
	msg       []matchedMsg
	emitAt    []time.Time
	matchedAt []time.Time
	other     []int // events other than matched
	joinAck   []string
	left      int // clients not yet matched
	all       chan struct{}
}

func newPairing(cs []*Client, names []string) *pairing {
	n := len(cs)
	p := &pairing{clients: cs, names: names, bySID: make(map[string]int, n),
		got: make([]int, n), partner: make([]int, n), msg: make([]matchedMsg, n),
		emitAt: make([]time.Time, n), matchedAt: make([]time.Time, n), other: make([]int, n), joinAck: make([]string, n),
		left: n, all: make(chan struct{})}
	for i, c := range cs {
		p.bySID[c.SID] = i
		p.partner[i] = -1
	}
	if n == 0 {
		close(p.all)
	}
	return p
}

// handler returns client i's event handler for the join phase.
func (p *pairing) handler(i int) Handler {
	return func(_ *Client, ev Event) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if ev.Name != "matched" {
			p.other[i]++
			return
		}
		p.got[i]++
		if p.got[i] > 1 {
			return
		}
		var m matchedMsg
		_ = json.Unmarshal(ev.Data, &m)
		p.msg[i] = m
		p.matchedAt[i] = ev.At
		if j, ok := p.bySID[m.PartnerID]; ok {
			p.partner[i] = j
		}
		p.left--
		if p.left == 0 {
			close(p.all)
		}
	}
}

// joinAndPair makes every client emit join-queue at once, waits until all
// are matched (or ctx ends), waits grace for late duplicates, and checks the
// pairing: mutual, one room, one initiator, right names, nobody twice or
// left out. It returns the time from the first emit to the last matched.
func joinAndPair(ctx context.Context, p *pairing, grace time.Duration, ck *Checks) (time.Duration, error) {
	for i, c := range p.clients {
		c.SetHandler(p.handler(i))
	}
	start := make(chan struct{})
	errs := make([]error, len(p.clients))
	var wg sync.WaitGroup
	turn := make([]chan struct{}, len(p.clients)+1)
	for i := range turn {
		turn[i] = make(chan struct{})
	}
	close(turn[0])
	for i, c := range p.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if p.inTurn {
				select {
				case <-turn[i]:
				case <-ctx.Done():
					errs[i] = ctx.Err()
					return
				}
			}
			p.mu.Lock()
			p.emitAt[i] = time.Now()
			p.mu.Unlock()
			// With an ack: a refused join says why in a failure.
			errs[i] = c.EmitCallback("join-queue", benchProfile(i), func(r json.RawMessage, ok bool) {
				p.mu.Lock()
				p.joinAck[i] = string(r)
				p.mu.Unlock()
				close(turn[i+1])
			})
			if errs[i] != nil {
				close(turn[i+1])
			}
		}()
	}
	close(start)
	wg.Wait()
	if err := firstErr(errs); err != nil {
		return 0, fmt.Errorf("join-queue: %w", err)
	}
	var werr error
	select {
	case <-p.all:
	case <-ctx.Done():
		werr = fmt.Errorf("wait for matched: %w", ctx.Err())
	}
	select {
	case <-time.After(grace):
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var first, last time.Time
	for i := range p.clients {
		if first.IsZero() || p.emitAt[i].Before(first) {
			first = p.emitAt[i]
		}
		if p.matchedAt[i].After(last) {
			last = p.matchedAt[i]
		}
	}
	p.check(ck)
	if werr != nil {
		return 0, fmt.Errorf("%w (%d of %d clients unmatched)", werr, p.left, len(p.clients))
	}
	return last.Sub(first), nil
}

// check verifies the pairing; p.mu is held.
func (p *pairing) check(ck *Checks) {
	for _, n := range []string{"everyone paired once", "mutual pairs", "same roomId", "one initiator", "partnerName", "roomId unique", "no other events"} {
		ck.Pass(n)
	}
	rooms := map[string][]int{}
	for i := range p.clients {
		switch {
		case p.got[i] == 0:
			ck.Failf("everyone paired once", "client %d (%s) never matched (join-queue ack: %q)", i, p.clients[i].SID, p.joinAck[i])
			continue
		case p.got[i] > 1:
			ck.Failf("everyone paired once", "client %d got %d matched events", i, p.got[i])
		}
		if p.other[i] > 0 {
			ck.Failf("no other events", "client %d got %d unexpected events", i, p.other[i])
		}
		m := p.msg[i]
		j := p.partner[i]
		if j < 0 || j == i {
			ck.Failf("mutual pairs", "client %d: partnerId %q is no other client", i, m.PartnerID)
			continue
		}
		rooms[m.RoomID] = append(rooms[m.RoomID], i)
		if m.PartnerName != p.names[j] {
			ck.Failf("partnerName", "client %d: partnerName %q, want %q", i, m.PartnerName, p.names[j])
		}
		if p.partner[j] != i {
			ck.Failf("mutual pairs", "client %d paired with %d, who is paired with %d", i, j, p.partner[j])
			continue
		}
		if j < i {
			continue
		}
		if p.msg[j].RoomID != m.RoomID || m.RoomID == "" {
			ck.Failf("same roomId", "pair %d/%d: roomIds %q and %q", i, j, m.RoomID, p.msg[j].RoomID)
		}
		if m.IsInitiator == p.msg[j].IsInitiator {
			ck.Failf("one initiator", "pair %d/%d: isInitiator %v and %v", i, j, m.IsInitiator, p.msg[j].IsInitiator)
		}
	}
	for r, members := range rooms {
		if len(members) > 2 {
			ck.Failf("roomId unique", "room %q has %d members", r, len(members))
		}
	}
}

// pairs returns each pair once as (initiator, responder), after a successful
// joinAndPair.
func (p *pairing) pairs() [][2]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out [][2]int
	for i := range p.clients {
		j := p.partner[i]
		if j < 0 || p.partner[j] != i || !p.msg[i].IsInitiator {
			continue
		}
		out = append(out, [2]int{i, j})
	}
	return out
}

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = benchProfile(i).Name
	}
	return out
}
