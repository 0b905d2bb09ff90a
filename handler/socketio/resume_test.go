package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/zivro/zivro/internal/eventually"
)

// heldStore is a Resumer that holds sessions in a map, as the stores do
// (the store conformance suite tests theirs): enough to test the wall.
type heldStore struct {
	mu   sync.Mutex
	held map[string]*heldSession
}

type heldSession struct {
	pidHash string
	frames  []KeptFrame
	next    uint64
}

func (hs *heldStore) hold(id string, h *Held) {
	hs.mu.Lock()
	hs.held[id] = &heldSession{pidHash: h.PIDHash, frames: h.Kept, next: h.Next}
	hs.mu.Unlock()
	h.Release(true)
}

func (hs *heldStore) Resume(_ context.Context, id, pidHash string, after uint64) ([]KeptFrame, uint64, error) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	h, ok := hs.held[id]
	if !ok || h.pidHash != pidHash {
		return nil, 0, ErrNotHeld
	}
	delete(hs.held, id)
	var out []KeptFrame
	for _, f := range h.frames {
		if f.Offset > after {
			out = append(out, f)
		}
	}
	return out, h.next, nil
}

func (hs *heldStore) Keep(_ context.Context, id string, frame []byte) (bool, error) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	h, ok := hs.held[id]
	if !ok {
		return false, nil
	}
	h.frames = append(h.frames, KeptFrame{Offset: h.next, Frame: frame})
	h.next++
	return true, nil
}

func (hs *heldStore) Abandoned(id string, h *Held) {
	if h != nil {
		hs.hold(id, h)
	}
}

func (hs *heldStore) isHeld(id string) bool {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	_, ok := hs.held[id]
	return ok
}

// holdingSession holds its connection's drop in the store, and reports
// how it ended on ended.
type holdingSession struct {
	conn  *Conn
	store *heldStore
	ended chan<- string
}

func (holdingSession) Event(Event) {}

func (s holdingSession) Closed(reason string) {
	if h := s.conn.Held(); h != nil {
		s.store.hold(s.conn.ID(), h)
		s.ended <- "held " + reason
		return
	}
	s.ended <- "closed " + reason
}

type resumeServer struct {
	srv   *Server
	url   string
	store *heldStore
	conns chan *Conn
	ended chan string
}

