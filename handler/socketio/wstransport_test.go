package socketio

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/engine.io-go-parser/packet"
	"github.com/zishang520/engine.io/v2/transports"
	"github.com/zishang520/engine.io/v2/types"
	"github.com/zivro/zivro/internal/eventually"
)

// rawFrameServer accepts one websocket and writes frames to it as they
// are, for a gorilla client to read: what wsTransport's frames must be.
func rawFrameServer(t *testing.T, frames []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		sum := sha1.Sum([]byte(req.Header.Get("Sec-Websocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		_, _ = c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"))
		_, _ = c.Write(frames)
		time.Sleep(5 * time.Second) // the client reads, then closes
	}()
	return "ws://" + ln.Addr().String() + "/"
}

// A batch is encoded into frames a websocket client reads as the
// library's transport would have written them: one message per packet,
// each packet as Engine.IO's parser encodes it, at every length class of
// the frame header (7 bits, 16, 64).
func TestWebsocketTransportFramesReadAsTheLibrarysWould(t *testing.T) {
	w := unconnectedTransport("4")

	type msg struct {
		text bool
		data string
	}
	var batch []*packet.Packet
	var want []msg
	for _, n := range []int{0, 1, 124, 125, 126, 65534, 65535, 70000} {
		s := strings.Repeat("x", n)
		batch = append(batch, &packet.Packet{Type: packet.MESSAGE, Data: types.NewStringBuffer([]byte(s))})
		want = append(want, msg{true, "4" + s})
	}
	batch = append(batch,
		&packet.Packet{Type: packet.PING},
		&packet.Packet{Type: packet.PONG, Data: strings.NewReader("probe")},
		&packet.Packet{Type: packet.MESSAGE, Data: types.NewBytesBuffer([]byte{0, 1, 2})},
		&packet.Packet{Type: packet.MESSAGE, Options: &packet.Options{WsPreEncodedFrame: types.NewStringBuffer([]byte("42[\"pre\"]"))}},
	)
	want = append(want, msg{true, "2"}, msg{true, "3probe"}, msg{false, "\x00\x01\x02"}, msg{true, "42[\"pre\"]"})

	frames, err := w.encode(nil, batch)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	conn, _, err := websocket.DefaultDialer.Dial(rawFrameServer(t, frames), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i, m := range want {
		mt, got, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if (mt == websocket.TextMessage) != m.text || string(got) != m.data {
			t.Errorf("message %d: type %d, %d bytes %.20q; want text %v, %d bytes %.20q", i, mt, len(got), got, m.text, len(m.data), m.data)
		}
	}
}

// unconnectedTransport is a wsTransport of Engine.IO protocol eio with no
// connection: for its encoding and decoding alone.
func unconnectedTransport(eio string) *wsTransport {
	w := &wsTransport{Transport: transports.MakeTransport()}
	w.Prototype(w)
	r := httptest.NewRequest(http.MethodGet, "/socket.io/?EIO="+eio+"&transport=websocket", nil)
	w.Transport.Construct(types.NewHttpContext(httptest.NewRecorder(), r))
	return w
}

// An idle websocket holds no goroutine on the server: it waits in the
// server's poller (internal/netwait), and its heartbeat is a runtime timer
// (wsheartbeat.go), where the library's transport held a reading goroutine
// and a heartbeat goroutine, with their stacks (10.5 kB a connection, the
// reading one grown by the handling of messages). Without a poller (other
// systems than Linux), it holds one, the reading one, which once it has
// sent a message hopEvery after the last move (a pong does within the
// ping interval) waits on a stack that never ran the handling of a
// message: the stacks of 500 idle connections stay within 6 kB a
// connection (4.2 to 4.3 kB measured, the stack spans the runtime keeps
// included; a reader parked inside gorilla took 6.2 kB a connection).
// Either way, no idle connection holds a read buffer, and each answers
// once it is idle.
func TestWebsocketTransportIdleConnectionsHoldSmallStacks(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		// the bounds for 500 idle connections: goroutines and stack
		// bytes a connection
		goroutinesEach, stackEach float64
	}{
		// The stack: what the runtime keeps of the goroutines that
		// read a message and ended (1.8 kB a connection measured).
		{"watched by the poller", Options{}, 0, 3 * 1024},
		{"waiting in reads", Options{waitInReads: true}, 1, 6 * 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.o.waitInReads {
				needPoller(t)
			}
			testIdleConnections(t, tt.o, tt.goroutinesEach, tt.stackEach)
		})
	}
}

// needPoller skips a test of the poller where there is none (only Linux
// has internal/netwait's).
func needPoller(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("internal/netwait's poller is Linux's")
	}
}

