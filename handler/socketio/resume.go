package socketio

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"github.com/zishang520/engine.io/v2/types"
	"github.com/zishang520/socket.io-go-parser/v2/parser"
	"github.com/zishang520/socket.io/v2/socket"
)

// Resuming a session: Socket.IO's connection state recovery (4.6+), for the
// clients that opt in with auth {resume: true}. Such a client gets a
// private session id (pid) in its connect reply, 40{"sid":…,"pid":…}, and
// an offset as the last argument of every event; socket.io-client keeps
// both and sends {pid, offset} in the auth of its reconnect's connect. When
// its connection drops without a goodbye, the application holds the
// session for the resume window (Conn.Held, Resumer); a reconnect that
// gives the pid, on any instance, takes it back: the same socket id, the
// events it missed in order, then the rest.
//
// The library's own recovery is not used: it keeps the sessions and the
// packets in one process, stamps only what goes through its Emit (the wall
// writes frames itself, conn.go), and names every socket's pid in its
// connect reply, also to the clients that did not ask. The wall does it
// instead: it claims the session while it decodes the connect (claim), so
// that the connect reply names the session's socket id (connectEncoder),
// and stamps and remembers what it writes to a resumable socket
// (recovery.send). Frames for a socket reach it through the session id
// (Server.conns), not the library's socket id, which differs once resumed.

// KeptFrame is an event frame sent to a resumable socket, without its
// offset (2["name",payload]), and the offset it was given.
type KeptFrame struct {
	Offset uint64
	Frame  []byte
}

// ErrNotHeld is what a Resumer returns (or wraps) when it holds no session
// of that id and pid: not yet (its old connection is still being handed
// over), or not at all.
var ErrNotHeld = errors.New("no held session")

// Resumer holds the sessions of resumable clients whose connection dropped
// (the application's store behind it) and gives them back.
type Resumer interface {
	// Resume takes id's held session when pidHash is its private id's
	// (PIDHash): the frames sent after offset after, in order, and the
	// offset of the next frame. ErrNotHeld when it holds none.
	Resume(ctx context.Context, id, pidHash string, after uint64) (frames []KeptFrame, next uint64, err error)
	// Keep appends frame to id's held session and reports whether id is
	// held: the Server's Send for a socket connected nowhere, when it has
	// no Relay (a Relay keeps for held sockets itself).
	Keep(ctx context.Context, id string, frame []byte) (bool, error)
	// Abandoned hands back a session that Resume took but whose new
	// connection closed before it connected: hold it again, as a drop
	// (Conn.Held), or end it; held is nil when it must end (it was
	// dropped for good meanwhile).
	Abandoned(id string, held *Held)
}

// Held is what a resumable connection that dropped without a goodbye
// leaves (Conn.Held) for the application to hold through the resume
// window. The wall keeps the socket's place until Release: what is sent to
// it meanwhile is added to the held session after Release(true).
type Held struct {
	// PIDHash is the hex SHA-256 of the session's private id.
	PIDHash string
	// Kept are the frames the client may have missed, oldest first; Next
	// is the offset of the next frame.
	Kept []KeptFrame
	Next uint64

	release func(held bool)
	once    sync.Once
}

// Release tells the wall whether the session is now held (Resumer.Keep
// takes what is sent to it from now on): the frames sent to it since the
// drop are kept after the others; when not held, they are dropped. Call it
// once; later calls do nothing.
func (h *Held) Release(held bool) {
	h.once.Do(func() {
		if h.release != nil {
			h.release(held)
		}
	})
}

// PIDHash is the hex SHA-256 of a private session id: the only form in
// which it is stored or compared.
func PIDHash(pid string) string {
	sum := sha256.Sum256([]byte(pid))
	return hex.EncodeToString(sum[:])
}

// A private id is the socket id, a dot and 128 random bits: the id says
// which session to claim (and where its old connection may still be), the
// random part proves the claim. Socket ids never hold a dot.
const pidSeparator = "."

func newPID(id string) string {
	return id + pidSeparator + rand.Text()
}

// Bounds of a pid and an offset a client may send back.
const (
	maxPIDLength    = 128
	maxOffsetLength = 20
)

