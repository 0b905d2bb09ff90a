// Package bench is a load generator for the Zivro Socket.IO server. It speaks
// Engine.IO v4 / Socket.IO v5 over a websocket by itself (no code shared with
// the server), runs the scenarios (match, relay, churn, idle, cost, abuse)
// against a server process it starts, checks the server's behaviour as the
// React client would see it, and reports throughput and latency.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Event is one Socket.IO event the server sent to a client.
type Event struct {
	Name string
	Data json.RawMessage // the first argument, nil when there is none
	At   time.Time       // when the frame was read
}

// Handler receives a client's events, one at a time, on the client's reader
// goroutine, in the order the server sent them. It may call Emit.
type Handler func(c *Client, ev Event)

// DialOptions tunes Dial.
type DialOptions struct {
	// Origin, when set, is sent as the Origin header (the server checks it
	// against CLIENT_URL). Empty sends none.
	Origin string
	// Handler receives the events; SetHandler changes it later.
	Handler Handler
	// ConnectWait bounds the wait for the namespace connect reply (0: 10 s);
	// Attempts: how many times to open a fresh connection when it does not
	// come (0: 1). Client.Redials tells how many it took.
	ConnectWait time.Duration
	Attempts    int
}

// Client is one Socket.IO client on the default namespace over a websocket.
// Emit is safe for concurrent use.
type Client struct {
	conn *websocket.Conn
	// SID is the Socket.IO socket id from the connect reply `40{"sid":...}`:
	// the id the server uses in matched.partnerId and signal.from.
	SID string
	// EngineSID is the Engine.IO session id from the open packet.
	EngineSID string
	// PingInterval and PingTimeout are what the server announced.
	PingInterval, PingTimeout time.Duration
	// Redials: fresh connections it took because the namespace connect got
	// no reply (see DialOptions.Attempts).
	Redials int

	wmu     sync.Mutex
	wbuf    []byte
	handler atomic.Pointer[Handler]
	ackMu   sync.Mutex
	ackID   uint64
	acks    map[uint64]func(json.RawMessage, bool)
	done    chan struct{}
	errMu   sync.Mutex
	err     error
	closed  atomic.Bool
	pings   atomic.Int64
}

type openPacket struct {
	SID          string `json:"sid"`
	PingInterval int64  `json:"pingInterval"`
	PingTimeout  int64  `json:"pingTimeout"`
}

type connectPacket struct {
	SID string `json:"sid"`
}

// Dial opens a websocket to base (http://host:port), performs the Engine.IO
// handshake and the Socket.IO connect to namespace "/", and starts reading.
// It returns once the connect reply has arrived, or ctx is done.
func Dial(ctx context.Context, base string, opt DialOptions) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("dial: parse %q: %w", base, err)
	}
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.Path = "/socket.io/"
	u.RawQuery = "EIO=4&transport=websocket"
	d := websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   2048,
		WriteBufferSize:  2048,
	}
	var hdr http.Header
	if opt.Origin != "" {
		hdr = http.Header{"Origin": []string{opt.Origin}}
	}
	attempts := max(opt.Attempts, 1)
	for attempt := 1; ; attempt++ {
		c, err := dialOnce(ctx, &d, u.String(), hdr, opt)
		if err == nil {
			c.Redials = attempt - 1
			return c, nil
		}
		if !errors.Is(err, ErrNoConnectReply) || attempt >= attempts || ctx.Err() != nil {
			return nil, err
		}
	}
}

// ErrNoConnectReply: the server answered the Engine.IO handshake but not the
// Socket.IO namespace connect in time.
var ErrNoConnectReply = errors.New("no reply to the namespace connect")

func dialOnce(ctx context.Context, d *websocket.Dialer, u string, hdr http.Header, opt DialOptions) (*Client, error) {
	conn, resp, err := d.DialContext(ctx, u, hdr)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", u, err)
	}
	c := &Client{conn: conn, acks: map[uint64]func(json.RawMessage, bool){}, done: make(chan struct{})}
	if opt.Handler != nil {
		c.SetHandler(opt.Handler)
	}
	wait := opt.ConnectWait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	if err := c.handshake(ctx, wait); err != nil {
		_ = conn.Close()
		return nil, err
	}
	go c.readLoop()
	return c, nil
}

