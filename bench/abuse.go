package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// The abuse scenario plays the attacks of issue 9, each against a fresh
// server, and measures what each makes the server hold: the peak of its
// resident memory during the attack, above where it was before. Every
// attack must stay under MaxGrowth, and the server must answer /health
// afterwards.
//
// The server runs as an operator would run it on a small instance (see
// abuseEnv): with the limits of real users, and with a memory limit for the
// Go runtime. Its GC tuner otherwise lets garbage grow the heap to 64 MiB
// before it collects, and a burst of refused input (400 frames of 46 KB in
// a fraction of a second) reached that between two of the bench's forced
// collections or not, run to run: the peak measured the garbage allowed,
// not what the attack makes the server hold. Under the limit, garbage is
// collected before it gets there, and only memory the attack pins can push
// RSS past it. When the server serves pprof (ServerOptions.Pprof, as make
// bench starts it for this scenario), the bench also has it collect every
// 100 ms during the attack.

// abuseEnv is the abuse servers' environment: the per-address and
// per-command budgets back at their defaults (the bench lifts them for its
// load, see liftedBudgets), and GOMEMLIMIT, which the README recommends
// for production.
var abuseEnv = []string{
	"MAX_CONNS_PER_IP=",
	"NEW_CONNS_PER_IP_PER_MINUTE=",
	"EVENTS_PER_SECOND=",
	"COMMANDS_PER_SECOND=",
	"GOMEMLIMIT=40MiB",
	// /metrics on the public port, for the sockets the phantom loop leaves.
	"METRICS_TOKEN=" + abuseMetricsToken,
}

// abuseMetricsToken is the abuse servers' METRICS_TOKEN: loopback only, and
// long enough for any check of a token's strength.
const abuseMetricsToken = "bench-abuse-3f9c1e7a5b2d4086c9e1f7a3b5d2408e"

// AbuseEnv is the environment of the server that attack runs against:
// abuseEnv, except for the phantom loop, which plays thousands of users
// that each connect once: as many addresses would, so with the
// per-address connection budgets lifted (from one address they would
// refuse all but the first 120 sessions a minute, and the loop would
// measure that budget, not what each session leaves behind).
func AbuseEnv(attack string) []string {
	if attack == "phantom-loop" {
		return append(slices.Clone(abuseEnv), "MAX_CONNS_PER_IP=1000000", "NEW_CONNS_PER_IP_PER_MINUTE=100000000")
	}
	return abuseEnv
}

// abuseMaxConns is MAX_CONNS_PER_IP's default (README, Limits), the most
// sockets one address may hold in the attacks that count them.
const abuseMaxConns = 100

// Attacks, in the order they run.
var Attacks = []string{"binary", "chunked-post", "slow-reader", "ack-flood", "handshake-url", "deep-json", "many-sockets", "command-flood", "empty-sid", "phantom-loop"}

// unforcedGC are the attacks during which the bench forces no collection:
// what they measure (descriptors of closed connections) a collection
// would close.
var unforcedGC = map[string]bool{"phantom-loop": true}

// AbuseOptions tunes RunAbuse. Zero fields take the full attack's size
// (the figures of issue 9); the Go tests use small ones.
type AbuseOptions struct {
	// Scale multiplies every attack's size (frames, bytes, connections,
	// duration). 0: 1.
	Scale float64
	// MaxGrowth is the most an attack may add to the server's RSS.
	// 0: 48 MiB.
	MaxGrowth int64
	// Tail: how long RSS is still watched after the attack, for what it
	// left queued. 0: 1 s.
	Tail time.Duration
}

func (o AbuseOptions) withDefaults() AbuseOptions {
	if o.Scale <= 0 {
		o.Scale = 1
	}
	if o.MaxGrowth <= 0 {
		o.MaxGrowth = 48 << 20
	}
	if o.Tail <= 0 {
		o.Tail = time.Second
	}
	return o
}

// n scales a count, never below one.
func (o AbuseOptions) n(full int) int { return max(1, int(float64(full)*o.Scale)) }

