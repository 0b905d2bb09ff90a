package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zivro/zivro/store/redisstore"
)

// RolloverOptions tunes RunRollover.
type RolloverOptions struct {
	Pairs int // 2*Pairs resumable clients, paired
}

// heldAddrField is the field of a held session's hash
// (redisstore.SingleKeys().HeldPrefix) that names its address key.
const heldAddrField = "addr"

// handedOverLog is what a server logs once its resumable sessions are held
// at shutdown (main.go), with their count as sessions=N.
const handedOverLog = "resumable sessions handed over"

// Reconnect backoff, like socket.io-client's (reconnectionDelay,
// randomizationFactor, reconnectionDelayMax), with a first retry after
// 100–500 ms.
const (
	reconnectFirstMin = 100 * time.Millisecond
	reconnectFirstMax = 500 * time.Millisecond
	reconnectMax      = 5 * time.Second
)

// memoryUsageSample bounds how many held sessions' keys are read with
// MEMORY USAGE (every sampleEvery during the handover).
const memoryUsageSample = 20

// RunRollover is a rolling deploy under resumable calls (issue 18): two
// instances on t.Redis behind a Proxy; 2*o.Pairs clients that opt in to
// resuming connect through it to instance 1, are paired and prove the call
// with a chat message; then the proxy is retargeted to instance 2,
// instance 1 gets SIGTERM (it closes its resumable clients' connections
// and holds their sessions in Redis) and a fresh instance 3 starts on the
// same Redis (the replacement). Every client reconnects, with a backoff
// like socket.io-client's, through the proxy with {resume, pid, offset}
// and must get the same sid and pid back; then every pair chats both ways.
// Latency: a client's close seen → its resumed connect reply. Throughput:
// resumes per second (first close → last resume). Extra: calls dropped (a
// partner-left, a resume with another sid, or none), Redis memory per held
// session (used_memory just after the handover, above the reading before,
// per session held then; and MEMORY USAGE of a sample of the sessions'
// keys). It needs t.Redis.
func RunRollover(ctx context.Context, t Target, opt ServerOptions, o RolloverOptions) Result {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	rr := &rolloverRun{t: t, o: o, ck: &Checks{}, lat: &Latencies{}, dialLat: &Latencies{}, extra: map[string]float64{}}
	err := rr.run(ctx, opt)
	if rr.paired {
		rr.check()
	}
	r := newResult("rollover", t.Store, o.Pairs, "resumes/s", rr.ck, err)
	r.Latency = rr.lat.Summary()
	r.Duration = rr.window.Seconds()
	if rr.window > 0 {
		r.Throughput = float64(rr.lat.Len()) / rr.window.Seconds()
	}
	for k, v := range rr.extra {
		r.Extra[k] = v
	}
	if d := rr.dialLat.Summary(); d.Count > 0 {
		r.Extra["resume_dial_p50_ms"], r.Extra["resume_dial_p99_ms"] = d.P50, d.P99
	}
	r.Unit = fmt.Sprintf("resumes/s (%d calls dropped", int(rr.extra["calls_dropped"]))
	if k, ok := rr.extra["redis_key_bytes_per_held_session"]; ok {
		r.Unit += fmt.Sprintf("; per held session: keys %.0f B, dataset %.0f B", k, rr.extra["redis_dataset_bytes_per_held_session"])
	}
	r.Unit += ")"
	r.Notes = append(r.Notes, rr.notes...)
	if !r.OK {
		// The suite shows its own server's log; this run's are the
		// instances'.
		for k, s := range rr.servers {
			r.Notes = append(r.Notes, fmt.Sprintf("instance %d log tail:\n%s", k+1, lastLines(s.Log(), 12)))
		}
	}
	return r
}

type rolloverRun struct {
	t   Target
	o   RolloverOptions
	ck  *Checks
	lat *Latencies
	// dialLat: the successful reconnect's dial → its connect reply (the
	// server's part of a resume: the handshake, the claim, waiting for
	// the session to be held).
	dialLat *Latencies
	extra   map[string]float64
	notes   []string
	window  time.Duration
	cs      []*rolloverClient
	// servers are the instances, in the order they started.
	servers []*Server
	// paired: every client has its partner (the calls can be counted).
	paired bool
	// attempts counts the reconnects' dials, the successful ones too.
	attempts atomic.Int64
}

