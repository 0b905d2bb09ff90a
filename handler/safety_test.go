package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/zivro/zivro/handler/socketio"
	"github.com/zivro/zivro/queue"
)

// fakeConn is a Conn that hands its acks to a channel.
type fakeConn struct {
	id, addr string
	acks     chan ackReply
}

func (c *fakeConn) ID() string   { return c.id }
func (c *fakeConn) Addr() string { return c.addr }
func (c *fakeConn) Ack(_ uint64, payload []byte) {
	var r ackReply
	if err := json.Unmarshal(payload, &r); err != nil {
		panic(err)
	}
	c.acks <- r
}

// fakeService records the calls of the safety events; err is what they
// return.
type fakeService struct {
	mu      sync.Mutex
	calls   []string
	profile queue.Profile
	err     error
}

func (s *fakeService) record(call string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call)
	return s.err
}

func (s *fakeService) Connect(string) {}
func (s *fakeService) Join(_ context.Context, id string, p queue.Profile) error {
	s.mu.Lock()
	s.profile = p
	s.mu.Unlock()
	return s.record("join " + id)
}
func (s *fakeService) Next(context.Context, string) error       { return s.record("next") }
func (s *fakeService) Leave(context.Context, string) error      { return s.record("leave") }
func (s *fakeService) Disconnect(context.Context, string) error { return nil }
func (s *fakeService) Partner(string) (string, bool)            { return "", false }
func (s *fakeService) Report(_ context.Context, id, reason string) error {
	return s.record("report " + id + " " + reason)
}
func (s *fakeService) Block(_ context.Context, id string) error { return s.record("block " + id) }

func (s *fakeService) recorded() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// fakeSender records what is sent to whom.
type fakeSender struct {
	mu   sync.Mutex
	sent map[string][]socketio.Frame
}

func (s *fakeSender) Send(to string, f socketio.Frame) { s.SendLocal(to, f) }
func (s *fakeSender) SendLocal(to string, f socketio.Frame) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent == nil {
		s.sent = map[string][]socketio.Frame{}
	}
	s.sent[to] = append(s.sent[to], f)
	return true
}

var testKeys = NewAddressKeys([]byte("test"))

func newTestSockets(svc Service) *Sockets {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return NewSockets(context.Background(), &fakeSender{}, svc, log, SocketConfig{Addresses: testKeys})
}

// event builds an event with an ack from its JSON arguments.
func event(name string, args ...string) socketio.Event {
	ev := socketio.Event{Name: name, WantsAck: true, AckID: 1}
	for _, a := range args {
		ev.Args = append(ev.Args, gjson.Parse(a))
	}
	return ev
}

func awaitAck(t *testing.T, c *fakeConn) ackReply {
	t.Helper()
	select {
	case r := <-c.acks:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no ack within 5 s")
		return ackReply{}
	}
}

func TestJoinCarriesInterestsAndTheAddressKey(t *testing.T) {
	svc := &fakeService{}
	h := newTestSockets(svc)
	cn := &fakeConn{id: "s1", addr: "203.0.113.7:4242", acks: make(chan ackReply, 4)}
	c := h.open(cn)
	c.Event(event("join-queue", `{"name":"Ann","interests":["Music"," chess "]}`))
	if r := awaitAck(t, cn); !r.OK {
		t.Fatalf("join ack %+v", r)
	}
	svc.mu.Lock()
	p := svc.profile
	svc.mu.Unlock()
	if !reflect.DeepEqual(p.Interests, []string{"music", "chess"}) {
		t.Fatalf("interests %q", p.Interests)
	}
	if want := testKeys.Key("203.0.113.7"); p.Addr != want {
		t.Fatalf("address key %q, want %q (the connection's address, hashed)", p.Addr, want)
	}
}

func TestReportAndBlockEvents(t *testing.T) {
	coolDown := &queue.CoolDownError{Remaining: 90 * time.Second}
	tests := []struct {
		name      string
		ev        socketio.Event
		svcErr    error
		wantCalls []string
		wantError string // "" for an ok ack
	}{
		{"report", event("report", `{"reason":"spam"}`), nil, []string{"report s1 spam"}, ""},
		{"report, unknown reason", event("report", `{"reason":"he was rude to me, Bob from Leeds"}`), nil, nil, "reason must be one of"},
		{"report, no payload", event("report"), nil, nil, "payload missing"},
		{"report, no partner", event("report", `{"reason":"other"}`), queue.ErrNoPartner, []string{"report s1 other"}, "no partner"},
		{"block", event("block"), nil, []string{"block s1"}, ""},
		{"block, no partner", event("block"), fmt.Errorf("block by s1: %w", queue.ErrNoPartner), []string{"block s1"}, "no partner"},
		{"join in a cool-down", event("join-queue", `{"name":"Ann"}`), fmt.Errorf("join s1: %w", coolDown), []string{"join s1"}, "cooling down after reports: try again in 90 s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{err: tt.svcErr}
			cn := &fakeConn{id: "s1", addr: "198.51.100.1:1", acks: make(chan ackReply, 4)}
			newTestSockets(svc).open(cn).Event(tt.ev)
			r := awaitAck(t, cn)
			if tt.wantError == "" && !r.OK || tt.wantError != "" && (r.OK || !strings.Contains(r.Error, tt.wantError)) {
				t.Fatalf("ack %+v, want error %q", r, tt.wantError)
			}
			if got := svc.recorded(); !reflect.DeepEqual(got, tt.wantCalls) {
				t.Fatalf("service calls %q, want %q", got, tt.wantCalls)
			}
		})
	}
}

func TestMatchedCarriesCommonInterests(t *testing.T) {
	out := &fakeSender{}
	a := NewAnnouncer(out)
	a.Matched("x", queue.Match{RoomID: "r", PartnerID: "y", PartnerName: "Y", CommonInterests: []string{"music"}})
	a.Matched("y", queue.Match{RoomID: "r", PartnerID: "x", PartnerName: "X", Initiator: true})
	for to, want := range map[string]string{
		"x": `{"roomId":"r","partnerId":"y","partnerName":"Y","isInitiator":false,"commonInterests":["music"]}`,
		"y": `{"roomId":"r","partnerId":"x","partnerName":"X","isInitiator":true,"commonInterests":[]}`,
	} {
		if got := out.sent[to]; len(got) != 1 || got[0].Name() != "matched" || string(got[0].Payload()) != want {
			t.Fatalf("to %s: %v, want one matched %s", to, got, want)
		}
	}
}
