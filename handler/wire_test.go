package handler

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/zishang520/socket.io-go-parser/v2/parser"
	"github.com/zishang520/socket.io/v2/socket"
	"golang.org/x/time/rate"
)

func TestDecoderStampsEventsAndRefusesMalformedPackets(t *testing.T) {
	tests := []struct {
		frame   string
		wantErr bool
		wantSeq seq // 0: no stamp expected
	}{
		// Socket.IO packets, as they are inside Engine.IO's message "4".
		{`2["join-queue",{"name":"a"}]`, false, 1},
		{`2["next"]`, false, 2},
		{`21["signal",{}]`, false, 3},
		{`2`, true, 0},
		{`21`, true, 0},
		{`2[]`, true, 0},
		{`2[7,"x"]`, true, 0},
		{`31`, true, 0},
		{`2["chat-message",{"message":"hi"}]`, false, 4},
	}
	d := Parser().NewDecoder()
	var got []*parser.Packet
	_ = d.On("decoded", func(args ...any) { got = append(got, args[0].(*parser.Packet)) })
	for _, tt := range tests {
		t.Run(tt.frame, func(t *testing.T) {
			got = nil
			err := d.Add(tt.frame)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if len(got) != 0 {
					t.Fatalf("a refused packet reached the library: %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d packets decoded", len(got))
			}
			n, _, ok := takeSeq(got[0].Data.([]any))
			if !ok || n != tt.wantSeq {
				t.Fatalf("stamp %d (%v), want %d", n, ok, tt.wantSeq)
			}
		})
	}
}

func TestArriveRestoresTheConnectionsOrder(t *testing.T) {
	h := &Sockets{log: slog.New(slog.NewTextHandler(io.Discard, nil)), cfg: SocketConfig{}.withDefaults()}
	c := &conn{id: "c", limiter: rate.NewLimiter(rate.Inf, 0), next: 1}

	const events = 500
	var mu sync.Mutex
	var handled []int
	frames := make([][]any, events)
	for i := range frames {
		// Unknown events are refused at once: their acks are answered in
		// the order the handler takes them.
		ack := socket.Ack(func([]any, error) {
			mu.Lock()
			handled = append(handled, i)
			mu.Unlock()
		})
		frames[i] = []any{"probe", i, seq(i + 1), ack}
	}
	// The library delivers each packet from a goroutine of its own.
	order := rand.Perm(events)
	var wg sync.WaitGroup
	for _, i := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.arrive(c, frames[i])
		}()
	}
	wg.Wait()

	if len(handled) != events {
		t.Fatalf("%d events handled, want %d", len(handled), events)
	}
	for i, got := range handled {
		if got != i {
			t.Fatalf("event %d handled at position %d: %v...", got, i, handled[:min(i+5, len(handled))])
		}
	}
}