// rolloverClient is one resumable user, across its connections.
type rolloverClient struct {
	i       int
	addr    string // its X-Forwarded-For: users at many addresses
	partner *rolloverClient

	mu      sync.Mutex
	c       *Client // the current connection
	sid     string  // of the first connection
	pid     string
	lastOff int64          // the last event's offset, -1 before the first
	chats   map[string]int // chat-messages received, by text
	left    int            // partner-left received
	other   []string       // other events after the pairing
	dropped string         // why its call counts as dropped, "" when not

	resumed chan struct{} // closed once it is back, or gave up
}

// clientAddr is client i's address: distinct, in 10.0.0.0/8.
func clientAddr(i int) string {
	n := i + 1
	return fmt.Sprintf("10.%d.%d.%d", n>>16&0xff, n>>8&0xff, n&0xff)
}

func (rr *rolloverRun) run(ctx context.Context, opt ServerOptions) error {
	if rr.t.Redis == nil {
		return errors.New("rollover: needs Redis")
	}
	if err := rr.t.Redis.FlushAll(ctx); err != nil {
		return fmt.Errorf("rollover: %w", err)
	}
	// The bench is the instances' load balancer: they believe its
	// X-Forwarded-For, so that the per-address bounds (held sessions per
	// address among them) see users at many addresses.
	opt.Env = append(slices.Clone(opt.Env), "TRUSTED_PROXIES=127.0.0.1")
	defer func() {
		for _, s := range rr.servers {
			s.Stop()
		}
	}()
	for k := range 2 {
		s, err := StartServer(ctx, opt)
		if err != nil {
			return fmt.Errorf("rollover: start instance %d: %w", k+1, err)
		}
		rr.servers = append(rr.servers, s)
	}
	s1, s2 := rr.servers[0], rr.servers[1]
	proxy, err := StartProxy(hostPort(s1))
	if err != nil {
		return fmt.Errorf("rollover: %w", err)
	}
	defer proxy.Close()

	n := 2 * rr.o.Pairs
	if err := rr.connect(ctx, proxy.URL(), n); err != nil {
		return err
	}
	defer func() {
		var cs []*Client
		for _, rc := range rr.cs {
			rc.mu.Lock()
			cs = append(cs, rc.c)
			rc.mu.Unlock()
		}
		closeAll(cs)
	}()
	if err := rr.pair(ctx); err != nil {
		return err
	}
	if !rr.chat(ctx, "call proven", "before", false) {
		return errors.New("rollover: the calls were not proven before the rollover")
	}

	// The rollover.
	before, err := rr.t.Redis.Memory(ctx)
	if err != nil {
		return fmt.Errorf("rollover: %w", err)
	}
	handed := s1.WatchLog(handedOverLog)
	start := time.Now()
	for _, rc := range rr.cs {
		go rr.reconnect(ctx, rc, proxy.URL())
	}
	proxy.Retarget(hostPort(s2))
	if err := s1.Terminate(); err != nil {
		return fmt.Errorf("rollover: %w", err)
	}
	hs := &heldSampler{rd: rr.t.Redis, addrs: map[string]string{}}
	for _, rc := range rr.cs[:min(len(rr.cs), memoryUsageSample)] {
		hs.ids = append(hs.ids, rc.sid)
	}
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() { defer close(sampled); hs.run(ctx, stopSampling) }()
	var stopOnce sync.Once
	stopSampler := func() { stopOnce.Do(func() { close(stopSampling) }); <-sampled }
	defer stopSampler()
	third := make(chan *Server, 1)
	defer func() {
		// Not received below when the run ended early.
		if third != nil {
			if s := <-third; s != nil {
				s.Stop()
			}
		}
	}()
	go func() {
		s, err := StartServer(ctx, opt)
		if err != nil {
			rr.ck.Failf("instance 3 started", "%v", err)
		}
		third <- s
	}()
	rr.ck.Pass("instance 1 handed every session over")
	select {
	case line := <-handed:
		rr.extra["handover_s"] = time.Since(start).Seconds()
		handedN := logCount(line, "sessions")
		rr.extra["handed_over"] = float64(handedN)
		if handedN != n {
			rr.ck.Failf("instance 1 handed every session over", "it handed over %d sessions of %d (%q)", handedN, n, line)
		}
	case <-s1.Exited():
		rr.ck.Failf("instance 1 handed every session over", "it exited without logging %q", handedOverLog)
	case <-ctx.Done():
		rr.ck.Failf("instance 1 handed every session over", "no %q: %v", handedOverLog, ctx.Err())
	}
	stopSampler()
	rr.reportHeld(hs, before)
	var last time.Time
	for _, rc := range rr.cs {
		select {
		case <-rc.resumed:
		case <-ctx.Done():
			return fmt.Errorf("rollover: wait for the resumes: %w", ctx.Err())
		}
		rc.mu.Lock()
		if rc.c != nil && rc.c.ConnectedAt.After(last) {
			last = rc.c.ConnectedAt
		}
		rc.mu.Unlock()
	}
	if !last.IsZero() {
		rr.window = last.Sub(start)
	}
	rr.ck.Pass("instance 1 exited")
	select {
	case <-s1.Exited():
		rr.extra["instance1_shutdown_s"] = s1.ExitedAt().Sub(start).Seconds()
	case <-time.After(15 * time.Second):
		rr.ck.Failf("instance 1 exited", "still running 15 s after SIGTERM")
	}
	rr.ck.Pass("instance 3 started")
	s3 := <-third
	third = nil
	if s3 != nil {
		rr.servers = append(rr.servers, s3)
		if !s3.Healthy(ctx) {
			rr.ck.Failf("instance 3 started", "GET /health is not 200")
		}
	}
	rr.extra["proxy_refused"] = float64(proxy.Refused())
	rr.extra["reconnect_dials"] = float64(rr.attempts.Load())

	rr.chat(ctx, "chat both ways after, exactly once", "after", true)
	return nil
}