// sessionOfPID is the socket id a private id names.
func sessionOfPID(pid string) (string, bool) {
	id, secret, ok := strings.Cut(pid, pidSeparator)
	if !ok || id == "" || secret == "" || len(pid) > maxPIDLength {
		return "", false
	}
	return id, true
}

// What a resumable connection keeps of what it sent, for a reconnect whose
// client missed the end of it (written to a connection that had died):
// frames beyond these bounds are forgotten, oldest first, and a client
// whose offset is older than what is left is not recovered (the store
// says so: ErrResumeGap), never given a stream with a hole.
const (
	ringFrames = 64
	ringBytes  = 64 << 10
	// maxLate bounds the frames that wait for a resuming or dropping
	// socket (the few milliseconds of a claim or a hold); past it the
	// session is not held.
	maxLate = 256
)

// DefaultResumeWait is Options.ResumeWait's default: a handover of the old
// connection (a message to its instance, its close, one store write) takes
// milliseconds; an instance that does not answer in 2 s is gone, and its
// session with it.
const DefaultResumeWait = 2 * time.Second

type recoveryState uint8

const (
	// probing: a claim is under way, not proven yet; frames relayed from
	// other instances wait, this instance's own go their usual way.
	probing recoveryState = iota
	// resuming: claimed; everything sent waits for the connect.
	resuming
	// live: connected; frames are stamped, remembered and written.
	live
	// dropping: dropped, held by the application; frames wait for Release.
	dropping
	// gone: nothing reaches this socket here any more.
	gone
)

// recovery is the resumable part of one session on this instance.
type recovery struct {
	srv *Server
	// entry is the session's place in Server.conns, once it has one.
	entry *liveConn

	mu      sync.Mutex
	state   recoveryState
	id      string // the session's socket id; "" until the connect reply names it
	pid     string
	pidHash string
	resumed bool
	sock    *socket.Socket // set when live
	next    uint64         // the next frame's offset
	ring    []KeptFrame
	ringLen int // bytes in ring
	replay  []KeptFrame
	late    [][]byte
	// lateLost: more frames waited than maxLate: the session can't be
	// held without a hole.
	lateLost bool
	// holdClose: the server closes the connection to hand it over
	// (Handover, a takeover): hold it whatever the close's reason.
	// noHold: Drop closed it (abuse): never hold it.
	holdClose, noHold bool
}

// stamp is frame with offset off as its last argument.
func stamp(frame []byte, off uint64) []byte {
	b := make([]byte, 0, len(frame)+24)
	b = append(b, frame[:len(frame)-1]...)
	if frame[len(frame)-2] != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = strconv.AppendUint(b, off, 10)
	return append(b, '"', ']')
}

// remember adds a written frame to the ring, within its bounds.
func (r *recovery) remember(f KeptFrame) {
	r.ring = append(r.ring, f)
	r.ringLen += len(f.Frame)
	for len(r.ring) > ringFrames || r.ringLen > ringBytes {
		r.ringLen -= len(r.ring[0].Frame)
		r.ring[0] = KeptFrame{}
		r.ring = r.ring[1:]
	}
}

// writeLive stamps, remembers and writes frame. Called with r.mu held.
func (r *recovery) writeLive(frame []byte) {
	off := r.next
	r.next++
	r.remember(KeptFrame{Offset: off, Frame: frame})
	write(r.sock, stamp(frame, off))
}

// send handles a frame for this session, relayed from another instance or
// not; false when it is not taken here (the caller sends it on as to a
// socket connected elsewhere).
func (r *recovery) send(frame []byte, relayed bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.state {
	case live:
		r.writeLive(frame)
	case probing:
		if !relayed {
			return false
		}
		r.wait(frame)
	case resuming, dropping:
		r.wait(frame)
	default:
		return false
	}
	return true
}

// wait keeps a frame until the socket connects or is held.
func (r *recovery) wait(frame []byte) {
	if len(r.late) >= maxLate {
		r.lateLost = true
		return
	}
	r.late = append(r.late, frame)
}