// handshake reads the open packet, sends the namespace connect and reads its
// reply, all before ctx's deadline; the reply must come within wait.
func (c *Client) handshake(ctx context.Context, wait time.Duration) error {
	dl := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	_ = c.conn.SetReadDeadline(dl)
	defer func() { _ = c.conn.SetReadDeadline(time.Time{}) }()
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetReadDeadline(time.Now()) })
	defer stop()

	_, msg, err := c.conn.ReadMessage()
	if err != nil {
		return fmt.Errorf("handshake: read open: %w", err)
	}
	if len(msg) == 0 || msg[0] != '0' {
		return fmt.Errorf("handshake: want open packet, got %q", trunc(msg))
	}
	var op openPacket
	if err := json.Unmarshal(msg[1:], &op); err != nil {
		return fmt.Errorf("handshake: open packet %q: %w", trunc(msg), err)
	}
	c.EngineSID = op.SID
	c.PingInterval = time.Duration(op.PingInterval) * time.Millisecond
	c.PingTimeout = time.Duration(op.PingTimeout) * time.Millisecond
	if err := c.write([]byte("40")); err != nil {
		return fmt.Errorf("handshake: send connect: %w", err)
	}
	if d := time.Now().Add(wait); d.Before(dl) {
		_ = c.conn.SetReadDeadline(d)
	}
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
				return fmt.Errorf("handshake: engine.io sid %s: %w within %v", c.EngineSID, ErrNoConnectReply, wait)
			}
			return fmt.Errorf("handshake: read connect reply: %w", err)
		}
		switch {
		case bytes.Equal(msg, []byte("2")):
			if err := c.write([]byte("3")); err != nil {
				return fmt.Errorf("handshake: pong: %w", err)
			}
			continue
		case bytes.HasPrefix(msg, []byte("44")):
			return fmt.Errorf("handshake: connect refused: %s", trunc(msg))
		case bytes.HasPrefix(msg, []byte("40")):
			var cp connectPacket
			if err := json.Unmarshal(msg[2:], &cp); err != nil || cp.SID == "" {
				return fmt.Errorf("handshake: connect reply %q: %v", trunc(msg), err)
			}
			c.SID = cp.SID
			return nil
		default:
			return fmt.Errorf("handshake: unexpected %q", trunc(msg))
		}
	}
}

// SetHandler replaces the event handler; events that arrive while there is
// none are dropped.
func (c *Client) SetHandler(h Handler) {
	if h == nil {
		c.handler.Store(nil)
		return
	}
	c.handler.Store(&h)
}

// Done is closed when the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err reports why the connection ended (nil while it is up or after Close).
func (c *Client) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Pings reports how many Engine.IO pings the client has answered.
func (c *Client) Pings() int64 { return c.pings.Load() }

func (c *Client) readLoop() {
	defer close(c.done)
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			if !c.closed.Load() {
				c.errMu.Lock()
				c.err = fmt.Errorf("read: %w", err)
				c.errMu.Unlock()
			}
			c.failAcks()
			return
		}
		at := time.Now()
		if err := c.dispatch(msg, at); err != nil {
			c.errMu.Lock()
			c.err = err
			c.errMu.Unlock()
			_ = c.conn.Close()
			c.failAcks()
			return
		}
	}
}

func (c *Client) dispatch(msg []byte, at time.Time) error {
	if len(msg) == 0 {
		return errors.New("empty frame")
	}
	switch msg[0] {
	case '2': // ping
		c.pings.Add(1)
		if err := c.write([]byte("3")); err != nil {
			return fmt.Errorf("pong: %w", err)
		}
		return nil
	case '1': // close
		return errors.New("server closed the session")
	case '6', '3': // noop, pong
		return nil
	case '4':
	default:
		return fmt.Errorf("unknown engine.io packet %q", trunc(msg))
	}
	p := msg[1:]
	if len(p) == 0 {
		return errors.New("empty socket.io packet")
	}
	typ := p[0]
	p = p[1:]
	if len(p) > 0 && p[0] == '/' { // namespace other than "/"
		i := bytes.IndexByte(p, ',')
		if i < 0 {
			return fmt.Errorf("bad namespace in %q", trunc(msg))
		}
		p = p[i+1:]
	}
	var id uint64
	hasID := false
	for len(p) > 0 && p[0] >= '0' && p[0] <= '9' {
		id = id*10 + uint64(p[0]-'0')
		hasID = true
		p = p[1:]
	}
	switch typ {
	case '2': // EVENT
		ev, err := parseEvent(p)
		if err != nil {
			return fmt.Errorf("bad event %q: %w", trunc(msg), err)
		}
		ev.At = at
		if h := c.handler.Load(); h != nil {
			(*h)(c, ev)
		}
		if hasID { // the server asked for an ack: answer with nothing
			return c.write(fmt.Appendf(nil, "43%d[]", id))
		}
		return nil
	case '3': // ACK
		if !hasID {
			return fmt.Errorf("ack without id %q", trunc(msg))
		}
		c.ackMu.Lock()
		cb := c.acks[id]
		delete(c.acks, id)
		c.ackMu.Unlock()
		if cb != nil {
			cb(json.RawMessage(bytes.Clone(p)), true)
		}
		return nil
	case '1': // DISCONNECT
		return errors.New("server disconnected the socket")
	case '4': // CONNECT_ERROR
		return fmt.Errorf("connect error %q", trunc(msg))
	default:
		return nil
	}
}

func (c *Client) failAcks() {
	c.ackMu.Lock()
	cbs := make([]func(json.RawMessage, bool), 0, len(c.acks))
	for id, cb := range c.acks {
		cbs = append(cbs, cb)
		delete(c.acks, id)
	}
	c.ackMu.Unlock()
	for _, cb := range cbs {
		cb(nil, false)
	}
}

