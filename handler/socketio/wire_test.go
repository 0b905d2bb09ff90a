package socketio

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/zishang520/socket.io-go-parser/v2/parser"
)

// decoderUnderTest is a decoder with the library's side recorded: the
// packets it passes on, and the events it hands to the handler.
type decoderUnderTest struct {
	parser.Decoder
	library []*parser.Packet
	events  []Event
}

func newDecoderUnderTest(t *testing.T, connect bool) *decoderUnderTest {
	t.Helper()
	d := &decoderUnderTest{Decoder: newParser(idCounter{}, &serverRef{}).NewDecoder()}
	_ = d.On("decoded", func(args ...any) { d.library = append(d.library, args[0].(*parser.Packet)) })
	if connect {
		if err := d.Add(`0`); err != nil {
			t.Fatalf("connect: %v", err)
		}
		l, ok := takeLink(d.library[0].Data)
		if !ok {
			t.Fatalf("the connect carries no link: %+v", d.library[0].Data)
		}
		l.attach(func(ev Event) { d.events = append(d.events, ev) })
		d.library = nil
	}
	return d
}

func TestDecoderHandsEventsOverAndRefusesMalformedPackets(t *testing.T) {
	tests := []struct {
		frame string
		// wantEvent is the event handed to the handler (name, ack id if
		// any, arguments as JSON); "" when none.
		wantEvent   string
		wantLibrary bool // the packet goes to the library
		wantErr     bool
	}{
		// Socket.IO packets, as they are inside Engine.IO's message "4".
		{frame: `2["join-queue",{"name":"a"}]`, wantEvent: `join-queue [{"name":"a"}]`},
		{frame: `2["next"]`, wantEvent: `next []`},
		{frame: `21["signal",{"to":"x","data":{"sdp":"v=0"}}]`, wantEvent: `signal ack 1 [{"to":"x","data":{"sdp":"v=0"}}]`},
		{frame: `2/,7["chat-message",{"message":"hi"}]`, wantEvent: `chat-message ack 7 [{"message":"hi"}]`},
		{frame: `2["probe",1,"two",null]`, wantEvent: `probe [1,"two",null]`},
		{frame: `2/other,["next"]`, wantLibrary: true},
		{frame: `30[{"ok":true}]`, wantLibrary: true},
		{frame: `2`, wantErr: true},
		{frame: `21`, wantErr: true},
		{frame: `2[]`, wantErr: true},
		{frame: `2null`, wantErr: true},
		{frame: `2{"a":1}`, wantErr: true},
		{frame: `2[7,"x"]`, wantErr: true},
		{frame: `2[null]`, wantErr: true},
		{frame: `2["disconnect"]`, wantErr: true},
		{frame: `2["next"`, wantErr: true},
		{frame: `299999999999999999999["next"]`, wantErr: true},
		{frame: "2[\"signal\",{\"data\":\"\xff\"}]", wantErr: true}, // not UTF-8: no browser would take it as text
		{frame: `2["signal",{"data":{]`, wantErr: true},
		{frame: `31`, wantErr: true},
		{frame: `0`, wantErr: true}, // a second connect
	}
	d := newDecoderUnderTest(t, true)
	for _, tt := range tests {
		t.Run(tt.frame, func(t *testing.T) {
			d.library, d.events = nil, nil
			err := d.Add(tt.frame)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if got := len(d.library) > 0; got != tt.wantLibrary {
				t.Fatalf("passed to the library: %v, want %v (%+v)", got, tt.wantLibrary, d.library)
			}
			if tt.wantEvent == "" {
				if len(d.events) != 0 && d.events[0].Refused == "" {
					t.Fatalf("an event reached the handler: %+v", d.events)
				}
				return
			}
			if len(d.events) != 1 {
				t.Fatalf("%d events handed over, want 1", len(d.events))
			}
			if got := describe(d.events[0]); got != tt.wantEvent {
				t.Fatalf("handed over %s, want %s", got, tt.wantEvent)
			}
		})
	}
}

func TestDecoderRefusesBinary(t *testing.T) {
	// The library would buffer attachments until a million had arrived.
	tests := []struct {
		name string
		data any
	}{
		{"binary event", `51-3["signal",{"_placeholder":true,"num":0}]`},
		{"binary ack", `61-3[{"_placeholder":true,"num":0}]`},
		{"binary event, spelled-out namespace", `51-/,["x",{"_placeholder":true,"num":0}]`},
		{"binary message", []byte{1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDecoderUnderTest(t, true)
			if err := d.Add(tt.data); err == nil {
				t.Fatalf("taken: events %+v, library %+v", d.events, d.library)
			}
		})
	}
}

