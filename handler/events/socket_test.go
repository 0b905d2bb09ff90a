package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/zivro/zivro/handler/socketio"
	"github.com/zivro/zivro/internal/eventually"
	"github.com/zivro/zivro/queue"
)

// The per-connection rules, driven through a fake connection, a fake
// sender and a fake service: no network, no store.

// wait is how long a test waits for something that must happen.
const wait = 5 * time.Second

// fakeConn records the acks written to a connection.
type fakeConn struct {
	id      string
	addr    string // the client's address, "" unless a test sets it
	mu      sync.Mutex
	acks    []string // "<id> <payload>"
	acked   chan struct{}
	dropped chan struct{} // closed by Drop
	drop    sync.Once
}

func newFakeConn(id string) *fakeConn {
	return &fakeConn{id: id, acked: make(chan struct{}, 1000), dropped: make(chan struct{})}
}

func (c *fakeConn) Drop() { c.drop.Do(func() { close(c.dropped) }) }

func (c *fakeConn) isDropped() bool {
	select {
	case <-c.dropped:
		return true
	default:
		return false
	}
}

func (c *fakeConn) ID() string { return c.id }

func (c *fakeConn) Resumed() bool { return false }

func (c *fakeConn) Held() *socketio.Held { return nil }

func (c *fakeConn) Addr() string { return c.addr }

func (c *fakeConn) RequestID() string { return "req-" + c.id }

func (c *fakeConn) Transport() string { return "websocket" }

func (c *fakeConn) Ack(id uint64, payloads ...[]byte) {
	c.mu.Lock()
	c.acks = append(c.acks, fmt.Sprintf("%d %s", id, bytes.Join(payloads, []byte(","))))
	c.mu.Unlock()
	c.acked <- struct{}{}
}

// waitAcks waits until n acks were written and returns them all.
func (c *fakeConn) waitAcks(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(wait)
	for {
		c.mu.Lock()
		got := len(c.acks)
		acks := append([]string(nil), c.acks...)
		c.mu.Unlock()
		if got >= n {
			return acks
		}
		select {
		case <-c.acked:
		case <-deadline:
			t.Fatalf("%d acks after %v, want %d: %q", got, wait, n, acks)
		}
	}
}

func (c *fakeConn) ackList() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.acks...)
}

// sent is one frame a fakeSender was asked to write.
type sent struct {
	to, name, payload string
	local             bool // through SendLocal
}

// fakeSender records what is written to sockets; every socket is local.
type fakeSender struct {
	mu   sync.Mutex
	sent []sent
	at   []time.Time // when each was sent
}

func (s *fakeSender) Send(to string, f socketio.Frame) {
	s.mu.Lock()
	s.sent = append(s.sent, sent{to: to, name: f.Name(), payload: string(f.Payload())})
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
}

// waitFrames waits until n frames were sent, and returns them with when
// each was sent.
func (s *fakeSender) waitFrames(t *testing.T, n int) ([]sent, []time.Time) {
	t.Helper()
	var got []sent
	var at []time.Time
	eventually.True(t, wait, func() (bool, string) {
		s.mu.Lock()
		got, at = append([]sent(nil), s.sent...), append([]time.Time(nil), s.at...)
		s.mu.Unlock()
		return len(got) >= n, fmt.Sprintf("%d frames sent after %v, want %d: %+v", len(got), wait, n, got)
	})
	return got, at
}

func (s *fakeSender) SendLocal(to string, f socketio.Frame) bool {
	s.mu.Lock()
	s.sent = append(s.sent, sent{to: to, name: f.Name(), payload: string(f.Payload()), local: true})
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	return true
}

func (s *fakeSender) DropLocal(to string) bool { return false }

func (s *fakeSender) frames() []sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sent(nil), s.sent...)
}

// fakeService records the calls it gets. A command waits for gate, when
// set, after announcing itself on entered; it then returns err and, for a
// join, sets the partner to joinPartner.
type fakeService struct {
	mu          sync.Mutex
	calls       []string
	partners    map[string]string
	since       map[string]time.Time // when matched was sent; zero: long ago
	joinPartner string
	joined      queue.Profile // the profile of the last join
	err         error
	gate        chan struct{}
	entered     chan string
}