// connected makes a claimed or new session live on sock: a resumed one
// gets its missed frames, then what waited.
func (r *recovery) connected(sock *socket.Socket) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != resuming && (r.state != live || r.sock != nil) {
		return false // abandoned meanwhile
	}
	r.sock = sock
	r.state = live
	for _, f := range r.replay {
		if isControl(f.Frame) {
			continue // a takeover request kept while held: nothing for the client
		}
		r.remember(f)
		write(sock, stamp(f.Frame, f.Offset))
	}
	r.replay = nil
	late := r.late
	r.late = nil
	for _, frame := range late {
		r.writeLive(frame)
	}
	return true
}

// abandon holds again a claimed session whose new connection closed
// before it connected (see Resumer.Abandoned).
func (r *recovery) abandon() {
	r.mu.Lock()
	resumingNow := r.state == resuming
	r.mu.Unlock()
	if !resumingNow {
		return
	}
	held := r.drop("transport close")
	if held == nil {
		// Not to be held (dropped for good meanwhile): its place here
		// goes, and the application ends the session.
		r.srv.forget(r.id, r.entry)
	}
	r.srv.resumerOf().Abandoned(r.id, held)
}

// recoverable are the close reasons that start the resume window: the
// connection failed, the client did not say goodbye.
func recoverable(reason string) bool {
	switch reason {
	case "transport close", "transport error", "ping timeout":
		return true
	}
	return false
}

// drop ends the live connection; it returns what to hold when the session
// is to be held, nil when it ends here.
func (r *recovery) drop(reason string) *Held {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != live && r.state != resuming || r.noHold || !r.holdClose && !recoverable(reason) {
		r.state = gone
		r.late = nil
		return nil
	}
	kept := r.ring
	if r.state == resuming { // dropped before it connected: nothing was written
		kept = r.replay
	}
	r.state, r.ring, r.replay, r.sock = dropping, nil, nil, nil
	return &Held{PIDHash: r.pidHash, Kept: kept, Next: r.next, release: r.release}
}

// release ends a dropped session here: what waited goes to the held
// session (in order, before anything sent after: senders wait on r.mu,
// then find it gone and keep through the store themselves), or nowhere.
func (r *recovery) release(held bool) {
	s := r.srv
	r.mu.Lock()
	late, lost := r.late, r.lateLost
	r.late = nil
	if held && !lost {
		for _, frame := range late {
			s.keepElsewhere(r.id, frame)
		}
	}
	r.state = gone
	r.mu.Unlock()
	s.forget(r.id, r.entry)
}

// ended reports whether nothing of the session is left here.
func (r *recovery) ended() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state == gone
}

// requestClose closes a live connection whose client is back on another
// one (a takeover): it is held, then claimed.
func (r *recovery) requestClose(pidHash string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != live || subtle.ConstantTimeCompare([]byte(r.pidHash), []byte(pidHash)) != 1 {
		return
	}
	r.holdClose = true
	go r.sock.Conn().Close(true)
}

// takeoverPrefix starts the control frame that asks the instance holding
// a socket's live connection to close it for a takeover: never a Socket.IO
// packet (those start with a digit), never written to a client.
const takeoverPrefix = "\x00takeover "

func takeoverFrame(pidHash string) []byte { return []byte(takeoverPrefix + pidHash) }

// isControl reports whether frame is a control frame between instances.
func isControl(frame []byte) bool { return len(frame) > 0 && frame[0] == 0 }

// claim takes the session a resumable client's connect names: the pid and
// offset of its auth. It returns nil when resuming is off, else the
// session's recovery: a claimed one (resumed), or a new one when there is
// nothing to claim (no pid, a pid of nobody, the window lapsed, another
// pid). Runs on the connection's reading goroutine, before the library
// reads the connect, for at most ResumeWait and a store call.
func (s *Server) claim(auth gjson.Result) *recovery {
	if s.resumerOf() == nil {
		return nil
	}
	fresh := &recovery{srv: s, state: live}
	pid := auth.Get("pid")
	if pid.Type != gjson.String {
		return fresh
	}
	id, ok := sessionOfPID(pid.Str)
	if !ok {
		return fresh
	}
	var after uint64
	if off := auth.Get("offset"); off.Exists() {
		n, err := strconv.ParseUint(off.Str, 10, 64)
		if off.Type != gjson.String || len(off.Str) > maxOffsetLength || err != nil {
			return fresh
		}
		after = n
	}
	r := &recovery{srv: s, state: probing, id: id, pid: pid.Str, pidHash: PIDHash(pid.Str)}
	ctx, cancel := context.WithTimeout(s.base, s.resumeWait)
	defer cancel()
	if !s.awaitLocalHandover(ctx, id, r.pidHash) {
		s.log.Info("resume refused", "socket", id, "reason", "socket live here with another pid")
		return fresh
	}
	r.entry = &liveConn{rec: r}
	if _, loaded := s.conns.LoadOrStore(id, r.entry); loaded {
		return fresh // another claim of it is under way
	}
	if s.relay != nil {
		s.relay.Join(id)
	}
	if err := s.takeBack(ctx, r, after); err != nil {
		s.log.Info("session not resumed", "socket", id, "err", err)
		r.mu.Lock()
		r.state, r.late = gone, nil
		r.mu.Unlock()
		s.forget(id, r.entry)
		return fresh
	}
	return r
}

