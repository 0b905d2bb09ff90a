package socketio

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/engine.io-go-parser/packet"
	"github.com/zishang520/engine.io/v2/types"
	"github.com/zivro/zivro/internal/eventually"
	"github.com/zivro/zivro/internal/syncbuf"
)

// outboxUnderTest is an outbox on a clock the test moves, recording why it
// closed the connection.
type outboxUnderTest struct {
	*outbox
	clock  time.Time
	closed []string
}

func newOutboxUnderTest() *outboxUnderTest {
	o := &outboxUnderTest{clock: time.Unix(1000, 0)}
	o.outbox = &outbox{
		limits:    outboxLimits{MaxBytes: 1000, MaxWait: 10 * time.Second},
		now:       func() time.Time { return o.clock },
		closeConn: func(reason string) { o.closed = append(o.closed, reason) },
	}
	return o
}

func message(n int) *packet.Packet {
	return &packet.Packet{Type: packet.MESSAGE, Data: types.NewStringBuffer(make([]byte, n))}
}

func TestOutbox(t *testing.T) {
	ping := &packet.Packet{Type: packet.PING}
	pong := &packet.Packet{Type: packet.PONG}
	tests := []struct {
		name string
		play func(o *outboxUnderTest)
		want string // the reason the connection was closed, "" for open
	}{
		{"a client that reads keeps its connection", func(o *outboxUnderTest) {
			for range 100 {
				o.created(message(600))
				o.flushed([]*packet.Packet{message(600)})
				o.clock = o.clock.Add(time.Second)
			}
		}, ""},
		{"over the size limit", func(o *outboxUnderTest) {
			o.created(message(600))
			o.created(message(600))
		}, "write backlog over its size limit"},
		{"under the size limit after a flush", func(o *outboxUnderTest) {
			o.created(message(600))
			o.flushed([]*packet.Packet{message(600)})
			o.created(message(600))
		}, ""},
		{"not drained within the wait", func(o *outboxUnderTest) {
			o.created(message(1))
			o.clock = o.clock.Add(11 * time.Second)
			o.created(ping)
		}, "write backlog not drained within the ping timeout"},
		{"drained, then waiting again briefly", func(o *outboxUnderTest) {
			o.created(message(1))
			o.clock = o.clock.Add(9 * time.Second)
			o.flushed([]*packet.Packet{message(1)})
			o.created(message(1))
			o.clock = o.clock.Add(9 * time.Second)
			o.created(ping)
		}, ""},
		{"a pong answers a ping", func(o *outboxUnderTest) {
			o.created(ping)
			o.received(pong)
			o.created(ping)
			o.received(pong)
		}, ""},
		{"a pong before any ping", func(o *outboxUnderTest) {
			o.received(pong)
		}, "pong that answers no ping"},
		{"a second pong for one ping", func(o *outboxUnderTest) {
			o.created(ping)
			o.received(pong)
			o.received(pong)
		}, "pong that answers no ping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOutboxUnderTest()
			tt.play(o)
			var got string
			if len(o.closed) > 1 {
				t.Fatalf("closed %d times: %q", len(o.closed), o.closed)
			}
			if len(o.closed) == 1 {
				got = o.closed[0]
			}
			if got != tt.want {
				t.Fatalf("closed for %q, want %q", got, tt.want)
			}
		})
	}
}

// A client that sends and never reads is closed once what waits for it
// passes MaxBacklog, on both transports (the outbox hears the library's
// packetCreate and flush events of either).
func TestClientsThatNeverReadAreClosedAtTheBacklogLimit(t *testing.T) {
	const limit = 64 << 10
	// An event the echo session acks with its own 32 kB: twenty megabytes
	// of acks are more than loopback's socket buffers and the limit.
	event := `421["echo","` + strings.Repeat("x", 32000) + `"]`
	const events = 640
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			var logs syncbuf.Buffer
			s := New(t.Context(), Options{MaxBacklog: limit, Log: slog.New(slog.NewTextHandler(&logs, nil))})
			s.OnConnect(func(c *Conn) Session { return echoSession{conn: c} })
			srv := httptest.NewServer(s)
			t.Cleanup(func() { srv.Close(); s.Close() })

			if transport == "websocket" {
				c := rawConnect(t, srv.URL, "40")
				for range events {
					if c.WriteMessage(websocket.TextMessage, []byte(event)) != nil {
						break // closed
					}
				}
			} else {
				base := pollConnect(t, srv.URL)
				for range events / 20 {
					if code, _ := post(t, base, event); code != http.StatusOK {
						break // closed
					}
				}
			}
			eventually.True(t, 10*time.Second, func() (bool, string) {
				return strings.Contains(logs.String(), `reason="write backlog over its size limit"`), "the connection that never reads was not closed at the limit:\n" + logs.String()
			})
		})
	}
}

// TestFlushedPacketsAreLetGo sends a connection a burst of acks and reads
// them all: the library's write buffer then points at none of them (it
// kept every packet of its last flush, and an array as long as its
// longest batch).
func TestFlushedPacketsAreLetGo(t *testing.T) {
	const events = 30
	// Event i, which the echo session acks with its 1 kB argument.
	event := func(i int) string { return fmt.Sprintf(`42%d["echo","%s"]`, i, strings.Repeat("x", 1000)) }
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			url, conns := echoServer(t)
			acks := 0
			if transport == "websocket" {
				c := rawConnect(t, url, "40")
				for i := range events {
					rawWrite(t, c, event(i))
				}
				for acks < events {
					if strings.HasPrefix(rawRead(t, c), "43") {
						acks++
					}
				}
			} else {
				base := pollConnect(t, url)
				packets := make([]string, events)
				for i := range packets {
					packets[i] = event(i)
				}
				if code, body := post(t, base, strings.Join(packets, "\x1e")); code != http.StatusOK {
					t.Fatalf("events: %d %q", code, body)
				}
				for acks < events {
					code, body := get(t, base)
					if code != http.StatusOK {
						t.Fatalf("poll: %d %q", code, body)
					}
					for p := range strings.SplitSeq(body, "\x1e") {
						if strings.HasPrefix(p, "43") {
							acks++
						}
					}
				}
			}
			// Every ack was flushed before it was written: the flushes
			// are over.
			buffer, ok := writeBufferOf((<-conns).sock.Conn())
			if !ok {
				t.Fatal("the library's write buffer is not found")
			}
			buffer.DoRead(func(waiting []*packet.Packet) {
				if cap(waiting) > keptSlots {
					t.Errorf("the empty write buffer keeps an array of %d slots, want at most %d", cap(waiting), keptSlots)
				}
				kept := 0
				for _, p := range waiting[len(waiting):cap(waiting)] {
					if p != nil {
						kept++
					}
				}
				if kept > 0 {
					t.Errorf("%d slots past the buffer's length still hold flushed packets", kept)
				}
			})
		})
	}
}
