// Package bench is a load generator for the Zivro Socket.IO server. It speaks
// Engine.IO v4 / Socket.IO v5 over a websocket by itself (no code shared with
// the server), runs the scenarios (match, relay, churn, idle, cost, abuse,
// instances, rollover) against the server processes it starts, checks the server's behaviour as the
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
	// Offset is the offset the server gave the event, for a client that
	// opted in to resuming (its last argument, taken off before Data is
	// read); "" for the others.
	Offset string
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
	// ForwardedFor, when set, is sent as X-Forwarded-For: the client's
	// address to a server that trusts the bench as its proxy
	// (TRUSTED_PROXIES), for the per-address bounds of real users at
	// many addresses.
	ForwardedFor string
	// Resume opts in to resuming a session (CONTRACT.md, "Resuming a
	// session"): the namespace connect carries auth {resume: true}, and
	// with PID set {resume: true, pid, offset} (offset left out when
	// empty), as socket.io-client sends when it reconnects: the server
	// gives that session back when it holds it. The client keeps the pid
	// of the connect reply (Client.PID) and the last event's offset
	// (Client.Offset), as socket.io-client does.
	Resume      bool
	PID, Offset string
}

// resumeAuth is the auth of a resumable client's namespace connect.
type resumeAuth struct {
	Resume bool   `json:"resume"`
	PID    string `json:"pid,omitempty"`
	Offset string `json:"offset,omitempty"`
}

// connectFrame is the namespace connect opt asks for.
func (opt DialOptions) connectFrame() []byte {
	if !opt.Resume {
		return []byte("40")
	}
	b, _ := json.Marshal(resumeAuth{Resume: true, PID: opt.PID, Offset: opt.Offset}) // cannot fail
	return append([]byte("40"), b...)
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
	// PID is the private session id of the connect reply, given to a
	// client that opted in to resuming (DialOptions.Resume); "" for the
	// others. While it is set, every event's last string argument is its
	// offset (Event.Offset, Client.Offset), as socket.io-client reads it.
	PID string
	// ConnectedAt is when the namespace connect reply was read.
	ConnectedAt time.Time

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
	offset  atomic.Pointer[string]
}

type openPacket struct {
	SID          string `json:"sid"`
	PingInterval int64  `json:"pingInterval"`
	PingTimeout  int64  `json:"pingTimeout"`
}

type connectPacket struct {
	SID string `json:"sid"`
	PID string `json:"pid"`
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
	hdr := http.Header{}
	if opt.Origin != "" {
		hdr.Set("Origin", opt.Origin)
	}
	if opt.ForwardedFor != "" {
		hdr.Set("X-Forwarded-For", opt.ForwardedFor)
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
	if err := c.handshake(ctx, wait, opt.connectFrame()); err != nil {
		_ = conn.Close()
		return nil, err
	}
	go c.readLoop()
	return c, nil
}

// handshake reads the open packet, sends the namespace connect and reads its
// reply, all before ctx's deadline; the reply must come within wait.
func (c *Client) handshake(ctx context.Context, wait time.Duration, connect []byte) error {
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
	if err := c.write(connect); err != nil {
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
			c.SID, c.PID, c.ConnectedAt = cp.SID, cp.PID, time.Now()
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

// Offset is the offset of the last event read ("" before the first, and
// for a client that did not opt in to resuming): what a reconnect gives as
// DialOptions.Offset.
func (c *Client) Offset() string {
	if p := c.offset.Load(); p != nil {
		return *p
	}
	return ""
}

// Pings reports how many Engine.IO pings the client has answered.
func (c *Client) Pings() int64 { return c.pings.Load() }

func (c *Client) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.conn.WriteMessage(websocket.TextMessage, b)
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