// RunAbuse plays one attack against t's server (which should be fresh: the
// growth is measured from where it is) and reports it as scenario
// "abuse-<attack>": throughput is the peak RSS growth in MB.
func RunAbuse(ctx context.Context, t Target, attack string, o AbuseOptions) Result {
	o = o.withDefaults()
	ck := &Checks{}
	const (
		ckGrowth = "peak RSS growth under the limit"
		ckHealth = "server healthy after"
		ckHeld   = "sockets held within MAX_CONNS_PER_IP"
		ckLeft   = "sessions that left leave no socket and no descriptor"
	)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	extra := map[string]float64{}
	var growth int64
	err := func() error {
		if t.Server == nil {
			return errors.New("abuse: needs a server process started by the bench")
		}
		play, ok := attacks[attack]
		if !ok {
			return fmt.Errorf("abuse: unknown attack %q", attack)
		}
		gc := t.Server.ForceGC(ctx)
		extra["forced_gc"] = b2f(gc)
		before, err := t.Server.RSS()
		if err != nil {
			return err
		}
		peak := startPeak(ctx, t.Server, gc && !unforcedGC[attack])
		start := time.Now()
		err = play(ctx, t, o, extra)
		extra["attack_s"] = time.Since(start).Seconds()
		// What the attack left queued in the server is still held a
		// moment later.
		select {
		case <-time.After(o.Tail):
		case <-ctx.Done():
		}
		top := peak.stop()
		growth = top - before
		extra["rss_before_mb"] = mb(before)
		extra["rss_peak_mb"] = mb(top)
		return err
	}()
	ck.Pass(ckGrowth)
	ck.Pass(ckHealth)
	if err == nil {
		if growth > o.MaxGrowth {
			ck.Failf(ckGrowth, "%s: RSS grew by %.1f MiB, limit %.0f MiB", attack, mb(growth), mb(o.MaxGrowth))
		}
		if !t.Server.Healthy(ctx) {
			ck.Failf(ckHealth, "%s: GET /health is not 200 after the attack", attack)
		}
		if limit, ok := extra["held_cap"]; ok {
			ck.Pass(ckHeld)
			if extra["held"] > limit {
				ck.Failf(ckHeld, "%s: one address held %.0f sockets, cap %.0f", attack, extra["held"], limit)
			}
		}
		if _, ok := extra["sockets_left"]; ok {
			ck.Pass(ckLeft)
			if extra["sockets_left"] != 0 || extra["online_left"] != 0 || extra["fds_settled"] > extra["fds_before"]+phantomFDSlack {
				ck.Failf(ckLeft, "%s: %.0f sockets and %.0f users online left, %.0f descriptors open (%.0f before)", attack, extra["sockets_left"], extra["online_left"], extra["fds_settled"], extra["fds_before"])
			}
		}
	}
	r := newResult("abuse-"+attack, t.Store, 1, "MB peak RSS growth", ck, err)
	r.Throughput = float64(growth) / 1e6
	r.Extra = extra
	return r
}

// peakRSS samples a process's RSS until stopped, keeping the highest.
type peakRSS struct {
	done chan struct{}
	top  chan int64
}

// startPeak starts the sampling, every 10 ms; with gc, every 100 ms, each
// reading after a forced collection.
func startPeak(ctx context.Context, s *Server, gc bool) *peakRSS {
	p := &peakRSS{done: make(chan struct{}), top: make(chan int64, 1)}
	every := 10 * time.Millisecond
	if gc {
		every = 100 * time.Millisecond
	}
	go func() {
		var top int64
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if gc {
				s.ForceGC(ctx)
			}
			if v, err := s.RSS(); err == nil && v > top {
				top = v
			}
			select {
			case <-p.done:
				p.top <- top
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *peakRSS) stop() int64 {
	close(p.done)
	return <-p.top
}

type attackFunc func(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error

var attacks = map[string]attackFunc{
	"binary":        attackBinary,
	"chunked-post":  attackChunkedPost,
	"slow-reader":   attackSlowReader,
	"ack-flood":     attackAckFlood,
	"handshake-url": attackHandshakeURL,
	"deep-json":     attackDeepJSON,
	"many-sockets":  attackManySockets,
	"command-flood": attackCommandFlood,
	"empty-sid":     attackEmptySID,
	"phantom-loop":  attackPhantomLoop,
}

// rawConn is a websocket that has done the Engine.IO and Socket.IO
// handshakes and that nobody reads unless the attack does.
func rawConn(ctx context.Context, t Target, query string) (*Client, error) {
	u, err := url.Parse(t.URL)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", t.URL, err)
	}
	u.Scheme, u.Path, u.RawQuery = "ws", "/socket.io/", "EIO=4&transport=websocket"+query
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 2048, WriteBufferSize: 64 << 10}
	var hdr http.Header
	if t.Origin != "" {
		hdr = http.Header{"Origin": []string{t.Origin}}
	}
	conn, resp, err := d.DialContext(ctx, u.String(), hdr)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	c := &Client{conn: conn, acks: map[uint64]func(json.RawMessage, bool){}, done: make(chan struct{})}
	if err := c.handshake(ctx, 5*time.Second); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return c, nil
}

// attackBinary: a binary event announcing an attachment, then 2,000
// binary frames of 47 KB (the library buffered them all, waiting for a
// million).
func attackBinary(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error {
	c, err := rawConn(ctx, t, "")
	if err != nil {
		return err
	}
	defer c.conn.Close()
	if err := c.write([]byte(`451000000-["x",{"_placeholder":true,"num":0}]`)); err != nil {
		return fmt.Errorf("binary: %w", err)
	}
	frame := make([]byte, 47<<10)
	sent := 0
	_ = c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	for range o.n(2000) {
		if ctx.Err() != nil || c.conn.WriteMessage(websocket.BinaryMessage, frame) != nil {
			break
		}
		sent++
	}
	extra["frames_sent"] = float64(sent)
	extra["closed"] = b2f(closedSoon(c.conn))
	return nil
}

// closedSoon reports whether the server has closed conn (reading up to 3 s).
func closedSoon(conn *websocket.Conn) bool {
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout())
		}
	}
}