// awaitLocalHandover closes id's live connection on this instance, when
// it is the same session's, and waits until it is held; false when a
// session of another pid has that id here.
func (s *Server) awaitLocalHandover(ctx context.Context, id, pidHash string) bool {
	for {
		v, ok := s.conns.Load(id)
		if !ok {
			return true
		}
		lc := v.(*liveConn)
		if lc.rec == nil {
			return false
		}
		lc.rec.mu.Lock()
		same := subtle.ConstantTimeCompare([]byte(lc.rec.pidHash), []byte(pidHash)) == 1
		lc.rec.mu.Unlock()
		if !same {
			return false
		}
		lc.rec.requestClose(pidHash)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// takeBack claims r's held session from the Resumer, asking the instance
// that may still hold its live connection to hand it over, and retrying
// until it is held or ctx is done.
func (s *Server) takeBack(ctx context.Context, r *recovery, after uint64) error {
	asked := false
	for {
		r.mu.Lock()
		frames, next, err := s.resumerOf().Resume(ctx, r.id, r.pidHash, after)
		if err == nil {
			r.state, r.resumed, r.replay, r.next = resuming, true, frames, next
		}
		r.mu.Unlock()
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrNotHeld) || s.relay == nil {
			return err
		}
		if !asked {
			// Its old connection may still be open on another instance
			// (the client noticed the drop first): ask for it.
			s.relay.Send(r.id, takeoverFrame(r.pidHash))
			asked = true
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// connectEncoder is the library's encoder, except that the connect reply of
// a resumable socket names its session: its socket id (the claimed one
// when resumed, which the library did not make) and its pid.
type connectEncoder struct {
	parser.Encoder
	srv *serverRef
}

// serverRef lets the parser, made before the Server, reach it.
type serverRef struct {
	mu sync.Mutex
	s  *Server
}

func (ref *serverRef) get() *Server {
	ref.mu.Lock()
	defer ref.mu.Unlock()
	return ref.s
}

func (e connectEncoder) Encode(p *parser.Packet) []types.BufferInterface {
	if p.Type == parser.CONNECT && p.Nsp == "/" {
		if s := e.srv.get(); s != nil {
			s.nameSession(p)
		}
	}
	return e.Encoder.Encode(p)
}

// nameSession rewrites the default namespace's connect reply p for a
// resumable socket.
func (s *Server) nameSession(p *parser.Packet) {
	v := reflect.ValueOf(p.Data)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return
	}
	sidField := v.Elem().FieldByName("Sid")
	if !sidField.IsValid() || sidField.Kind() != reflect.String {
		return
	}
	sid := sidField.String()
	sock, ok := s.io.Sockets().Sockets().Load(socket.SocketId(sid))
	if !ok {
		return
	}
	auth, ok := sock.Handshake().Auth.(map[string]any)
	if !ok {
		return
	}
	l, ok := auth[linkKey].(*link)
	if !ok || l.rec == nil {
		return
	}
	r := l.rec
	r.mu.Lock()
	if r.id == "" {
		r.id, r.pid = sid, newPID(sid)
		r.pidHash = PIDHash(r.pid)
	}
	p.Data = map[string]any{"sid": r.id, "pid": r.pid}
	r.mu.Unlock()
}