func testIdleConnections(t *testing.T, o Options, goroutinesEach, stackEach float64) {
	const n = 500
	url, conns, _ := echoServerWith(t, o)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()
	echo := func(c *websocket.Conn) {
		rawWrite(t, c, `421["echo",{"a":[1,2,{"b":"c"}]}]`)
		if got := rawRead(t, c); got != `431[{"a":[1,2,{"b":"c"}]}]` {
			t.Fatalf("ack %q", got)
		}
	}
	clients := make([]*websocket.Conn, n)
	trs := make([]*wsTransport, n)
	for i := range clients {
		clients[i] = rawConnect(t, url, `40`)
		tr, ok := nextConn(t, conns).sock.Conn().Transport().(*wsTransport)
		if !ok {
			t.Fatal("the websocket's transport is not the wall's")
		}
		trs[i] = tr
		echo(clients[i]) // handled on the stack the connect moved to
	}
	// A message handled hopEvery after the reading last moved moves it
	// again, to the poller or to a fresh stack, where it waits.
	time.Sleep(hopEvery)
	for _, c := range clients {
		echo(c)
	}
	// The bound, and a few goroutines of the test's own.
	limit := int(goroutinesEach*n) + 8
	eventually.True(t, 5*time.Second, func() (bool, string) {
		grown := runtime.NumGoroutine() - goroutines
		return grown <= limit, fmt.Sprintf("%d more goroutines for %d idle connections, want at most %d", grown, n, limit)
	})
	// And none holds a read buffer while it waits.
	eventually.True(t, 5*time.Second, func() (bool, string) {
		holding := 0
		for _, tr := range trs {
			if tr.holdsReadBuffer() {
				holding++
			}
		}
		return holding == 0, fmt.Sprintf("%d of %d idle connections hold a read buffer", holding, n)
	})
	var after runtime.MemStats
	runtime.GC()
	runtime.GC() // a collection shrinks stacks; two leave no doubt
	runtime.ReadMemStats(&after)
	perConn := (float64(after.StackInuse) - float64(before.StackInuse)) / n
	if perConn > stackEach && !raceEnabled {
		t.Errorf("stack per idle connection %.0f bytes, want at most %.0f", perConn, stackEach)
	}
	t.Logf("goroutines +%d for %d connections; stack %.0f bytes a connection", runtime.NumGoroutine()-goroutines, n, perConn)
	// Idle, each still reads what comes.
	for _, c := range clients {
		echo(c)
	}
}

// An idle websocket's wait in the poller ends with the connection, however
// it ends: none is left armed (holding its transport) once the sessions
// are gone.
func TestIdleWebsocketsLeaveNoWaitBehind(t *testing.T) {
	const n = 20
	tests := []struct {
		name string
		end  func(t *testing.T, client *websocket.Conn, c *Conn)
	}{
		{"the client closes", func(_ *testing.T, client *websocket.Conn, _ *Conn) { _ = client.Close() }},
		{"the client says goodbye", func(t *testing.T, client *websocket.Conn, _ *Conn) { rawWrite(t, client, "41") }},
		{"the server drops it", func(_ *testing.T, _ *websocket.Conn, c *Conn) { c.Drop() }},
		{"the client stops answering pings", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{}
			if tt.end == nil {
				o.PingInterval, o.PingTimeout = 200*time.Millisecond, 200*time.Millisecond
			}
			needPoller(t)
			url, conns, s := echoServerWith(t, o)
			if s.poller == nil {
				t.Fatal("no poller")
			}
			clients := make([]*websocket.Conn, n)
			served := make([]*Conn, n)
			for i := range clients {
				clients[i] = rawConnect(t, url, `40`)
				served[i] = nextConn(t, conns)
			}
			// Each waits in the poller once its connect was read.
			eventually.True(t, 5*time.Second, func() (bool, string) {
				return s.poller.Armed() == n, fmt.Sprintf("%d of %d connections wait in the poller", s.poller.Armed(), n)
			})
			if tt.end != nil {
				for i, c := range clients {
					tt.end(t, c, served[i])
				}
			} // else the clients never read: their pings go unanswered
			eventually.True(t, 5*time.Second, func() (bool, string) {
				connected := 0
				for _, c := range served {
					if c.sock.Connected() {
						connected++
					}
				}
				armed := s.poller.Armed()
				return armed == 0 && connected == 0, fmt.Sprintf("%d waits armed, %d of %d sessions connected", armed, connected, n)
			})
		})
	}
}