func (c *Client) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.conn.WriteMessage(websocket.TextMessage, b)
}

// Emit sends the event name with one argument (none when arg is nil).
func (c *Client) Emit(name string, arg any) error {
	return c.emit(name, arg, 0, false)
}

// EmitAck sends the event with an ack id and waits for the server's ack,
// returning its arguments as a JSON array; ctx bounds the wait. Not from a
// Handler: the ack is read by the goroutine that runs handlers.
func (c *Client) EmitAck(ctx context.Context, name string, arg any) (json.RawMessage, error) {
	ch := make(chan json.RawMessage, 1)
	id := c.addAck(func(r json.RawMessage, ok bool) {
		if ok {
			ch <- r
		} else {
			close(ch)
		}
	})
	if err := c.emit(name, arg, id, true); err != nil {
		c.dropAck(id)
		return nil, err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("ack %s: connection closed", name)
		}
		return r, nil
	case <-ctx.Done():
		c.dropAck(id)
		return nil, fmt.Errorf("ack %s: %w", name, ctx.Err())
	}
}

// EmitCallback sends the event with an ack id; cb runs on the reader
// goroutine, in order with the events, when the ack arrives (ok true) or the
// connection ends first (ok false).
func (c *Client) EmitCallback(name string, arg any, cb func(args json.RawMessage, ok bool)) error {
	id := c.addAck(cb)
	if err := c.emit(name, arg, id, true); err != nil {
		c.dropAck(id)
		return err
	}
	return nil
}

func (c *Client) addAck(cb func(json.RawMessage, bool)) uint64 {
	c.ackMu.Lock()
	defer c.ackMu.Unlock()
	c.ackID++
	c.acks[c.ackID] = cb
	return c.ackID
}

func (c *Client) dropAck(id uint64) {
	c.ackMu.Lock()
	delete(c.acks, id)
	c.ackMu.Unlock()
}

func (c *Client) emit(name string, arg any, id uint64, withID bool) error {
	var payload []byte
	if arg != nil {
		var err error
		if raw, ok := arg.(json.RawMessage); ok {
			payload = raw
		} else if payload, err = json.Marshal(arg); err != nil {
			return fmt.Errorf("emit %s: marshal: %w", name, err)
		}
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := append(c.wbuf[:0], '4', '2')
	if withID {
		b = strconv.AppendUint(b, id, 10)
	}
	b = append(b, '[')
	b = strconv.AppendQuote(b, name)
	if payload != nil {
		b = append(b, ',')
		b = append(b, payload...)
	}
	b = append(b, ']')
	c.wbuf = b
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("emit %s: %w", name, err)
	}
	return nil
}

// Close ends the connection with a websocket close frame; the server sees a
// disconnect.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.wmu.Lock()
	_ = c.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	err := c.conn.Close()
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

func trunc(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "..."
	}
	return string(b)
}

// parseEvent splits the JSON array `["name",arg,...]` into the name and the
// first argument without decoding either (the hot path of every scenario);
// names with escapes go through encoding/json.
func parseEvent(p []byte) (Event, error) {
	if len(p) < 4 || p[0] != '[' || p[1] != '"' || p[len(p)-1] != ']' {
		return Event{}, errors.New("not an event array")
	}
	q := bytes.IndexByte(p[2:], '"')
	if q < 0 {
		return Event{}, errors.New("unterminated name")
	}
	if bytes.IndexByte(p[2:2+q], '\\') >= 0 {
		var args []json.RawMessage
		if err := json.Unmarshal(p, &args); err != nil || len(args) == 0 {
			return Event{}, fmt.Errorf("event array: %v", err)
		}
		var ev Event
		if err := json.Unmarshal(args[0], &ev.Name); err != nil {
			return Event{}, fmt.Errorf("event name: %w", err)
		}
		if len(args) > 1 {
			ev.Data = args[1]
		}
		return ev, nil
	}
	ev := Event{Name: string(p[2 : 2+q])}
	rest := bytes.TrimSpace(p[3+q : len(p)-1])
	if len(rest) == 0 {
		return ev, nil
	}
	if rest[0] != ',' {
		return Event{}, errors.New("no comma after the name")
	}
	rest = bytes.TrimSpace(rest[1:])
	end := valueEnd(rest)
	if end <= 0 {
		return Event{}, errors.New("bad first argument")
	}
	ev.Data = rest[:end]
	return ev, nil
}

// valueEnd returns the length of the JSON value at the start of b (an
// object, array, string or literal), or -1 when it is not terminated. It
// only tracks nesting and strings; encoding/json validates when the data is
// decoded.
func valueEnd(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	switch b[0] {
	case '{', '[':
		depth, inStr := 0, false
		for i := 0; i < len(b); i++ {
			switch c := b[i]; {
			case inStr && c == '\\':
				i++
			case c == '"':
				inStr = !inStr
			case inStr:
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	case '"':
		for i := 1; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return -1
	default:
		i := bytes.IndexAny(b, ",]} \t\r\n")
		if i < 0 {
			return len(b)
		}
		return i
	}
}