func hostPort(s *Server) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// connect dials n resumable clients through the proxy, dialParallel at a
// time.
func (rr *rolloverRun) connect(ctx context.Context, url string, n int) error {
	rr.cs = make([]*rolloverClient, n)
	errs := make([]error, n)
	sem := make(chan struct{}, dialParallel)
	var wg sync.WaitGroup
	rr.ck.Pass("pid given")
	for i := range n {
		rc := &rolloverClient{i: i, addr: clientAddr(i), lastOff: -1, chats: map[string]int{}, resumed: make(chan struct{})}
		rr.cs[i] = rc
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := Dial(ctx, url, DialOptions{Origin: rr.t.Origin, ForwardedFor: rc.addr, Resume: true, ConnectWait: connectWait})
			if err != nil {
				errs[i] = err
				return
			}
			if c.PID == "" || !strings.HasPrefix(c.PID, c.SID+".") {
				rr.ck.Failf("pid given", "client %d: connect reply sid %q pid %q", i, c.SID, c.PID)
			}
			rc.c, rc.sid, rc.pid = c, c.SID, c.PID
		}()
	}
	wg.Wait()
	if err := firstErr(errs); err != nil {
		var cs []*Client
		for _, rc := range rr.cs {
			cs = append(cs, rc.c)
		}
		closeAll(cs)
		return fmt.Errorf("rollover: connect %d clients: %w", n, err)
	}
	return nil
}

