package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// pollClient is an idle Socket.IO client on the HTTP long-polling
// transport: it joins the default namespace, then keeps one GET waiting
// and answers every ping with a POST, as socket.io-client does when
// websockets are blocked. It never upgrades.
type pollClient struct {
	cl           *http.Client
	url          string // the session's polling URL, sid included
	sid          string
	pingInterval time.Duration
	pings        atomic.Int64
	cancel       context.CancelFunc
	done         chan struct{}
	closed       atomic.Bool
}

// packetSep separates Engine.IO packets in a polling payload.
const packetSep = "\x1e"

// dialPolling opens a polling session at base and joins namespace "/".
func dialPolling(ctx context.Context, cl *http.Client, base string) (*pollClient, error) {
	body, err := pollGet(ctx, cl, base+"/socket.io/?EIO=4&transport=polling")
	if err != nil {
		return nil, fmt.Errorf("polling handshake: %w", err)
	}
	if !strings.HasPrefix(body, "0") {
		return nil, fmt.Errorf("polling handshake: want open packet, got %q", trunc([]byte(body)))
	}
	var op openPacket
	if err := json.Unmarshal([]byte(body[1:]), &op); err != nil || op.SID == "" {
		return nil, fmt.Errorf("polling handshake: open packet %q: %v", trunc([]byte(body)), err)
	}
	pc := &pollClient{cl: cl, url: base + "/socket.io/?EIO=4&transport=polling&sid=" + op.SID,
		pingInterval: time.Duration(op.PingInterval) * time.Millisecond, done: make(chan struct{})}
	if err := pc.post(ctx, "40"); err != nil {
		return nil, fmt.Errorf("polling connect: %w", err)
	}
	// The connect reply, perhaps with a ping after it.
	for pc.sid == "" {
		body, err := pollGet(ctx, cl, pc.url)
		if err != nil {
			return nil, fmt.Errorf("polling connect reply: %w", err)
		}
		if err := pc.handle(ctx, body); err != nil {
			return nil, fmt.Errorf("polling connect reply: %w", err)
		}
	}
	lctx, cancel := context.WithCancel(context.Background())
	pc.cancel = cancel
	go pc.pollLoop(lctx)
	return pc, nil
}

// handle reads one polling payload: the connect reply, pings (answered),
// noops; a close or a disconnect ends the client.
func (pc *pollClient) handle(ctx context.Context, body string) error {
	for p := range strings.SplitSeq(body, packetSep) {
		switch {
		case p == "2":
			pc.pings.Add(1)
			if err := pc.post(ctx, "3"); err != nil {
				return fmt.Errorf("pong: %w", err)
			}
		case strings.HasPrefix(p, "40"):
			var cp connectPacket
			if err := json.Unmarshal([]byte(p[2:]), &cp); err != nil || cp.SID == "" {
				return fmt.Errorf("connect reply %q: %v", trunc([]byte(p)), err)
			}
			pc.sid = cp.SID
		case p == "6", p == "":
		case p == "1", strings.HasPrefix(p, "41"), strings.HasPrefix(p, "44"):
			return fmt.Errorf("server ended the session: %q", trunc([]byte(p)))
		}
	}
	return nil
}

func (pc *pollClient) pollLoop(ctx context.Context) {
	defer close(pc.done)
	for ctx.Err() == nil {
		body, err := pollGet(ctx, pc.cl, pc.url)
		if err == nil {
			err = pc.handle(ctx, body)
		}
		if err != nil {
			return
		}
	}
}

func (pc *pollClient) post(ctx context.Context, packet string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, pc.url, strings.NewReader(packet))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := pc.cl.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %d", packet, resp.StatusCode)
	}
	return nil
}

func pollGet(ctx context.Context, cl *http.Client, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := cl.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.LimitReader(resp.Body, 1<<20)); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET: %d %q", resp.StatusCode, trunc(b.Bytes()))
	}
	return b.String(), nil
}

// Done is closed when the client has stopped polling (closed, or the
// server ended the session).
func (pc *pollClient) Done() <-chan struct{} { return pc.done }

// Pings reports how many pings the client has answered.
func (pc *pollClient) Pings() int64 { return pc.pings.Load() }

// Close sends the close packet and stops polling.
func (pc *pollClient) Close() error {
	if pc.closed.Swap(true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := pc.post(ctx, "1")
	pc.cancel()
	<-pc.done
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("close polling session: %w", err)
	}
	return nil
}

// pollingTransport is an HTTP client for n polling clients: each keeps a
// long GET open and sometimes a POST beside it.
func pollingTransport(n int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * n, MaxIdleConnsPerHost: 2 * n, IdleConnTimeout: time.Minute}}
}

// connectPolling dials n polling clients, dialParallel at a time.
func connectPolling(ctx context.Context, cl *http.Client, base string, n int) ([]idleConn, error) {
	cs := make([]idleConn, n)
	errs := make([]error, n)
	sem := make(chan struct{}, dialParallel)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			pc, err := dialPolling(ctx, cl, base)
			if err == nil {
				cs[i] = pc
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := firstErr(errs); err != nil {
		closeIdle(cs)
		return nil, fmt.Errorf("connect %d polling clients: %w", n, err)
	}
	return cs, nil
}
