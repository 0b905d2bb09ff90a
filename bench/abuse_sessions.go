package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// The attacks of issue 23 on sessions: sockets one address opens with an
// empty session id in the handshake (the per-address caps counted none),
// and sessions that leave right after the namespace connect (a socket now
// and then stayed behind, and descriptors stayed open until a collection).

// attackEmptySID: one address opens 6,000 websockets, half with `&sid=`
// and half with `&sid` in the handshake's query, and 500 polling sessions
// with `&sid=`, and holds them a second. Held: the dials the server
// answered (open packet, then the namespace connect on websockets);
// MAX_CONNS_PER_IP bounds them (held_cap).
func attackEmptySID(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error {
	var (
		mu    sync.Mutex
		conns []*Client
		wg    sync.WaitGroup
		sem   = make(chan struct{}, dialParallel)
		polls atomic.Int64
	)
	defer func() {
		for _, c := range conns {
			_ = c.conn.Close()
		}
	}()
	start := time.Now()
	for i := range o.n(6000) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			query := "&sid="
			if i%2 == 1 {
				query = "&sid"
			}
			if c, err := rawConn(ctx, t, query); err == nil {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	extra["websockets_s"] = time.Since(start).Seconds()
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: dialParallel}}
	defer cl.CloseIdleConnections()
	tried := o.n(500)
	for range tried {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if pollingHandshake(ctx, cl, t.URL+"/socket.io/?EIO=4&transport=polling&sid=") {
				polls.Add(1)
			}
		})
	}
	wg.Wait()
	ws, p := len(conns), int(polls.Load())
	extra["held_websockets"] = float64(ws)
	extra["held_polling"] = float64(p)
	extra["held"] = float64(ws + p)
	extra["held_cap"] = abuseMaxConns
	extra["refused"] = float64(o.n(6000) + tried - ws - p)
	// Held a moment, as an attacker would; the goroutines are counted then.
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
	}
	if g, err := t.Server.Goroutines(ctx); err == nil {
		extra["goroutines"] = float64(g)
	}
	return nil
}

// pollingHandshake reports whether GET u opened an Engine.IO polling
// session (an open packet came back).
func pollingHandshake(ctx context.Context, cl *http.Client, u string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	resp, err := cl.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var op openPacket
	return resp.StatusCode == http.StatusOK && len(b) > 1 && b[0] == '0' && json.Unmarshal(b[1:], &op) == nil && op.SID != ""
}

// phantomSettle is how long the phantom loop waits after its last session
// before it counts what is left: the heartbeat (10 s + 10 s) is not
// waited for, a closed connection must be let go at once.
const phantomSettle = 3 * time.Second

// phantomFDSlack is how many more descriptors than before the loop the
// server may hold after it settles: a few the runtime or the bench's own
// requests may have opened meanwhile, not one per session.
const phantomFDSlack = 16

// attackPhantomLoop: 6,000 sessions, 32 at a time, each sending its
// namespace connect and leaving as soon as the server's `40{sid}` comes:
// `41` then closing the TCP connection, closing it alone, or `41` then a
// websocket close. It reports the server's open descriptors before, right
// after the loop and after phantomSettle (no collection forced: the
// descriptors of connections closed but not released only a collection
// would close), then the sockets it still counts (/metrics
// zivro_connected_sockets), the users /stats says are online, and its
// goroutines. The server runs with the connection budgets lifted (see
// AbuseEnv).
func attackPhantomLoop(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error {
	before, err := t.Server.OpenFiles()
	if err != nil {
		return err
	}
	extra["fds_before"] = float64(before)
	var (
		wg       sync.WaitGroup
		next     atomic.Int64
		sessions atomic.Int64
		failed   atomic.Int64
	)
	n := int64(o.n(6000))
	start := time.Now()
	for range 32 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < n && ctx.Err() == nil; i = next.Add(1) - 1 {
				c, err := rawConn(ctx, t, "")
				if err != nil {
					failed.Add(1)
					continue
				}
				switch i % 3 {
				case 0:
					_ = c.write([]byte("41"))
				case 2:
					_ = c.write([]byte("41"))
					_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				}
				_ = c.conn.Close()
				sessions.Add(1)
			}
		})
	}
	wg.Wait()
	extra["sessions"] = float64(sessions.Load())
	extra["dials_failed"] = float64(failed.Load())
	extra["loop_s"] = time.Since(start).Seconds()
	if fds, err := t.Server.OpenFiles(); err == nil {
		extra["fds_after_loop"] = float64(fds)
	}
	select {
	case <-time.After(phantomSettle):
	case <-ctx.Done():
		return ctx.Err()
	}
	// Descriptors first: the reads below open connections of their own.
	if fds, err := t.Server.OpenFiles(); err == nil {
		extra["fds_settled"] = float64(fds)
	}
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	sockets, err := connectedSockets(ctx, cl, t.URL)
	if err != nil {
		return fmt.Errorf("phantom loop: %w", err)
	}
	extra["sockets_left"] = sockets
	online, err := statsOnline(ctx, cl, t.URL)
	if err != nil {
		return fmt.Errorf("phantom loop: %w", err)
	}
	extra["online_left"] = online
	if g, err := t.Server.Goroutines(ctx); err == nil {
		extra["goroutines"] = float64(g)
	}
	return nil
}

// connectedSockets sums zivro_connected_sockets over the transports, from
// the server's /metrics (METRICS_TOKEN of abuseEnv).
func connectedSockets(ctx context.Context, cl *http.Client, base string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+abuseMetricsToken)
	resp, err := cl.Do(req)
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("metrics: status %d", resp.StatusCode)
	}
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.HasPrefix(name, "zivro_connected_sockets") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return 0, fmt.Errorf("metrics: %q: %w", sc.Text(), err)
		}
		sum, found = sum+v, true
	}
	if !found {
		return 0, fmt.Errorf("metrics: no zivro_connected_sockets")
	}
	return sum, sc.Err()
}

// statsOnline reads online from /stats.
func statsOnline(ctx context.Context, cl *http.Client, base string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/stats", nil)
	if err != nil {
		return 0, err
	}
	resp, err := cl.Do(req)
	if err != nil {
		return 0, fmt.Errorf("stats: %w", err)
	}
	defer resp.Body.Close()
	var c struct {
		Online *float64 `json:"online"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || c.Online == nil {
		return 0, fmt.Errorf("stats: status %d, no online count (%v)", resp.StatusCode, err)
	}
	return *c.Online, nil
}

// OpenFiles counts the server process's open file descriptors
// (/proc/<pid>/fd).
func (s *Server) OpenFiles() (int, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.Pid()))
	if err != nil {
		return 0, fmt.Errorf("open files: %w", err)
	}
	return len(fds), nil
}

// Goroutines reads the server's goroutine count from its pprof (see
// ServerOptions.Pprof).
func (s *Server) Goroutines(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.pprofURL+"/debug/pprof/goroutine?debug=1", nil)
	if err != nil {
		return 0, err
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, fmt.Errorf("goroutines: %w", err)
	}
	defer resp.Body.Close()
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	total, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("goroutines: %d %q", resp.StatusCode, line)
	}
	return strconv.Atoi(total)
}
