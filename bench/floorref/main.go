// Command floorref is the least a Go server of the relay path does, for the
// bench to measure beside ours and beside the Node reference: a websocket
// per client on gorilla/websocket (the transport underneath the Socket.IO
// library ours runs on), Engine.IO's open packet, heartbeat and namespace
// connect written by hand, join-queue paired in arrival order, signal and
// chat-message relayed to the partner with their fields read by gjson, an
// ack when asked. No Socket.IO library, no store, no validation beyond the
// fields it reads, no rate limit, no polling: its CPU per relayed message is
// the floor of a Go server on the runtime's network poller, the same system
// calls any relay makes plus the least work between them (docs/benchmarks.md,
// "The floor of a Go relay").
//
// Run it in the bench's place of ours (it reads PORT, and PPROF_ADDR for the
// bench's forced collections):
//
//	go build -o /tmp/floorref ./bench/floorref
//	go run ./bench/cmd/zivro-bench -server-bin /tmp/floorref -scenarios reference -ref-polling-n 0
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tidwall/gjson"
)

// heartbeat is the ping interval and timeout the open packet announces:
// the Go server's defaults, which the bench leaves alone.
const heartbeat = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv("PORT"), os.Getenv("PPROF_ADDR")); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, port, pprofAddr string) error {
	if _, err := strconv.Atoi(port); err != nil {
		return fmt.Errorf("PORT %q: %w", port, err)
	}
	h := &hub{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.Handle("GET /debug/pprof/heap", pprof.Handler("heap"))
	mux.HandleFunc("/socket.io/", h.upgrade)
	servers := []*http.Server{{Addr: "127.0.0.1:" + port, Handler: mux}}
	if pprofAddr != "" {
		servers = append(servers, &http.Server{Addr: pprofAddr, Handler: mux})
	}
	errs := make(chan error, len(servers))
	for _, s := range servers {
		go func() { errs <- s.ListenAndServe() }()
	}
	fmt.Printf("floorref listening on %s\n", port)
	var err error
	select {
	case err = <-errs:
	case <-ctx.Done():
	}
	for _, s := range servers {
		_ = s.Close()
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// hub holds the queue and the pairs; mu guards every conn's partner, name
// and queued.
type hub struct {
	upgrader websocket.Upgrader
	ids      atomic.Int64
	mu       sync.Mutex
	waiting  []*conn
	rooms    int
}

type conn struct {
	ws      *websocket.Conn
	id      string
	wmu     sync.Mutex // one writer at a time, as gorilla requires
	closed  atomic.Bool
	partner *conn
	name    string
	queued  bool
}

func (c *conn) write(b []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.WriteMessage(websocket.TextMessage, b)
}

func (h *hub) upgrade(w http.ResponseWriter, r *http.Request) {
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	// A Socket.IO id is 20 characters; the bench reads it back as sent.
	id := fmt.Sprintf("floor%015d", h.ids.Add(1))
	go h.serve(&conn{ws: ws, id: id, name: "Stranger"})
}

// serve reads c's packets until its connection ends.
func (h *hub) serve(c *conn) {
	defer h.leave(c)
	c.write([]byte(`0{"sid":"e` + c.id + `","upgrades":[],"pingInterval":10000,"pingTimeout":10000,"maxPayload":1000000}`))
	var ping *time.Timer
	ping = time.AfterFunc(heartbeat, func() {
		if !c.closed.Load() {
			c.write([]byte("2"))
			ping.Reset(heartbeat)
		}
	})
	defer ping.Stop()
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		switch {
		case len(msg) >= 2 && msg[0] == '4' && msg[1] == '0':
			c.write([]byte(`40{"sid":"` + c.id + `"}`))
		case len(msg) >= 2 && msg[0] == '4' && msg[1] == '2':
			h.event(c, msg[2:])
		}
	}
}

// event handles an event packet's body: an optional ack id, then the
// array of the event's name and argument.
func (h *hub) event(c *conn, p []byte) {
	i := 0
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	ack := p[:i]
	args := gjson.ParseBytes(p[i:])
	if !args.IsArray() {
		return
	}
	arg := args.Get("1")
	switch args.Get("0").String() {
	case "join-queue":
		h.mu.Lock()
		if n := arg.Get("name").String(); n != "" {
			c.name = n
		}
		if !c.queued && c.partner == nil {
			c.queued = true
			h.waiting = append(h.waiting, c)
		}
		h.pair()
		h.mu.Unlock()
	case "signal":
		if pt := h.partnerOf(c); pt != nil && arg.Get("to").String() == pt.id {
			data := arg.Get("data")
			b := make([]byte, 0, 64+len(data.Raw))
			b = append(b, `42["signal",{"from":"`...)
			b = append(b, c.id...)
			b = append(b, `","data":`...)
			b = append(b, data.Raw...)
			pt.write(append(b, "}]"...))
		}
	case "chat-message":
		if m, pt := arg.Get("message"), h.partnerOf(c); pt != nil && m.Type == gjson.String && m.Str != "" {
			b := make([]byte, 0, 96+len(m.Raw))
			b = append(b, `42["chat-message",{"from":"`...)
			b = append(b, c.id...)
			b = append(b, `","message":`...)
			b = append(b, m.Raw...)
			b = append(b, `,"timestamp":`...)
			b = strconv.AppendInt(b, time.Now().UnixMilli(), 10)
			pt.write(append(b, "}]"...))
		}
	}
	if len(ack) > 0 {
		c.write([]byte("43" + string(ack) + `[{"ok":true}]`))
	}
}

func (h *hub) partnerOf(c *conn) *conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return c.partner
}

// pair matches the waiting clients two by two, oldest first; h.mu is held.
func (h *hub) pair() {
	for len(h.waiting) >= 2 {
		a, b := h.waiting[0], h.waiting[1]
		h.waiting = h.waiting[2:]
		a.queued, b.queued = false, false
		a.partner, b.partner = b, a
		h.rooms++
		room := "room-" + strconv.Itoa(h.rooms)
		b.write([]byte(`42["matched",{"roomId":"` + room + `","partnerId":"` + a.id + `","partnerName":` + strconv.Quote(a.name) + `,"isInitiator":false}]`))
		a.write([]byte(`42["matched",{"roomId":"` + room + `","partnerId":"` + b.id + `","partnerName":` + strconv.Quote(b.name) + `,"isInitiator":true}]`))
	}
}

// leave ends c: its partner is told, its place in the queue given up.
func (h *hub) leave(c *conn) {
	c.closed.Store(true)
	h.mu.Lock()
	if pt := c.partner; pt != nil {
		pt.partner, c.partner = nil, nil
		pt.write([]byte(`42["partner-left",{"reason":"disconnect"}]`))
	}
	for i, w := range h.waiting {
		if w == c {
			h.waiting = append(h.waiting[:i], h.waiting[i+1:]...)
			break
		}
	}
	h.mu.Unlock()
	_ = c.ws.Close()
}
