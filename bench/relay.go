package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// RelayOptions tunes RunRelay.
type RelayOptions struct {
	Pairs    int           // pairs bouncing messages
	Duration time.Duration // how long they bounce
	// StrayEvery: every this many round trips a client also sends a signal
	// to a client that is not its partner, which must never arrive. 0: 16.
	StrayEvery int
	// ClientRate caps the events one client sends per second (its signals
	// plus its chat-message answers), to stay under the server's
	// per-connection rate limit. 0: 400.
	ClientRate int
	// Instances: the clients were dialled round-robin over this many
	// instances (Target.URLs); the share of pairs across instances is
	// reported.
	Instances int
}

// ice is the opaque signal data: shaped like an ICE candidate, plus the
// bench's own bookkeeping, which must come back untouched.
type ice struct {
	Kind          string `json:"k"`
	Seq           uint64 `json:"s"`
	Type          string `json:"type"`
	Candidate     string `json:"candidate"`
	SDPMid        string `json:"sdpMid"`
	SDPMLineIndex int    `json:"sdpMLineIndex"`
}

const candidate = "candidate:842163049 1 udp 1677729535 192.0.2.3 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sXbG network-cost 999"

type signalOut struct {
	To   string `json:"to"`
	Data ice    `json:"data"`
}

type signalIn struct {
	From string `json:"from"`
	Data ice    `json:"data"`
}

type chatOut struct {
	Message string `json:"message"`
}

type chatIn struct {
	From      string `json:"from"`
	Message   string `json:"message"`
	Timestamp int64  `json:"timestamp"`
}

// relayPeer is one client's side of the ping-pong: it sends a signal to its
// partner, the partner answers with a chat-message carrying the sequence
// number, and the round trip starts again.
type relayPeer struct {
	c       *Client
	partner string
	stray   string // a client that is not the partner
	// pre, post: the signal payload around the sequence number, encoded once.
	pre, post []byte
	buf       []byte
	mu        sync.Mutex
	seq       uint64
	waiting   bool
	sentAt    time.Time
	done      chan struct{} // closed when the last round trip is back after stop
}

type relayRun struct {
	peers      []*relayPeer
	bySID      map[string]*relayPeer
	stop       atomic.Bool
	strayEvery uint64
	lat        Latencies
	ck         *Checks
	sigSent    atomic.Int64
	sigRecv    atomic.Int64
	chatSent   atomic.Int64
	chatRecv   atomic.Int64
	straySent  atomic.Int64
	errs       atomic.Int64
	cpu        *cpuMeter
	minGap     time.Duration
	extra      map[string]float64
}

// RunRelay pairs 2*Pairs clients, then every client bounces signal → its
// partner → chat-message back for Duration. It reports relayed messages per
// second and the round-trip (signal out, chat-message back) latency; it
// checks that nothing is lost or misrouted, that data passes untouched, and
// that a signal to a non-partner is never delivered.
func RunRelay(ctx context.Context, t Target, o RelayOptions) Result {
	ck := &Checks{}
	t, dc := t.counted()
	if o.StrayEvery <= 0 {
		o.StrayEvery = 16
	}
	if o.ClientRate <= 0 {
		o.ClientRate = 400
	}
	ctx, cancel := context.WithTimeout(ctx, o.Duration+60*time.Second)
	defer cancel()
	rr := &relayRun{ck: ck, strayEvery: uint64(o.StrayEvery), bySID: map[string]*relayPeer{}, extra: map[string]float64{},
		// Each round trip costs a client one signal, and it answers its
		// partner's round trips with one chat-message each.
		minGap: 2 * time.Second / time.Duration(o.ClientRate)}
	rr.extra["pacing_cap_msgs_per_s"] = float64(2*o.Pairs) * float64(time.Second/rr.minGap) * 2
	el, err := rr.run(ctx, t, o)
	r := newResult("relay", t.Store, o.Pairs, "msgs/s", ck, err)
	r.Latency = rr.lat.Summary()
	maps.Copy(r.Extra, rr.extra)
	dc.note(&r)
	relayed := rr.sigRecv.Load() + rr.chatRecv.Load()
	if el > 0 {
		r.Duration = el.Seconds()
		r.Throughput = float64(relayed) / el.Seconds()
	}
	r.Extra["relayed"] = float64(relayed)
	r.Extra["signals_sent"] = float64(rr.sigSent.Load())
	r.Extra["chats_sent"] = float64(rr.chatSent.Load())
	r.Extra["strays_sent"] = float64(rr.straySent.Load())
	return r
}