func newFakeService() *fakeService {
	return &fakeService{partners: map[string]string{}, since: map[string]time.Time{}, entered: make(chan string, 1000)}
}

func (s *fakeService) record(call string) {
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
}

func (s *fakeService) command(ctx context.Context, call string) error {
	s.entered <- call
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.record(call)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *fakeService) Connect(id string) { s.record("connect " + id) }

func (s *fakeService) Hold(ctx context.Context, id string, h queue.HeldSession) error {
	return s.command(ctx, "hold "+id)
}

func (s *fakeService) Resume(ctx context.Context, id, pidHash string, after uint64) (queue.Resumed, error) {
	return queue.Resumed{}, queue.ErrNotHeld
}

func (s *fakeService) Keep(ctx context.Context, id string, frame []byte) (bool, error) {
	return false, nil
}

func (s *fakeService) Join(ctx context.Context, id string, p queue.Profile) error {
	err := s.command(ctx, "join "+id+" "+p.Name)
	s.mu.Lock()
	s.joined = p
	if err == nil && s.joinPartner != "" {
		s.partners[id] = s.joinPartner
	}
	s.mu.Unlock()
	return err
}

func (s *fakeService) Next(ctx context.Context, id string) error {
	return s.command(ctx, "next "+id)
}

func (s *fakeService) Leave(ctx context.Context, id string) error {
	return s.command(ctx, "leave "+id)
}

func (s *fakeService) Report(ctx context.Context, id, reason string, _ *queue.Evidence) error {
	return s.command(ctx, "report "+id+" "+reason)
}

func (s *fakeService) Block(ctx context.Context, id string) error {
	return s.command(ctx, "block "+id)
}

func (s *fakeService) Disconnect(ctx context.Context, id string) error {
	s.record("disconnect " + id)
	return nil
}

func (s *fakeService) PartnerSince(id string) (string, time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.partners[id]
	return p, s.since[id], ok
}