// Gorilla's write buffer, dropped at once, is made again when a message is
// written through gorilla after all: the message arrives whole.
func TestDroppedWriteBufferIsMadeAgainWhenNeeded(t *testing.T) {
	up := websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}
	dropped := make(chan bool, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			dropped <- false
			return
		}
		defer c.Close()
		dropped <- dropWriteBuffer(c)
		_ = c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("y", 3000)))
		_, _, _ = c.ReadMessage() // until the client closes
	}))
	defer srv.Close()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	if !<-dropped {
		t.Fatal("gorilla's write buffer was not found: the field moved")
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != strings.Repeat("y", 3000) {
		t.Fatalf("message after the drop: %d bytes, %v", len(msg), err)
	}
}

// The library's wrapper around a websocket (an event emitter, with the
// entry of the listener its engine removed) is let go once the session
// is connected: the transport keeps gorilla's connection only, and the
// handshake request that held the wrapper too is let go (leftover.go).
func TestWebsocketTransportLetsTheLibrarysWrapperGo(t *testing.T) {
	var collected, watched atomic.Bool
	// The wrapper is watched where the transport is made, from the
	// library's table of transports, restored after the test.
	table := transports.Transports()
	t.Cleanup(func() { table[transports.WEBSOCKET] = wsTransportCtor{} })
	table[transports.WEBSOCKET] = watchedWSTransportCtor{made: func(ctx *types.HttpContext) {
		if ctx.Websocket != nil && watched.CompareAndSwap(false, true) {
			runtime.AddCleanup(ctx.Websocket, func(c *atomic.Bool) { c.Store(true) }, &collected)
		}
	}}
	url, conns := echoServer(t)
	c := rawConnect(t, url, `40`)
	conn := nextConn(t, conns)
	if !watched.Load() {
		t.Fatal("the session's transport was made without a websocket wrapper")
	}
	eventually.True(t, 5*time.Second, func() (bool, string) {
		runtime.GC()
		return collected.Load(), "the library's websocket wrapper was not collected"
	})
	// And the connection still works both ways.
	rawWrite(t, c, `421["echo",{"a":1}]`)
	if got := rawRead(t, c); got != `431[{"a":1}]` {
		t.Fatalf("ack %q", got)
	}
	if conn.sock.Conn().ReadyState() != "open" {
		t.Errorf("connection %s, want open", conn.sock.Conn().ReadyState())
	}
}

// watchedWSTransportCtor makes wsTransports, showing made each request
// first.
type watchedWSTransportCtor struct {
	wsTransportCtor
	made func(*types.HttpContext)
}

func (c watchedWSTransportCtor) New(ctx *types.HttpContext) transports.Transport {
	c.made(ctx)
	return c.wsTransportCtor.New(ctx)
}

// A batch larger than the connection takes at once does not hold the
// sender (the engine's write returns while the client reads nothing), the
// transport takes no other batch until it is written, and a ping written
// meanwhile follows it: the client reads the batch's frames whole, then
// the ping. A batch the connection takes at once leaves the transport
// writable when the write returns.
func TestWebsocketTransportWritesWithoutHoldingTheSender(t *testing.T) {
	needPoller(t)
	// The outbox lets the 8 MB batch wait.
	url, conns, _ := echoServerWith(t, Options{MaxBacklog: 64 << 20})
	client := rawConnect(t, url, `40`)
	served := nextConn(t, conns)
	tr, ok := served.sock.Conn().Transport().(*wsTransport)
	if !ok {
		t.Fatal("the websocket's transport is not the wall's")
	}

	small := NewFrame("small", `{"n":1}`)
	write(served.sock, small.b)
	if !tr.Writable() {
		t.Error("a batch the connection took at once left the transport busy")
	}
	if got := rawRead(t, client); got != "4"+string(small.b) {
		t.Fatalf("client read %q", got)
	}

	big := NewFrame("big", `"`+strings.Repeat("x", 8<<20)+`"`) // more than both sockets' buffers
	written := make(chan struct{})
	go func() {
		write(served.sock, big.b)
		close(written)
	}()
	select {
	case <-written:
	case <-time.After(10 * time.Second):
		t.Fatal("the write waited for a client that reads nothing")
	}
	pinged := make(chan struct{})
	go func() {
		tr.ping()
		close(pinged)
	}()
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i, want := range []string{"4" + string(big.b), "2"} {
		_, msg, err := client.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if string(msg) != want {
			t.Fatalf("message %d: %d bytes %.30q, want %d bytes %.30q", i, len(msg), msg, len(want), want)
		}
	}
	<-pinged
	eventually.True(t, 5*time.Second, func() (bool, string) {
		return tr.Writable(), "the transport is still busy after its batch was read"
	})
}