func (rr *relayRun) run(ctx context.Context, t Target, o RelayOptions) (time.Duration, error) {
	n := 2 * o.Pairs
	var rssBefore int64
	if t.Server != nil {
		rssBefore, _ = t.Server.RSS()
	}
	cs, err := connectAll(ctx, t, n, nil)
	if err != nil {
		return 0, fmt.Errorf("relay: %w", err)
	}
	defer closeAll(cs)
	p := newPairing(cs, names(n))
	p.inTurn = o.Instances > 1
	if _, err := joinAndPair(ctx, p, 50*time.Millisecond, rr.ck); err != nil {
		return 0, fmt.Errorf("relay: %w", err)
	}
	pairs := p.pairs()
	if len(pairs) != o.Pairs {
		return 0, fmt.Errorf("relay: %d pairs formed, want %d", len(pairs), o.Pairs)
	}
	if o.Instances > 1 {
		across := 0
		for _, pair := range pairs {
			if pair[0]%o.Instances != pair[1]%o.Instances {
				across++
			}
		}
		rr.extra["pairs_across_instances"] = float64(across)
	}
	for _, c := range cs {
		pr := &relayPeer{c: c, done: make(chan struct{})}
		rr.peers = append(rr.peers, pr)
		rr.bySID[c.SID] = pr
	}
	for k, pair := range pairs {
		a, b := rr.peers[pair[0]], rr.peers[pair[1]]
		a.partner, b.partner = b.c.SID, a.c.SID
		a.encode()
		b.encode()
		next := pairs[(k+1)%len(pairs)]
		if len(pairs) > 1 {
			a.stray, b.stray = cs[next[1]].SID, cs[next[0]].SID
		}
	}
	for _, n := range []string{"nothing lost", "no misrouting", "data untouched", "stray signal never delivered", "chat timestamp"} {
		rr.ck.Pass(n)
	}
	for _, pr := range rr.peers {
		pr.c.SetHandler(rr.handler(pr))
	}
	rr.cpu = startCPU(t.Server)
	start := time.Now()
	for _, pr := range rr.peers {
		if err := rr.send(pr); err != nil {
			return 0, fmt.Errorf("relay: %w", err)
		}
	}
	select {
	case <-time.After(o.Duration):
	case <-ctx.Done():
	}
	rr.stop.Store(true)
	el := time.Since(start)
	rr.cpu.record(rr.extra)
	// Memory under load: what the server holds per connection at the end
	// of the relay, above what it held before they connected (no forced
	// collection: the server as it runs).
	if t.Server != nil && rssBefore > 0 {
		if rss, err := t.Server.RSS(); err == nil {
			rr.extra["rss_kb_per_conn_under_load"] = float64(rss-rssBefore) / float64(n) / 1024
		}
	}
	// Drain: every peer's last round trip must come back.
	dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
	defer dcancel()
	for _, pr := range rr.peers {
		pr.mu.Lock()
		if !pr.waiting {
			pr.closeDone()
		}
		pr.mu.Unlock()
	}
	for _, pr := range rr.peers {
		select {
		case <-pr.done:
		case <-dctx.Done():
		}
	}
	// Late strays or duplicates would arrive now.
	select {
	case <-time.After(100 * time.Millisecond):
	case <-ctx.Done():
	}
	if d := rr.sigSent.Load() - rr.sigRecv.Load(); d != 0 {
		rr.ck.Failf("nothing lost", "%d of %d signals not delivered", d, rr.sigSent.Load())
	}
	if d := rr.chatSent.Load() - rr.chatRecv.Load(); d != 0 {
		rr.ck.Failf("nothing lost", "%d of %d chat-messages not delivered", d, rr.chatSent.Load())
	}
	if e := rr.errs.Load(); e > 0 {
		return el, fmt.Errorf("relay: %d emits failed", e)
	}
	return el, nil
}