func TestDecoderRefusesDeepNestingWithoutRecursing(t *testing.T) {
	nested := func(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }
	t.Run("event: refused with an ack", func(t *testing.T) {
		d := newDecoderUnderTest(t, true)
		// 23,000 levels: the recursive validation grew stacks by MBs.
		if err := d.Add(`27["signal",{"to":"x","data":` + nested(23000) + `}]`); err != nil {
			t.Fatal(err)
		}
		if len(d.events) != 1 || d.events[0].Refused == "" || d.events[0].AckID != 7 {
			t.Fatalf("want one refused event with ack 7, got %+v", d.events)
		}
	})
	t.Run("event: 32 levels taken, 33 refused", func(t *testing.T) {
		d := newDecoderUnderTest(t, true)
		// The outer array, the payload object, and data: 30 more.
		if err := d.Add(`2["signal",{"to":"x","data":` + nested(30) + `}]`); err != nil {
			t.Fatal(err)
		}
		if len(d.events) != 1 || d.events[0].Refused != "" {
			t.Fatalf("want one event taken, got %+v", d.events)
		}
		if err := d.Add(`2["signal",{"to":"x","data":` + nested(31) + `}]`); err != nil {
			t.Fatal(err)
		}
		if len(d.events) != 2 || d.events[1].Refused == "" {
			t.Fatalf("33 levels: want a refused event, got %+v", d.events)
		}
	})
	t.Run("brackets in strings do not count", func(t *testing.T) {
		d := newDecoderUnderTest(t, true)
		if err := d.Add(`2["chat-message",{"message":"` + strings.Repeat(`[{\"`, 40) + `"}]`); err != nil {
			t.Fatal(err)
		}
		if len(d.events) != 1 || d.events[0].Refused != "" {
			t.Fatalf("want one event taken, got %+v", d.events)
		}
	})
	t.Run("other packet: refused", func(t *testing.T) {
		d := newDecoderUnderTest(t, true)
		if err := d.Add(`31` + nested(100)); err == nil {
			t.Fatalf("deep ack taken: %+v", d.library)
		}
	})
}

func TestDecoderRefusesEventsBeforeTheConnect(t *testing.T) {
	d := newDecoderUnderTest(t, false)
	if err := d.Add(`2["next"]`); err == nil {
		t.Fatal("an event before the namespace connect was taken")
	}
}

func TestLinkHandsEarlyEventsOverInOrder(t *testing.T) {
	// The decoder delivers while the handler attaches from another
	// goroutine: every event is handled once, in the order delivered.
	for round := range 50 {
		l := &link{}
		const events = 60 // below maxEarlyEvents: none may be refused
		var got []string
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := range events {
				if err := l.deliver(Event{Name: fmt.Sprint(i)}); err != nil {
					t.Errorf("deliver %d: %v", i, err)
				}
			}
		})
		wg.Go(func() { l.attach(func(ev Event) { got = append(got, ev.Name) }) })
		wg.Wait()
		if len(got) != events {
			t.Fatalf("round %d: %d events handled, want %d", round, len(got), events)
		}
		for i, name := range got {
			if name != fmt.Sprint(i) {
				t.Fatalf("round %d: event %s handled at position %d", round, name, i)
			}
		}
	}
}

func TestLinkRefusesAFloodBeforeAttach(t *testing.T) {
	l := &link{}
	for i := range maxEarlyEvents {
		if err := l.deliver(Event{Name: fmt.Sprint(i)}); err != nil {
			t.Fatalf("event %d refused: %v", i, err)
		}
	}
	if err := l.deliver(Event{Name: "one too many"}); err == nil {
		t.Fatal("an event beyond maxEarlyEvents was kept")
	}
	l.close()
	if err := l.deliver(Event{Name: "after close"}); err != nil {
		t.Fatalf("an event after close: %v, want it dropped silently", err)
	}
	handled := 0
	l.attach(func(Event) { handled++ })
	if handled != 0 {
		t.Fatalf("%d events handled after close", handled)
	}
}

func TestFrames(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		want  string
	}{
		{"event", NewFrame("matched", `{"roomId":"r"}`).b, `2["matched",{"roomId":"r"}]`},
		{"event in parts", NewFrame("signal", `{"from":"x",`, `"data":`, `[1]`, `}`).b, `2["signal",{"from":"x","data":[1]}]`},
		{"event without arguments", NewFrame("partner-left").b, `2["partner-left"]`},
		{"event with an empty payload", NewFrame("partner-left", "").b, `2["partner-left"]`},
		{"event with empty parts", NewFrame("partner-left", "", "").b, `2["partner-left"]`},
		{"ack", ackFrame(12, []byte(`{"ok":false,"error":"no"}`)), `312[{"ok":false,"error":"no"}]`},
		{"ack ok", ackFrame(12, []byte(`{"ok":true}`)), `312[{"ok":true}]`},
		{"ack without arguments", ackFrame(12), `312[]`},
		{"ack with several arguments", ackFrame(7, []byte(`{"ok":true}`), []byte(`"two"`), []byte(`3`)), `37[{"ok":true},"two",3]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.frame) != tt.want {
				t.Fatalf("got %s, want %s", tt.frame, tt.want)
			}
			// After the packet type and ack id: the JSON array the client
			// parses.
			if args := strings.TrimLeft(string(tt.frame[1:]), "0123456789"); !json.Valid([]byte(args)) {
				t.Fatalf("the arguments %s are not JSON", args)
			}
		})
	}
}

func TestFramePayload(t *testing.T) {
	tests := []struct {
		frame         Frame
		name, payload string
	}{
		{NewFrame("signal", `{"from":"x",`, `"data":`, `[1]`, `}`), "signal", `{"from":"x","data":[1]}`},
		{NewFrame("signal", `{}`), "signal", `{}`},
		{NewFrame("partner-left"), "partner-left", ``},
		{NewFrame("partner-left", ""), "partner-left", ``},
	}
	for _, tt := range tests {
		t.Run(string(tt.frame.b), func(t *testing.T) {
			if got := tt.frame.Name(); got != tt.name {
				t.Errorf("name %q, want %q", got, tt.name)
			}
			if got := string(tt.frame.Payload()); got != tt.payload {
				t.Errorf("payload %q, want %q", got, tt.payload)
			}
		})
	}
}

func describe(ev Event) string {
	s := ev.Name
	if ev.WantsAck {
		s += fmt.Sprintf(" ack %d", ev.AckID)
	}
	raw := make([]string, len(ev.Args))
	for i, a := range ev.Args {
		raw[i] = a.Raw
	}
	return s + " [" + strings.Join(raw, ",") + "]"
}
