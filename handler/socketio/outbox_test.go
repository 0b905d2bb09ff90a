package socketio

import (
	"testing"
	"time"

	"github.com/zishang520/engine.io-go-parser/packet"
	"github.com/zishang520/engine.io/v2/types"
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