// pair joins everyone, checks the pairing, and then watches every event.
func (rr *rolloverRun) pair(ctx context.Context) error {
	cs := make([]*Client, len(rr.cs))
	for i, rc := range rr.cs {
		cs[i] = rc.c
	}
	p := newPairing(cs, names(len(cs)))
	if _, err := joinAndPair(ctx, p, 50*time.Millisecond, rr.ck); err != nil {
		return fmt.Errorf("rollover: %w", err)
	}
	prs := p.pairs()
	if len(prs) != rr.o.Pairs {
		return fmt.Errorf("rollover: %d pairs, want %d", len(prs), rr.o.Pairs)
	}
	for _, pr := range prs {
		a, b := rr.cs[pr[0]], rr.cs[pr[1]]
		a.partner, b.partner = b, a
	}
	rr.paired = true
	rr.ck.Pass("offsets increase (each event once)")
	rr.ck.Pass("chat from the partner")
	for _, rc := range rr.cs {
		rc.c.SetHandler(rr.handler(rc))
		// The matched event's offset (read during the pairing).
		if off, err := strconv.ParseInt(rc.c.Offset(), 10, 64); err == nil {
			rc.lastOff = off
		}
	}
	return nil
}

// handler records rc's events after the pairing, on any of its
// connections.
func (rr *rolloverRun) handler(rc *rolloverClient) Handler {
	return func(_ *Client, ev Event) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		off, err := strconv.ParseInt(ev.Offset, 10, 64)
		switch {
		case err != nil:
			rr.ck.Failf("offsets increase (each event once)", "client %d: %s with offset %q", rc.i, ev.Name, ev.Offset)
		case off <= rc.lastOff:
			rr.ck.Failf("offsets increase (each event once)", "client %d: %s with offset %d after %d", rc.i, ev.Name, off, rc.lastOff)
		default:
			rc.lastOff = off
		}
		switch ev.Name {
		case "chat-message":
			var m chatIn
			if err := json.Unmarshal(ev.Data, &m); err != nil || m.From != rc.partner.sid {
				rr.ck.Failf("chat from the partner", "client %d: chat-message %s (%v), partner %s", rc.i, ev.Data, err, rc.partner.sid)
			}
			rc.chats[m.Message]++
		case "partner-left":
			rc.left++
			if rc.dropped == "" {
				rc.dropped = fmt.Sprintf("partner-left %s", ev.Data)
			}
		default:
			rc.other = append(rc.other, ev.Name)
		}
	}
}

// chatWait bounds the wait for a phase's chat messages.
const chatWait = 10 * time.Second