// attackChunkedPost: a polling POST whose chunked body is 150 MB (the
// engine checked only Content-Length).
func attackChunkedPost(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error {
	sid, err := pollingSession(ctx, t)
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(t.URL, "http://"))
	if err != nil {
		return fmt.Errorf("chunked post: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	w := bufio.NewWriterSize(conn, 64<<10)
	fmt.Fprintf(w, "POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n", sid)
	chunk := strings.Repeat("x", 1<<20)
	total := o.n(150)
	sentMB := 0
	// The reader: the server's answer, if any, while the body goes out.
	status := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		status <- strings.TrimSpace(line)
	}()
	for i := range total {
		if i == 0 {
			fmt.Fprintf(w, "1\r\n4\r\n")
		}
		fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk)
		if w.Flush() != nil || ctx.Err() != nil {
			break
		}
		sentMB++
	}
	_, _ = fmt.Fprintf(w, "0\r\n\r\n")
	_ = w.Flush()
	extra["mb_sent"] = float64(sentMB)
	select {
	case s := <-status:
		if code, ok := httpStatus(s); ok {
			extra["status"] = float64(code)
		}
	case <-time.After(5 * time.Second):
	}
	return nil
}

func httpStatus(line string) (int, bool) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0, false
	}
	code, err := strconv.Atoi(f[1])
	return code, err == nil
}

// pollingSession opens an Engine.IO polling session; it returns its sid.
func pollingSession(ctx context.Context, t Target) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL+"/socket.io/?EIO=4&transport=polling", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("polling handshake: %w", err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
	var op openPacket
	if len(b.String()) < 2 || json.Unmarshal([]byte(b.String()[1:]), &op) != nil {
		return "", fmt.Errorf("polling handshake: %d %q", resp.StatusCode, b.String())
	}
	return op.SID, nil
}

// attackSlowReader: a client that never reads is in a call; its partner
// sends it 500 signals a second of 32 KB (they piled up at 21 MB/s). (Its
// pongs nobody asked for, which kept it alive, close it at once now: the
// contract tests check that; here it would only end the attack early.)
func attackSlowReader(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error {
	sink, err := rawConn(ctx, t, "")
	if err != nil {
		return err
	}
	defer sink.conn.Close()
	if err := sink.write([]byte(`421["join-queue",{"name":"sink"}]`)); err != nil {
		return fmt.Errorf("slow reader: %w", err)
	}
	if err := readUntil(sink.conn, "431[", 5*time.Second); err != nil {
		return fmt.Errorf("slow reader: join: %w", err)
	}
	matched := make(chan struct{}, 1)
	flood, err := Dial(ctx, t.URL, DialOptions{Origin: t.Origin, Handler: func(_ *Client, ev Event) {
		if ev.Name == "matched" {
			select {
			case matched <- struct{}{}:
			default:
			}
		}
	}})
	if err != nil {
		return fmt.Errorf("slow reader: %w", err)
	}
	defer flood.Close()
	if err := flood.Emit("join-queue", map[string]string{"name": "flood"}); err != nil {
		return fmt.Errorf("slow reader: %w", err)
	}
	select {
	case <-matched:
	case <-time.After(5 * time.Second):
		return errors.New("slow reader: no match")
	}
	// From here on the sink reads nothing.
	data := strings.Repeat("x", 32000)
	tick := time.NewTicker(2 * time.Millisecond) // 500 a second
	defer tick.Stop()
	end := time.Now().Add(time.Duration(float64(6*time.Second) * o.Scale))
	sent := 0
	for time.Now().Before(end) && ctx.Err() == nil {
		select {
		case <-tick.C:
			if flood.Emit("signal", map[string]string{"to": sink.SID, "data": data}) != nil {
				end = time.Now()
			}
			sent++
		case <-flood.Done():
			end = time.Now()
		}
	}
	extra["signals_sent"] = float64(sent)
	return nil
}

// readUntil reads conn until a message starting with prefix arrives.
func readUntil(conn *websocket.Conn, prefix string, wait time.Duration) error {
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	defer func() { _ = conn.SetReadDeadline(time.Time{}) }()
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		if strings.HasPrefix(string(msg), prefix) {
			return nil
		}
	}
}