func newResumeServer(t *testing.T) *resumeServer {
	t.Helper()
	rs := &resumeServer{store: &heldStore{held: map[string]*heldSession{}}, conns: make(chan *Conn, 256), ended: make(chan string, 256)}
	rs.srv = New(t.Context(), Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rs.srv.OnConnect(func(c *Conn) Session {
		rs.conns <- c
		return holdingSession{conn: c, store: rs.store, ended: rs.ended}
	})
	rs.srv.ResumeWith(rs.store)
	hs := httptest.NewServer(rs.srv)
	t.Cleanup(func() { hs.Close(); rs.srv.Close() })
	rs.url = hs.URL
	return rs
}

func (rs *resumeServer) nextEnd(t *testing.T) string {
	t.Helper()
	select {
	case e := <-rs.ended:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no session ended within 5 s")
		return ""
	}
}

// dialConnect opens a websocket session, sends the namespace connect and
// returns the connection and the connect reply's sid and pid.
func dialConnect(t *testing.T, base, connect string) (conn *websocket.Conn, sid, pid string) {
	t.Helper()
	ws := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, _, err := websocket.DefaultDialer.Dial(ws, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if open := rawRead(t, conn); !strings.HasPrefix(open, "0{") {
		t.Fatalf("open packet %q", open)
	}
	rawWrite(t, conn, connect)
	reply := rawRead(t, conn)
	var body struct{ Sid, Pid string }
	if !strings.HasPrefix(reply, "40{") || json.Unmarshal([]byte(reply[2:]), &body) != nil {
		t.Fatalf("connect reply %q", reply)
	}
	return conn, body.Sid, body.Pid
}

func resumeConnect(pid, offset string) string {
	b, _ := json.Marshal(map[string]any{"resume": true, "pid": pid, "offset": offset})
	return "40" + string(b)
}

// A client that does not ask to resume is answered as before: no pid in
// the connect reply, no offset on its events.
func TestClientsThatDoNotOptInGetNoPidNorOffsets(t *testing.T) {
	for _, connect := range []string{`40`, `40{"resume":false}`, `40{"resume":"true"}`, `40{"pid":"x.y","offset":"1"}`} {
		t.Run(connect, func(t *testing.T) {
			rs := newResumeServer(t)
			conn, sid, pid := dialConnect(t, rs.url, connect)
			if pid != "" || sid == "" {
				t.Fatalf("sid %q pid %q, want a sid and no pid", sid, pid)
			}
			c := nextConn(t, rs.conns)
			rs.srv.Send(c.ID(), NewFrame("matched", `{"a":1}`))
			if got := rawRead(t, conn); got != `42["matched",{"a":1}]` {
				t.Fatalf("event %q", got)
			}
			_ = conn.Close()
			if e := rs.nextEnd(t); !strings.HasPrefix(e, "closed ") {
				t.Fatalf("session %s, want closed", e)
			}
		})
	}
}

// A resumable client's drop is held; what is sent meanwhile is kept; its
// reconnect with the pid and the last offset it read gets the same socket
// id and pid, the events it missed in order, exactly once (those written
// to the dropped connection after that offset, then those kept), and the
// offsets go on from there.
func TestResumeDeliversWhatWasMissedInOrderOnce(t *testing.T) {
	rs := newResumeServer(t)
	conn, sid, pid := dialConnect(t, rs.url, `40{"resume":true}`)
	if !strings.HasPrefix(pid, sid+".") || len(pid) < len(sid)+20 {
		t.Fatalf("pid %q for sid %q", pid, sid)
	}
	c := nextConn(t, rs.conns)
	if c.ID() != sid || !c.Resumable() || c.Resumed() {
		t.Fatalf("conn %q resumable %v resumed %v", c.ID(), c.Resumable(), c.Resumed())
	}
	for i := range 3 {
		rs.srv.Send(sid, NewFrame("chat-message", fmt.Sprintf(`{"n":%d}`, i)))
		if got, want := rawRead(t, conn), fmt.Sprintf(`42["chat-message",{"n":%d},"%d"]`, i, i); got != want {
			t.Fatalf("event %q, want %q", got, want)
		}
	}
	rs.srv.Send(sid, NewFrame("partner-left")) // no payload: the offset is its only argument
	if got := rawRead(t, conn); got != `42["partner-left","3"]` {
		t.Fatalf("event %q", got)
	}
	_ = conn.Close() // the client read up to offset 1 only: 2 and 3 were lost on the way
	if e := rs.nextEnd(t); e != "held transport close" {
		t.Fatalf("session %q, want held", e)
	}
	rs.srv.Send(sid, NewFrame("chat-message", `{"n":4}`))
	rs.srv.Send(sid, NewFrame("chat-message", `{"n":5}`))

	conn2, sid2, pid2 := dialConnect(t, rs.url, resumeConnect(pid, "1"))
	if sid2 != sid || pid2 != pid {
		t.Fatalf("resumed as %q/%q, want %q/%q", sid2, pid2, sid, pid)
	}
	want := []string{`42["chat-message",{"n":2},"2"]`, `42["partner-left","3"]`, `42["chat-message",{"n":4},"4"]`, `42["chat-message",{"n":5},"5"]`}
	for _, w := range want {
		if got := rawRead(t, conn2); got != w {
			t.Fatalf("replayed %q, want %q", got, w)
		}
	}
	c2 := nextConn(t, rs.conns)
	if c2.ID() != sid || !c2.Resumed() {
		t.Fatalf("resumed conn %q resumed %v", c2.ID(), c2.Resumed())
	}
	rs.srv.Send(sid, NewFrame("chat-message", `{"n":6}`))
	if got := rawRead(t, conn2); got != `42["chat-message",{"n":6},"6"]` {
		t.Fatalf("after the resume %q", got)
	}
	if rs.store.isHeld(sid) {
		t.Fatal("the session is still held after its resume")
	}
}

// A reconnect whose pid is not the held session's, or names nobody, gets
// a new session (another socket id, another pid), and the held session
// is left for its owner.
func TestResumeWithAnotherPidStartsANewSession(t *testing.T) {
	rs := newResumeServer(t)
	conn, sid, pid := dialConnect(t, rs.url, `40{"resume":true}`)
	nextConn(t, rs.conns)
	_ = conn.Close()
	rs.nextEnd(t)
	for _, bad := range []string{sid + ".guessed", "nobody.x", "", "no-dot", strings.Repeat("a", 200) + ".x"} {
		_, sid2, pid2 := dialConnect(t, rs.url, resumeConnect(bad, "0"))
		nextConn(t, rs.conns)
		if sid2 == sid || pid2 == pid || pid2 == "" {
			t.Fatalf("pid %q: got %q/%q", bad, sid2, pid2)
		}
	}
	if !rs.store.isHeld(sid) {
		t.Fatal("a wrong pid took the held session")
	}
	_, sid3, _ := dialConnect(t, rs.url, resumeConnect(pid, "0"))
	if sid3 != sid {
		t.Fatalf("the owner's resume got %q, want %q", sid3, sid)
	}
}

// A client that is back before its old connection was seen to drop (it
// noticed first) takes the session over: the old connection is closed and
// held, then claimed by the new one.
func TestResumeTakesOverAConnectionStillOpen(t *testing.T) {
	rs := newResumeServer(t)
	old, sid, pid := dialConnect(t, rs.url, `40{"resume":true}`)
	nextConn(t, rs.conns)
	rs.srv.Send(sid, NewFrame("chat-message", `{"n":0}`))
	rawRead(t, old)
	conn, sid2, _ := dialConnect(t, rs.url, resumeConnect(pid, "0"))
	if sid2 != sid {
		t.Fatalf("took over as %q, want %q", sid2, sid)
	}
	if e := rs.nextEnd(t); !strings.HasPrefix(e, "held ") {
		t.Fatalf("old session %q, want held", e)
	}
	nextConn(t, rs.conns)
	rs.srv.Send(sid, NewFrame("chat-message", `{"n":1}`))
	if got := rawRead(t, conn); got != `42["chat-message",{"n":1},"1"]` {
		t.Fatalf("after the takeover %q", got)
	}
}

// A goodbye (the client's namespace disconnect) and the server's own Drop
// end a resumable session: nothing is held.
func TestGoodbyesAndDropsAreNotHeld(t *testing.T) {
	tests := []struct {
		name  string
		close func(conn *websocket.Conn, c *Conn)
		want  string
	}{
		{"namespace disconnect", func(conn *websocket.Conn, _ *Conn) { rawWrite(t, conn, "41") }, "closed client namespace disconnect"},
		{"namespace disconnect, then the connection closed at once", func(conn *websocket.Conn, _ *Conn) {
			rawWrite(t, conn, "41")
			_ = conn.Close()
		}, "closed client namespace disconnect"},
		{"server drop", func(_ *websocket.Conn, c *Conn) { c.Drop() }, "closed forced close"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := newResumeServer(t)
			conn, sid, _ := dialConnect(t, rs.url, `40{"resume":true}`)
			tc.close(conn, nextConn(t, rs.conns))
			if e := rs.nextEnd(t); e != tc.want {
				t.Fatalf("session %q, want %q", e, tc.want)
			}
			if rs.store.isHeld(sid) {
				t.Fatal("held")
			}
		})
	}
}

// At shutdown the resumable sessions are handed over: closed and held,
// and Handover returns once they are.
func TestHandoverHoldsTheResumableSessions(t *testing.T) {
	rs := newResumeServer(t)
	_, sid, _ := dialConnect(t, rs.url, `40{"resume":true}`)
	nextConn(t, rs.conns)
	_, plain, _ := dialConnect(t, rs.url, `40`)
	nextConn(t, rs.conns)
	rs.srv.Drain()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if n := rs.srv.Handover(ctx); n != 1 {
		t.Fatalf("handed over %d, want 1", n)
	}
	if !rs.store.isHeld(sid) || rs.store.isHeld(plain) {
		t.Fatalf("held: resumable %v, plain %v", rs.store.isHeld(sid), rs.store.isHeld(plain))
	}
}

// A resumable connection remembers only its last ringFrames frames and
// ringBytes: a drop holds those, the oldest forgotten first.
func TestHeldFramesAreBounded(t *testing.T) {
	tests := []struct {
		name      string
		sent      int
		payload   string
		wantKept  int
		wantFirst uint64
	}{
		{"by count", ringFrames + 6, `{"n":1}`, ringFrames, 6},
		{"by bytes", 9, `"` + strings.Repeat("x", ringBytes/4) + `"`, 3, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := newResumeServer(t)
			conn, sid, _ := dialConnect(t, rs.url, `40{"resume":true}`)
			nextConn(t, rs.conns)
			for range tc.sent {
				rs.srv.Send(sid, NewFrame("chat-message", tc.payload))
				rawRead(t, conn)
			}
			_ = conn.Close()
			rs.nextEnd(t)
			rs.store.mu.Lock()
			h := rs.store.held[sid]
			rs.store.mu.Unlock()
			if len(h.frames) != tc.wantKept || h.frames[0].Offset != tc.wantFirst || h.next != uint64(tc.sent) {
				t.Fatalf("held %d frames from offset %d, next %d; want %d from %d, next %d", len(h.frames), h.frames[0].Offset, h.next, tc.wantKept, tc.wantFirst, tc.sent)
			}
		})
	}
}

// A resume whose new connection closes at once, before or after the
// library connects it, leaves the session held again, never taken and
// lost.
func TestResumeThatDropsAtOnceIsHeldAgain(t *testing.T) {
	rs := newResumeServer(t)
	conn, sid, pid := dialConnect(t, rs.url, `40{"resume":true}`)
	nextConn(t, rs.conns)
	_ = conn.Close()
	rs.nextEnd(t)
	for i := range 20 {
		ws := "ws" + strings.TrimPrefix(rs.url, "http") + "/socket.io/?EIO=4&transport=websocket"
		c, _, err := websocket.DefaultDialer.Dial(ws, nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		rawRead(t, c)
		rawWrite(t, c, resumeConnect(pid, "0"))
		_ = c.Close()
		eventually.True(t, 5*time.Second, func() (bool, string) {
			return rs.store.isHeld(sid), fmt.Sprintf("round %d: the session is not held again", i)
		})
	}
}