// chat has every pair's initiator (and, both set, its partner too) send a
// chat-message "<tag> <from>" to the other, and waits until each has
// arrived (at most chatWait), then a little longer for duplicates. It
// reports whether every message arrived exactly once.
func (rr *rolloverRun) chat(ctx context.Context, check, tag string, both bool) bool {
	rr.ck.Pass(check)
	want := map[*rolloverClient]string{} // who gets what
	for _, rc := range rr.cs {
		if rc.partner == nil || (!both && rc.i > rc.partner.i) {
			continue
		}
		text := fmt.Sprintf("%s %d", tag, rc.i)
		want[rc.partner] = text
		rc.mu.Lock()
		c := rc.c
		rc.mu.Unlock()
		if err := c.Emit("chat-message", chatOut{Message: text}); err != nil {
			rr.ck.Failf(check, "client %d: %v", rc.i, err)
		}
	}
	count := func(rc *rolloverClient, text string) int {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return rc.chats[text]
	}
	wctx, cancel := context.WithTimeout(ctx, chatWait)
	defer cancel()
wait:
	for rc, text := range want {
		for count(rc, text) == 0 {
			select {
			case <-wctx.Done():
				break wait
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	// Bounded window for a duplicate.
	select {
	case <-time.After(200 * time.Millisecond):
	case <-ctx.Done():
	}
	ok := true
	for rc, text := range want {
		if got := count(rc, text); got != 1 {
			rr.ck.Failf(check, "client %d got %q %d times", rc.i, text, got)
			ok = false
		}
	}
	return ok
}

// reconnect waits for rc's connection to end, then reconnects it through
// the proxy with its pid and last offset, with a backoff, until it is
// back; a resume that names another sid or pid is a dropped call.
func (rr *rolloverRun) reconnect(ctx context.Context, rc *rolloverClient, url string) {
	defer close(rc.resumed)
	rr.ck.Pass("resumed: same sid and pid")
	rc.mu.Lock()
	old := rc.c
	rc.mu.Unlock()
	select {
	case <-old.Done():
	case <-ctx.Done():
		rr.ck.Failf("resumed: same sid and pid", "client %d: its connection never closed", rc.i)
		rr.drop(rc, "never closed")
		return
	}
	closed := time.Now()
	delay := reconnectFirstMin + rand.N(reconnectFirstMax-reconnectFirstMin)
	for attempt := 1; ; attempt++ {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			rr.ck.Failf("resumed: same sid and pid", "client %d: not back after %d attempts", rc.i, attempt-1)
			rr.drop(rc, "not back")
			return
		}
		dialed := time.Now()
		c, err := Dial(ctx, url, DialOptions{Origin: rr.t.Origin, ForwardedFor: rc.addr, Handler: rr.handler(rc),
			Resume: true, PID: old.PID, Offset: old.Offset(), ConnectWait: connectWait})
		if err != nil {
			// socket.io-client's growth: doubled, ±50 %, at most 5 s.
			delay = min(time.Duration(float64(2*delay)*(0.5+rand.Float64())), reconnectMax)
			continue
		}
		rc.mu.Lock()
		rc.c = c
		rc.mu.Unlock()
		rr.lat.Add(c.ConnectedAt.Sub(closed))
		rr.dialLat.Add(c.ConnectedAt.Sub(dialed))
		rr.attempts.Add(int64(attempt))
		if c.SID != rc.sid || c.PID != rc.pid {
			rr.ck.Failf("resumed: same sid and pid", "client %d: sid %s pid %s, back as sid %s pid %s", rc.i, rc.sid, rc.pid, c.SID, c.PID)
			rr.drop(rc, "resumed as "+c.SID)
		}
		return
	}
}

func (rr *rolloverRun) drop(rc *rolloverClient, why string) {
	rc.mu.Lock()
	if rc.dropped == "" {
		rc.dropped = why
	}
	rc.mu.Unlock()
}

// heldSampler reads Redis every sampleEvery from SIGTERM on, each time in
// one MULTI, and keeps the reading with the most sessions held: the
// handover holds them one by one and the first reconnects (100 ms on) take
// them back, so the peak lies in between, and under load the two overlap.
// It also reads the keys of a few known sessions (ids): their hash, their
// kept frames, and, once their hash has named it, their address's set.
type heldSampler struct {
	rd    *Redis
	ids   []string
	addrs map[string]string // id → address key, once read

	polls int
	best  Snapshot // the most sessions held
	// keyBytes: the keys of a session held whole in the best reading
	// that had one (keySessions of them), and its share of the sorted set.
	keyBytes    float64
	keySessions int
	keyMembers  int64
	err         error
}

const sampleEvery = 10 * time.Millisecond

// run reads until stop is closed, then once more.
func (hs *heldSampler) run(ctx context.Context, stop <-chan struct{}) {
	for {
		stopped := false
		select {
		case <-stop:
			stopped = true
		default:
		}
		if err := hs.read(ctx); err != nil {
			hs.err = err
			return
		}
		if stopped {
			return
		}
		select {
		case <-time.After(sampleEvery):
		case <-stop:
		case <-ctx.Done():
			return
		}
	}
}

func (hs *heldSampler) read(ctx context.Context) error {
	keys := make([]string, 0, 3*len(hs.ids))
	var hashes, withAddr []string
	for _, id := range hs.ids {
		keys = append(keys, redisstore.SingleKeys().HeldPrefix+id, redisstore.SingleKeys().KeptPrefix+id)
	}
	for _, id := range hs.ids {
		if a, ok := hs.addrs[id]; ok {
			keys = append(keys, redisstore.SingleKeys().HeldAddrPrefix+a)
			withAddr = append(withAddr, id)
		} else {
			hashes = append(hashes, redisstore.SingleKeys().HeldPrefix+id)
		}
	}
	snap, err := hs.rd.Snapshot(ctx, redisstore.SingleKeys().Held, keys, hashes, heldAddrField)
	if err != nil {
		return err
	}
	hs.polls++
	j := 0
	for _, id := range hs.ids {
		if _, ok := hs.addrs[id]; ok {
			continue
		}
		if a := snap.Fields[j]; a != "" {
			hs.addrs[id] = a
		}
		j++
	}
	if snap.Members > hs.best.Members {
		hs.best = snap
	}
	// Sessions held whole now: hash, and the address's set once known.
	index := map[string]int{}
	for i, id := range hs.ids {
		index[id] = i
	}
	var sum int64
	whole := 0
	for k, id := range withAddr {
		i := index[id]
		hash, kept, set := snap.Usage[2*i], snap.Usage[2*i+1], snap.Usage[2*len(hs.ids)+k]
		if hash == 0 || set == 0 {
			continue
		}
		sum += hash + kept + set
		whole++
	}
	if whole > 0 && snap.Members >= hs.keyMembers {
		hs.keyBytes = float64(sum)/float64(whole) + float64(snap.ZSetBytes)/float64(snap.Members)
		hs.keySessions, hs.keyMembers = whole, snap.Members
	}
	return nil
}

// reportHeld puts the sampler's figures in extra: used_memory (and its
// dataset part) above before, per session held, at the peak; the keys
// of a held session.
func (rr *rolloverRun) reportHeld(hs *heldSampler, before MemoryInfo) {
	rr.extra["held_samples"] = float64(hs.polls)
	if hs.err != nil {
		rr.notes = append(rr.notes, "held sessions' memory: "+hs.err.Error())
	}
	held := hs.best.Members
	rr.extra["held_at_peak"] = float64(held)
	if held == 0 {
		rr.notes = append(rr.notes, "no session was ever seen held: no memory figure")
		return
	}
	mem := hs.best.Mem
	rr.extra["redis_used_memory_growth"] = float64(mem.Used - before.Used)
	rr.extra["redis_dataset_growth"] = float64(mem.Dataset - before.Dataset)
	rr.extra["redis_clients_memory_growth"] = float64(mem.Clients - before.Clients)
	rr.extra["redis_bytes_per_held_session"] = float64(mem.Used-before.Used) / float64(held)
	rr.extra["redis_dataset_bytes_per_held_session"] = float64(mem.Dataset-before.Dataset) / float64(held)
	if hs.keySessions > 0 {
		rr.extra["redis_key_bytes_per_held_session"] = hs.keyBytes
		rr.extra["redis_key_sessions_sampled"] = float64(hs.keySessions)
	} else {
		rr.notes = append(rr.notes, "no sampled session was seen held whole: no key figure")
	}
}

// logCount reads the number key of a server's log line, JSON
// ({"sessions":400}) or text (sessions=400); -1 when there is none.
func logCount(line, key string) int {
	var m map[string]any
	if json.Unmarshal([]byte(line), &m) == nil {
		if v, ok := m[key].(float64); ok {
			return int(v)
		}
		return -1
	}
	for f := range strings.FieldsSeq(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return n
			}
		}
	}
	return -1
}

// check counts the calls dropped: a pair with a partner-left, a resume
// that came back with another sid, or none; and the events nobody expected.
func (rr *rolloverRun) check() {
	rr.ck.Pass("no call dropped")
	rr.ck.Pass("no other events after the pairing")
	dropped := 0
	for _, rc := range rr.cs {
		if rc.partner == nil || rc.i > rc.partner.i {
			continue
		}
		a, b := rc, rc.partner
		a.mu.Lock()
		b.mu.Lock()
		why := a.dropped
		if why == "" {
			why = b.dropped
		}
		for _, x := range []*rolloverClient{a, b} {
			if len(x.other) > 0 {
				rr.ck.Failf("no other events after the pairing", "client %d: %v", x.i, x.other)
			}
		}
		b.mu.Unlock()
		a.mu.Unlock()
		if why != "" {
			dropped++
			rr.ck.Failf("no call dropped", "pair %d/%d: %s", a.i, b.i, why)
		}
	}
	rr.extra["calls_dropped"] = float64(dropped)
}