func (s *fakeService) callList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// waitCall waits until call was recorded.
func (s *fakeService) waitCall(t *testing.T, call string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		for _, c := range s.callList() {
			if c == call {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no %q within %v; calls %q", call, wait, s.callList())
}

// fixture is one connection "me" on a handler over the fakes.
type fixture struct {
	h    *Sockets
	conn *fakeConn
	out  *fakeSender
	svc  *fakeService
	sess *conn
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	f := &fixture{conn: newFakeConn("me"), out: &fakeSender{}, svc: newFakeService()}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f.h = NewSockets(ctx, f.out, f.svc, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	f.sess = f.h.open(f.conn)
	t.Cleanup(func() {
		if f.svc.gate != nil {
			select {
			case <-f.svc.gate:
			default:
				close(f.svc.gate)
			}
		}
		f.sess.Closed("transport close")
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		f.h.Wait(ctx)
	})
	return f
}

// event builds an event as the decoder hands it over; ack 0 asks for none.
func event(name string, ack uint64, args string) socketio.Event {
	ev := socketio.Event{Name: name, AckID: ack, WantsAck: ack != 0}
	if args != "" {
		ev.Args = gjson.Parse("[" + args + "]").Array()
	}
	return ev
}

func TestAckShapes(t *testing.T) {
	tests := []struct {
		name    string
		svcErr  error
		partner string
		ev      socketio.Event
		want    string
	}{
		{"join ok", nil, "", event("join-queue", 1, `{"name":"Ana"}`), `1 {"ok":true}`},
		{"join busy", queue.ErrBusy, "", event("join-queue", 2, `{}`), `2 {"ok":false,"code":"busy","error":"already queued or in a call"}`},
		{"next not joined", fmt.Errorf("next me: %w", queue.ErrNotJoined), "", event("next", 3, ``), `3 {"ok":false,"code":"not-joined","error":"not in the queue or a call"}`},
		{"leave store down", errors.New("dial tcp: refused"), "", event("leave-queue", 4, ``), `4 {"ok":false,"code":"unavailable","error":"temporarily unavailable"}`},
		{"join bad payload", nil, "", event("join-queue", 5, `"Ana"`), `5 {"ok":false,"code":"invalid","error":"payload must be an object"}`},
		{"signal to the partner", nil, "you", event("signal", 6, `{"to":"you","data":1}`), `6 {"ok":true}`},
		{"signal to another", nil, "you", event("signal", 7, `{"to":"them","data":1}`), `7 {"ok":false,"code":"not-your-partner","error":"not your partner"}`},
		{"chat alone", nil, "", event("chat-message", 8, `{"message":"hi"}`), `8 {"ok":false,"code":"no-partner","error":"no partner"}`},
		{"chat", nil, "you", event("chat-message", 9, `{"message":"hi"}`), `9 {"ok":true}`},
		{"unknown event", nil, "", event("dance", 10, ``), `10 {"ok":false,"code":"unknown-event","error":"unknown event"}`},
		{"binary event", nil, "", socketio.Event{Name: "signal", AckID: 11, WantsAck: true, Refused: "binary payloads are not supported"}, `11 {"ok":false,"code":"invalid","error":"binary payloads are not supported"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			f.svc.err = tt.svcErr
			if tt.partner != "" {
				f.svc.partners["me"] = tt.partner
			}
			f.sess.Event(tt.ev)
			if got := f.conn.waitAcks(t, 1); len(got) != 1 || got[0] != tt.want {
				t.Fatalf("acks %q, want [%s]", got, tt.want)
			}
		})
	}
}

func TestNoAckUnlessAsked(t *testing.T) {
	f := newFixture(t, Config{})
	f.sess.Event(event("dance", 0, ``))                       // refused
	f.sess.Event(event("next", 0, ``))                        // ok
	f.sess.Event(event("chat-message", 1, `{"message":"x"}`)) // behind the next; acked
	if got := f.conn.waitAcks(t, 1); len(got) != 1 || !strings.HasPrefix(got[0], "1 ") {
		t.Fatalf("acks %q, want only the one asked for", got)
	}
}

func TestRelaysWhatThePartnerGets(t *testing.T) {
	f := newFixture(t, Config{})
	f.svc.partners["me"] = "you"
	f.sess.Event(event("signal", 0, `{"to":"you","data":{"sdp":"v=0","n":[1, 2]}}`))
	f.sess.Event(event("chat-message", 0, `{"message":"  hello  "}`))
	got := f.out.frames()
	if len(got) != 2 {
		t.Fatalf("sent %+v, want a signal and a chat message", got)
	}
	if want := (sent{to: "you", name: "signal", payload: `{"from":"me","data":{"sdp":"v=0","n":[1, 2]}}`}); got[0] != want {
		t.Errorf("signal: sent %+v, want %+v (data as the client sent it)", got[0], want)
	}
	var chat struct {
		From      string `json:"from"`
		Message   string `json:"message"`
		Timestamp int64  `json:"timestamp"`
	}
	if err := json.Unmarshal([]byte(got[1].payload), &chat); err != nil || got[1].to != "you" || got[1].name != "chat-message" ||
		chat.From != "me" || chat.Message != "hello" || time.Since(time.UnixMilli(chat.Timestamp)).Abs() > time.Minute {
		t.Errorf("chat: sent %+v (%v), want hello from me to you, stamped now", got[1], err)
	}
}

func TestPartnerChecks(t *testing.T) {
	tests := []struct {
		name    string
		partner string // "" for none
		ev      socketio.Event
	}{
		{"signal without a partner", "", event("signal", 1, `{"to":"you","data":1}`)},
		{"signal to someone else", "you", event("signal", 1, `{"to":"them","data":1}`)},
		{"chat without a partner", "", event("chat-message", 1, `{"message":"hi"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			if tt.partner != "" {
				f.svc.partners["me"] = tt.partner
			}
			f.sess.Event(tt.ev)
			if acks := f.conn.waitAcks(t, 1); !strings.Contains(acks[0], `"ok":false`) {
				t.Fatalf("ack %s, want a refusal", acks[0])
			}
			if got := f.out.frames(); len(got) != 0 {
				t.Fatalf("relayed %+v", got)
			}
		})
	}
}

func TestRelayWaitsBehindAPendingCommand(t *testing.T) {
	// A signal sent right after a join is checked against the partner the
	// join left, and acknowledged after it.
	f := newFixture(t, Config{})
	f.svc.gate = make(chan struct{})
	f.svc.joinPartner = "you"
	f.sess.Event(event("join-queue", 1, `{"name":"Ana"}`))
	<-f.svc.entered
	f.sess.Event(event("signal", 2, `{"to":"you","data":"offer"}`))
	if got := f.out.frames(); len(got) != 0 {
		t.Fatalf("the signal went out before the join was done: %+v", got)
	}
	if got := f.conn.ackList(); len(got) != 0 {
		t.Fatalf("acks %q before the join was done", got)
	}
	close(f.svc.gate)
	want := []string{`1 {"ok":true}`, `2 {"ok":true}`}
	if got := f.conn.waitAcks(t, 2); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("acks %q, want %q", got, want)
	}
	if got := f.out.frames(); len(got) != 1 || got[0].to != "you" {
		t.Fatalf("sent %+v, want the signal to the new partner", got)
	}
}

func TestRelayRunsAtOnceWhenIdle(t *testing.T) {
	f := newFixture(t, Config{})
	f.svc.partners["me"] = "you"
	f.sess.Event(event("signal", 1, `{"to":"you","data":1}`))
	// Event returned: the relay was written on the caller's goroutine.
	if got := f.out.frames(); len(got) != 1 {
		t.Fatalf("sent %+v, want the signal written before Event returned", got)
	}
	if got := f.conn.ackList(); len(got) != 1 || got[0] != `1 {"ok":true}` {
		t.Fatalf("acks %q", got)
	}
}

func TestCommandsRunInOrder(t *testing.T) {
	f := newFixture(t, Config{})
	f.sess.Event(event("join-queue", 1, `{"name":"A"}`))
	f.sess.Event(event("next", 2, ``))
	f.sess.Event(event("leave-queue", 3, ``))
	acks := f.conn.waitAcks(t, 3)
	want := []string{"connect me", "join me A", "next me", "leave me"}
	if got := f.svc.callList(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("calls %q, want %q", got, want)
	}
	for i, a := range acks {
		if !strings.HasPrefix(a, fmt.Sprint(i+1)+" ") {
			t.Fatalf("acks %q out of order", acks)
		}
	}
}

func TestPendingCap(t *testing.T) {
	// One command runs (held by the store), maxPendingCommands wait behind
	// it, commands or relays alike; the next one is refused.
	f := newFixture(t, Config{})
	f.svc.gate = make(chan struct{})
	f.svc.partners["me"] = "you"
	f.sess.Event(event("next", 1, ``))
	<-f.svc.entered
	for i := range 16 { // maxPendingCommands, as the README says
		name, args := "next", ``
		if i%2 == 1 {
			name, args = "chat-message", `{"message":"hi"}`
		}
		f.sess.Event(event(name, uint64(i+2), args))
	}
	if got := f.conn.ackList(); len(got) != 0 {
		t.Fatalf("acks %q while 16 wait", got)
	}
	over := uint64(16 + 2)
	f.sess.Event(event("signal", over, `{"to":"you","data":1}`))
	want := fmt.Sprintf(`%d {"ok":false,"code":"too-many-pending","error":"too many pending requests"}`, over)
	if got := f.conn.waitAcks(t, 1); got[0] != want {
		t.Fatalf("ack %s, want %s", got[0], want)
	}
	close(f.svc.gate)
	acks := f.conn.waitAcks(t, 16+2)
	for _, a := range acks[1:] {
		if !strings.HasSuffix(a, `{"ok":true}`) {
			t.Fatalf("a waiting request was refused: %q", acks)
		}
	}
	if got := f.out.frames(); len(got) != 16/2 {
		t.Fatalf("%d chat messages relayed, want %d", len(got), 16/2)
	}
}

func TestRateLimit(t *testing.T) {
	// A burst of 3 and next to no refill: the events beyond are dropped
	// unacknowledged (an error ack would be a write the client could
	// make the server do as fast as it sends) and never reach the
	// service; once maxOverLimit of them have been dropped (plus one a
	// second), the connection is.
	f := newFixture(t, Config{EventsPerSecond: 1e-6, EventBurst: 3})
	for i := range 3 {
		f.sess.Event(event("chat-message", uint64(i+1), `{"message":"hi"}`))
	}
	f.conn.waitAcks(t, 3)
	over := 0
	for ; over < 2*maxOverLimit && !f.conn.isDropped(); over++ {
		f.sess.Event(event("join-queue", uint64(4+over), `{}`))
	}
	if !f.conn.isDropped() {
		t.Fatalf("not dropped after %d events over the limit", over)
	}
	if over <= maxOverLimit {
		t.Fatalf("dropped after %d events over the limit, want more than %d", over, maxOverLimit)
	}
	acks := f.conn.ackList()
	if len(acks) != 3 {
		t.Fatalf("acks %q, want the 3 within the burst only", acks)
	}
	for _, a := range acks {
		if strings.Contains(a, "too many") {
			t.Fatalf("an event within the burst was refused: %q", acks)
		}
	}
	if got := f.svc.callList(); len(got) != 1 {
		t.Fatalf("calls %q, want only the connect", got)
	}
}

func TestNothingAfterClose(t *testing.T) {
	f := newFixture(t, Config{})
	f.svc.partners["me"] = "you"
	f.sess.Closed("transport close")
	f.sess.Closed("transport close") // a second close is the same close
	f.sess.Event(event("join-queue", 1, `{}`))
	f.sess.Event(event("signal", 2, `{"to":"you","data":1}`))
	f.sess.Event(event("dance", 3, ``))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	f.h.Wait(ctx)
	if got := f.conn.ackList(); len(got) != 0 {
		t.Fatalf("acks %q after close", got)
	}
	if got := f.out.frames(); len(got) != 0 {
		t.Fatalf("sent %+v after close", got)
	}
	if got, want := f.svc.callList(), []string{"connect me", "disconnect me"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("calls %q, want %q", got, want)
	}
}

func TestCloseRunsAfterPendingCommands(t *testing.T) {
	// A join under way when the connection closes runs to its end, and so
	// does the next queued behind it before the close; then the disconnect.
	// A join sent after the close is dropped: no join outlives the
	// connection.
	f := newFixture(t, Config{})
	f.svc.gate = make(chan struct{})
	f.sess.Event(event("join-queue", 1, `{"name":"A"}`))
	<-f.svc.entered
	f.sess.Event(event("next", 2, ``))
	f.sess.Closed("transport close")
	f.sess.Event(event("join-queue", 3, `{"name":"B"}`))
	close(f.svc.gate)
	f.svc.waitCall(t, "disconnect me")
	if got, want := f.svc.callList(), []string{"connect me", "join me A", "next me", "disconnect me"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("calls %q, want %q", got, want)
	}
}

func TestAnnouncements(t *testing.T) {
	out := &fakeSender{}
	a := NewAnnouncer(out)
	a.Matched("me", queue.Match{RoomID: "r1", PartnerID: "you", PartnerName: "Bo", Initiator: true})
	a.PartnerLeft("me", queue.ReasonNext)
	want := []sent{
		{to: "me", name: "matched", payload: `{"roomId":"r1","partnerId":"you","partnerName":"Bo","isInitiator":true,"commonInterests":[],"partnerRegion":"","textOnly":false}`, local: true},
		{to: "me", name: "partner-left", payload: `{"reason":"next"}`, local: true},
	}
	got := out.frames()
	if len(got) != len(want) {
		t.Fatalf("sent %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sent %+v, want %+v", got[i], want[i])
		}
	}
}