// encode prepares the signal payload, {"to":partner,"data":ice}, around the
// sequence number: the same bytes json.Marshal would write, without its cost
// on the hot path.
func (pr *relayPeer) encode() {
	full, _ := json.Marshal(signalOut{To: pr.partner, Data: ice{Kind: "ping", Seq: 0, Type: "candidate", Candidate: candidate, SDPMid: "0"}})
	i := bytes.Index(full, []byte(`"s":0`)) + len(`"s":`)
	pr.pre, pr.post = full[:i], full[i+1:]
}

func (pr *relayPeer) closeDone() {
	select {
	case <-pr.done:
	default:
		close(pr.done)
	}
}

// send starts the peer's next round trip: a signal to its partner, and every
// strayEvery round trips a signal to a stranger.
func (rr *relayRun) send(pr *relayPeer) error {
	pr.mu.Lock()
	if rr.stop.Load() {
		pr.closeDone()
		pr.mu.Unlock()
		return nil
	}
	pr.seq++
	seq := pr.seq
	pr.waiting = true
	pr.sentAt = time.Now()
	pr.mu.Unlock()
	rr.sigSent.Add(1)
	pr.buf = append(strconv.AppendUint(append(pr.buf[:0], pr.pre...), seq, 10), pr.post...)
	if err := pr.c.Emit("signal", json.RawMessage(pr.buf)); err != nil {
		rr.errs.Add(1)
		return err
	}
	if pr.stray != "" && seq%rr.strayEvery == 0 {
		rr.straySent.Add(1)
		if err := pr.c.Emit("signal", signalOut{To: pr.stray, Data: ice{Kind: "stray", Seq: seq}}); err != nil {
			rr.errs.Add(1)
			return err
		}
	}
	return nil
}

func (rr *relayRun) handler(pr *relayPeer) Handler {
	return func(c *Client, ev Event) {
		switch ev.Name {
		case "signal":
			var m signalIn
			if err := json.Unmarshal(ev.Data, &m); err != nil {
				rr.ck.Failf("data untouched", "signal payload %s: %v", ev.Data, err)
				return
			}
			if m.Data.Kind == "stray" {
				rr.ck.Failf("stray signal never delivered", "%s got a signal meant for its non-partner from %s", c.SID, m.From)
				return
			}
			rr.sigRecv.Add(1)
			if m.From != pr.partner {
				rr.ck.Failf("no misrouting", "%s got a signal from %s, partner is %s", c.SID, m.From, pr.partner)
				return
			}
			if m.Data.Kind != "ping" || m.Data.Type != "candidate" || m.Data.Candidate != candidate || m.Data.SDPMid != "0" {
				rr.ck.Failf("data untouched", "signal data changed: %s", ev.Data)
			}
			rr.chatSent.Add(1)
			reply := strconv.AppendUint([]byte(`{"message":"`), m.Data.Seq, 10)
			if err := c.Emit("chat-message", json.RawMessage(append(reply, '"', '}'))); err != nil {
				rr.errs.Add(1)
			}
		case "chat-message":
			var m chatIn
			if err := json.Unmarshal(ev.Data, &m); err != nil {
				rr.ck.Failf("no misrouting", "chat-message payload %s: %v", ev.Data, err)
				return
			}
			rr.chatRecv.Add(1)
			if m.From != pr.partner {
				rr.ck.Failf("no misrouting", "%s got a chat-message from %s, partner is %s", c.SID, m.From, pr.partner)
				return
			}
			if d := time.Since(time.UnixMilli(m.Timestamp)); d > time.Minute || d < -time.Minute {
				rr.ck.Failf("chat timestamp", "timestamp %d is %v off", m.Timestamp, d)
			}
			pr.mu.Lock()
			want := strconv.FormatUint(pr.seq, 10)
			if !pr.waiting || m.Message != want {
				pr.mu.Unlock()
				rr.ck.Failf("no misrouting", "%s got chat-message %q, waiting=%v for %q", c.SID, m.Message, pr.waiting, want)
				return
			}
			pr.waiting = false
			rr.lat.Add(ev.At.Sub(pr.sentAt))
			wait := time.Until(pr.sentAt.Add(rr.minGap))
			pr.mu.Unlock()
			if wait > 0 {
				time.AfterFunc(wait, func() { _ = rr.send(pr) })
				return
			}
			_ = rr.send(pr)
		default:
			rr.ck.Failf("no misrouting", "%s got unexpected %s %s", c.SID, ev.Name, ev.Data)
		}
	}
}