// attackAckFlood: a client that never reads sends tiny events, each asking
// for an ack, as fast as it can for 2 s (428,000 of them left 85 MB of acks
// behind, most of them refusals by the rate limit).
func attackAckFlood(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error {
	c, err := rawConn(ctx, t, "")
	if err != nil {
		return err
	}
	defer c.conn.Close()
	end := time.Now().Add(time.Duration(float64(2*time.Second) * o.Scale))
	_ = c.conn.SetWriteDeadline(end.Add(time.Second))
	sent := 0
	buf := make([]byte, 0, 64)
	for time.Now().Before(end) && ctx.Err() == nil {
		buf = strconv.AppendInt(append(buf[:0], "42"...), int64(sent+1), 10)
		buf = append(buf, `["next"]`...)
		if c.conn.WriteMessage(websocket.TextMessage, buf) != nil {
			break
		}
		sent++
	}
	extra["events_sent"] = float64(sent)
	return nil
}

// attackHandshakeURL: 50 websockets whose handshake carries a 900 KB query
// (the library kept it for the connection's life).
func attackHandshakeURL(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error {
	pad := "&pad=" + strings.Repeat("a", 900<<10)
	var conns []*Client
	defer func() {
		for _, c := range conns {
			_ = c.conn.Close()
		}
	}()
	refused := 0
	for range o.n(50) {
		c, err := rawConn(ctx, t, pad)
		if err != nil {
			refused++
			continue
		}
		conns = append(conns, c)
	}
	extra["refused"] = float64(refused)
	extra["held"] = float64(len(conns))
	// Held a moment, as an attacker would.
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
	}
	return nil
}

// attackDeepJSON: 20 connections send signal data nested 23,000 levels
// deep (the recursive validation grew their stacks by 76 MB in all).
func attackDeepJSON(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error {
	const depth = 23000
	frame := []byte(`42["signal",{"to":"x","data":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}]`)
	var wg sync.WaitGroup
	var sent atomic.Int64
	for range o.n(20) {
		c, err := rawConn(ctx, t, "")
		if err != nil {
			return err
		}
		wg.Go(func() {
			defer c.conn.Close()
			go func() {
				// Read (and drop) what comes back, so that acks and
				// pings do not back up.
				for {
					if _, _, err := c.conn.ReadMessage(); err != nil {
						return
					}
				}
			}()
			for range o.n(20) {
				if c.conn.WriteMessage(websocket.TextMessage, frame) != nil {
					return
				}
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	extra["events_sent"] = float64(sent.Load())
	return nil
}

// attackManySockets: 300 websockets from one address, held open.
func attackManySockets(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error {
	var (
		mu    sync.Mutex
		conns []*Client
		wg    sync.WaitGroup
		sem   = make(chan struct{}, dialParallel)
	)
	for range o.n(300) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := Dial(ctx, t.URL, DialOptions{Origin: t.Origin})
			if err == nil {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	defer closeAll(conns)
	extra["held"] = float64(len(conns))
	extra["held_cap"] = abuseMaxConns
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
	}
	return nil
}

// attackCommandFlood: 60 sockets in pairs press Next as fast as they may
// for 4 s (78,000 Nexts used 40 % of a Redis core).
func attackCommandFlood(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error {
	cs, err := connectAll(ctx, t, 2*o.n(30), nil)
	if err != nil {
		return fmt.Errorf("command flood: %w", err)
	}
	defer closeAll(cs)
	for _, c := range cs {
		_ = c.Emit("join-queue", map[string]string{"name": "flood"})
	}
	end := time.Now().Add(time.Duration(float64(4*time.Second) * o.Scale))
	var wg sync.WaitGroup
	var sent atomic.Int64
	for _, c := range cs {
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				if c.Emit("next", nil) != nil {
					return
				}
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	extra["nexts_sent"] = float64(sent.Load())
	return nil
}
