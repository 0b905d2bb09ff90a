package socketio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/engine.io-go-parser/packet"
	eioparser "github.com/zishang520/engine.io-go-parser/parser"
	"github.com/zishang520/engine.io/v2/transports"
	"github.com/zishang520/engine.io/v2/types"
)

// The library's websocket transport (engine.io/v2 v2.5.0,
// transports/websocket.go) costs a connection more than it needs:
//   - it reads for the connection's whole life on one goroutine, the one
//     that also runs the application's handling of every message (the
//     namespace connect, a join): its stack grows to 8 kB on the first
//     messages and stays there while the connection idles (10,000
//     goroutines held 52 MB of stack for 5,000 idle connections);
//   - it writes each packet of a batch with its own websocket writer, one
//     system call per packet, after encoding it into a buffer grown from
//     empty (the writes were a third of a relayed message's CPU), and
//     gorilla keeps a 1 kB buffer for those writes for the connection's
//     whole life;
//   - it hears its connection's close and errors through listeners on
//     gorilla's wrapper, an event emitter of its own (1 kB a connection),
//     and keeps the wrapper for the connection's life, with the entry the
//     engine's own removed listener left in its map;
//   - it reads each message into a buffer grown from empty, which its
//     parser copies again into another (wsread.go).
//
// wsTransport is the same transport with those four changed, and nothing
// else: the engine makes it for every websocket (new and upgrades) through
// the library's table of transports, which init below points at it. It
// reads one message at a time as the library does, and at most once a
// second (hopEvery), when gorilla has nothing read ahead, waits for the
// next message outside gorilla: in the server's poller, with no goroutine
// at all (gatedConn.awaitReadable, internal/netwait), and the reading
// starts again on a new goroutine once bytes came; where there is no
// poller, on a new goroutine, a fresh stack, in a plain read of one byte
// (gatedConn.waitReadable; the byte is gorilla's next), 2 kB of stack, not
// the 4 kB gorilla's reader takes, nor the 8 kB the application's handling
// grew. Either way without gorilla's 1 kB read buffer, which a pool lends
// it again once the next message has begun to arrive. It writes a batch as server frames (unmasked, final,
// uncompressed: the library's transport turns per-message deflate off too)
// encoded into one buffer taken from a pool (gorilla's own is dropped), in one write to the
// connection: on the sender's goroutine when the connection takes it all
// at once (a non-blocking write, internal/netwait's WriteNow: nearly
// always, since clients read), else the rest on a goroutine of its own per
// batch, as the library writes every batch (a client that does not read
// blocks that goroutine, never the sender; the outbox bounds what waits
// meanwhile). Its frames go to the connection beside gorilla's own control
// frames (pongs, the close reply), one whole frame at a time either way
// (gatedConn's write lock, held over a rest), so none is cut by another. What differs on
// the wire: nothing, except that a batch being written when the client's
// close frame arrives may follow gorilla's close reply (gorilla would have
// refused it; a client discards frames after a close).
//
// For the wall's heartbeat of a session that opened on it
// (wsheartbeat.go), it also writes the pings, a frame each (after the
// batch being written, if any), and hands the pongs it reads to the
// heartbeat instead of the library.
//
// To drop it: once the library's websocket transport writes a batch in one
// write and reads without keeping the grown stack of an idle connection
// (make bench: idle kB/conn and the relay's server CPU per message), remove
// this file; its tests (TestWebsocketTransport...) then test the library's.

func init() {
	// The table is the library's, read when a websocket is served: set
	// once, before any server exists.
	transports.Transports()[transports.WEBSOCKET] = wsTransportCtor{}
}

// wsTransportCtor makes wsTransports, as the library's WebSocketBuilder
// makes its own.
type wsTransportCtor struct{}

func (wsTransportCtor) New(ctx *types.HttpContext) transports.Transport {
	return newWSTransport(ctx)
}
func (wsTransportCtor) Name() string                   { return transports.WEBSOCKET }
func (wsTransportCtor) HandlesUpgrades() bool          { return true }
func (wsTransportCtor) UpgradesTo() *types.Set[string] { return types.NewSet[string]() }

// wsTransport is an Engine.IO websocket transport (see above).
type wsTransport struct {
	transports.Transport
	// ws is gorilla's connection, not the library's wrapper around it (an
	// event emitter of its own, whose map keeps the entry of the
	// listener the engine removed: let go with the wrapper).
	ws *websocket.Conn
	// hopped is when the reading last moved to a new goroutine; only the
	// reading goroutine of the moment touches it.
	hopped time.Time
	// idle and br, when found, let read wait for a message before
	// gorilla reads it: the connection gorilla reads from, and gorilla's
	// field that holds its read buffer (what it has read ahead of the
	// message it returned). Only the reading goroutine of the moment
	// touches the field, as only it reads through gorilla.
	idle readWaiter
	br   **bufio.Reader
	// brMu orders the field's changes with holdsReadBuffer.
	brMu sync.Mutex
	// closeOnce: the transport hears its connection's close once, from a
	// failed read or from DoClose, whichever comes first. (The library's
	// transport listens for it on gorilla's wrapper, an event emitter of
	// its own: two listeners were 1 kB of every connection.)
	closeOnce sync.Once
	// beat is the session's heartbeat when the wall runs it
	// (wsheartbeat.go): pongs go to it, not to the library.
	beat atomic.Pointer[wsHeartbeat]
	// events holds the engine's listeners of the transport (wsevents.go).
	events listeners
}

func newWSTransport(ctx *types.HttpContext) *wsTransport {
	w := &wsTransport{Transport: transports.MakeTransport()}
	if ctx.Websocket != nil {
		w.ws = ctx.Websocket.Conn
	}
	dropWriteBuffer(w.ws) // before any write: this transport writes its own frames
	if w.ws != nil {
		w.idle, _ = w.ws.UnderlyingConn().(readWaiter)
		w.br = readBufferOf(w.ws)
	}
	w.Prototype(w)
	w.Transport.Construct(ctx)
	go w.read()
	w.SetWritable(true)
	w.SetPerMessageDeflate(nil)
	return w
}

// dropWriteBuffer lets go of the buffer gorilla builds its frames in
// (the library's upgrader gives every connection one of 1 kB for its
// whole life): wsTransport writes its frames itself, and gorilla's
// control frames (pongs, the close reply) are built apart. Gorilla takes
// a buffer from gorillaWritePool instead, should a message ever be
// written through it, and gives it back after the message, as with its
// own Upgrader.WriteBufferPool. The fields are found by reflection and
// checked for their types; a gorilla without them keeps its buffer, which
// costs only memory. It reports whether the buffer was dropped.
func dropWriteBuffer(c *websocket.Conn) bool {
	if c == nil {
		return false
	}
	buf, hasBuf := fieldOf[[]byte](c, "writeBuf")
	pool, hasPool := fieldOf[websocket.BufferPool](c, "writePool")
	if !hasBuf || !hasPool {
		return false
	}
	*pool = &gorillaWritePool
	*buf = nil
	return true
}

// holdsReadBuffer reports whether gorilla holds a read buffer now.
func (w *wsTransport) holdsReadBuffer() bool {
	if w.br == nil {
		return true
	}
	w.brMu.Lock()
	defer w.brMu.Unlock()
	return *w.br != nil
}

// readWaiter is a connection that can wait for its next byte before
// gorilla reads (gatedConn): with no goroutine (awaitReadable, when
// canAwait), or in a read.
type readWaiter interface {
	canAwait() bool
	awaitReadable(resume func()) bool
	waitReadable()
}

// readBufferOf is gorilla's field that holds c's read buffer, found by
// reflection and checked for its type; nil when gorilla keeps it
// elsewhere (then the reading waits inside gorilla, with its buffer, on a
// larger stack).
func readBufferOf(c *websocket.Conn) **bufio.Reader {
	br, _ := fieldOf[*bufio.Reader](c, "br")
	return br
}

// readBufferPool lends gorilla a read buffer while a connection reads (the
// size of the library's upgrader's).
var readBufferPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 1024) }}

// gorillaWritePool lends gorilla a write buffer for one message (see
// dropWriteBuffer).
var gorillaWritePool sync.Pool

func (w *wsTransport) Name() string          { return transports.WEBSOCKET }
func (w *wsTransport) HandlesUpgrades() bool { return true }

// hopEvery is how often at most the reading moves to a new goroutine. A
// connection that goes quiet right after a hop keeps its grown stack
// until its next message, a pong within the ping interval at the latest.
const hopEvery = time.Second

// read waits for the next message outside gorilla (waitForMessage), then
// reads messages until the connection fails or closes, or the reading
// moves on (see hopEvery).
func (w *wsTransport) read() {
	if w.waitForMessage() {
		w.readMessages()
	}
}

// waitForMessage waits for the next message, when gorilla has nothing read
// ahead, outside gorilla and without gorilla's read buffer (lent again
// once a byte came): with no goroutine when the connection can be watched
// (it returns false, and resume goes on reading later), else on this
// goroutine, in a one-byte read a few frames deep. It returns true when
// the reading goes on here.
func (w *wsTransport) waitForMessage() bool {
	if w.idle == nil || w.br == nil || (*w.br).Buffered() > 0 {
		return true
	}
	w.brMu.Lock()
	readBufferPool.Put(*w.br)
	*w.br = nil
	w.brMu.Unlock()
	if w.idle.awaitReadable(w.resume) {
		return false
	}
	w.idle.waitReadable()
	w.lendReadBuffer()
	return true
}

// resume goes on reading once a watched connection has bytes (it runs on
// the poller's goroutine: it must not block).
func (w *wsTransport) resume() {
	go func() {
		w.lendReadBuffer()
		w.readMessages()
	}()
}

// lendReadBuffer gives gorilla a read buffer again.
func (w *wsTransport) lendReadBuffer() {
	br := readBufferPool.Get().(*bufio.Reader)
	br.Reset(w.ws.UnderlyingConn())
	w.brMu.Lock()
	*w.br = br
	w.brMu.Unlock()
}

// readMessages reads and handles messages; after one of them, at most once
// per hopEvery, it waits for the next one without a goroutine, or moves
// on to a new goroutine. It returns for good when the connection fails or
// closes.
func (w *wsTransport) readMessages() {
	for {
		mt, r, err := w.ws.NextReader()
		if err != nil {
			w.failed(err)
			return
		}
		if mt != websocket.TextMessage && mt != websocket.BinaryMessage {
			continue // control frames are gorilla's; NextReader returns none
		}
		frame, err := readFrame(r)
		if err != nil {
			w.failed(err)
			return
		}
		if beat := w.beat.Load(); beat != nil && isPong(mt, frame) {
			beat.ponged()
		} else {
			w.onMessage(mt, frame)
		}
		// The next message is waited for without this goroutine, or on
		// a fresh one (this stack has grown with whatever handling the
		// message took), at most once per hopEvery: a busy connection
		// should not pay for a wait's system call, or a new stack grown
		// again, on every message.
		if now := time.Now(); now.Sub(w.hopped) >= hopEvery {
			w.hopped = now
			if w.idle != nil && w.br != nil && w.idle.canAwait() {
				if !w.waitForMessage() {
					return
				}
				continue
			}
			go w.read()
			return
		}
	}
}

// failed reports a read or write error as the library's transport does:
// a closed connection closes the transport, anything else is an error.
func (w *wsTransport) failed(err error) {
	// Without expected codes, any close frame is "unexpected": closed.
	if websocket.IsUnexpectedCloseError(err) || errors.Is(err, net.ErrClosed) {
		w.closed()
		return
	}
	w.OnError("websocket error", err)
}

// isPong reports whether a message is an Engine.IO pong: a text message
// whose type digit is 3, whatever follows (the library's parser ignores
// it too).
func isPong(mt int, frame []byte) bool {
	return mt == websocket.TextMessage && len(frame) > 0 && frame[0] == pongType
}

// pongType is the digit of an Engine.IO pong.
var pongType = eioparser.PACKET_TYPES[packet.PONG]

// closed tells the transport, once, that its connection closed, and ends
// the wall's heartbeat if it runs one. The heartbeat is read after the
// close: one put in place meanwhile (takeOverHeartbeat) is either seen
// here, or finds the session closed itself.
func (w *wsTransport) closed() {
	w.closeOnce.Do(func() {
		w.OnClose()
		if beat := w.beat.Load(); beat != nil {
			beat.stop()
		}
	})
}

// pingFrame is an Engine.IO ping as a websocket frame.
var pingFrame = appendFrame(nil, true, []byte{eioparser.PACKET_TYPES[packet.PING]})

// ping writes a ping frame for the wall's heartbeat, after the batch
// being written if any (every batch and every ping is one write, and the
// connection's writes do not interleave: gatedConn's write lock); it
// waits while the client does not read.
func (w *wsTransport) ping() {
	if _, err := w.ws.UnderlyingConn().Write(pingFrame); err != nil {
		w.failed(err)
	}
}

// Send writes packets. When the connection takes the whole batch at once
// (its client reads: nearly always), on the caller's goroutine, and the
// transport is writable again when Send returns; otherwise (another write
// under way, a client that does not read, no poller), the rest on a
// goroutine of its own, and the transport is not writable until it is
// written. Either way the caller never waits for the client.
//
// Send runs inside the engine's flush, which holds the engine's flush
// lock: written at once, it says so with "drain" but not "ready" (the
// engine's "ready" listener flushes, and would wait for that lock). A
// packet the engine buffered meanwhile has its own flush waiting for the
// lock, which finds the transport writable.
func (w *wsTransport) Send(packets []*packet.Packet) {
	w.SetWritable(false)
	bp := framePool.Get().(*[]byte)
	buf, encodeErr := w.encode((*bp)[:0], packets)
	*bp = buf
	if encodeErr == nil && len(buf) > 0 {
		if fw, ok := w.idle.(frameWriter); ok {
			if n, started := fw.startWrite(buf); started {
				if n == len(buf) {
					releaseFrame(bp)
					w.Emit("drain")
					w.SetWritable(true)
					return
				}
				go w.sent(bp, func() error {
					_, err := fw.finishWrite(buf[n:])
					return err
				})
				return
			}
		}
	}
	go w.sent(bp, func() error {
		if encodeErr != nil || len(buf) == 0 {
			return encodeErr
		}
		_, err := w.ws.UnderlyingConn().Write(buf)
		return err
	})
}

// frameWriter is a connection that writes a frame without waiting when
// it can (gatedConn).
type frameWriter interface {
	startWrite(p []byte) (n int, started bool)
	finishWrite(rest []byte) (int, error)
}

// framePool holds the buffers batches are encoded into, and messages read
// into (readFrame).
var framePool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledFrame bounds the buffers kept in framePool: a batch of full
// size signals is not kept for the next one.
const maxPooledFrame = 64 << 10

// sent finishes a batch's write (write, which may wait), on the goroutine
// Send started, and tells the engine: "drain", writable, "ready" (its
// flush of what it buffered meanwhile).
func (w *wsTransport) sent(bp *[]byte, write func() error) {
	err := write()
	releaseFrame(bp)
	if err != nil {
		w.failed(err)
	}
	w.Emit("drain")
	w.SetWritable(true)
	w.Emit("ready")
}

// releaseFrame returns a batch's buffer to framePool, unless it grew too
// large to keep.
func releaseFrame(bp *[]byte) {
	if cap(*bp) <= maxPooledFrame {
		*bp = (*bp)[:0]
		framePool.Put(bp)
	}
}

// encode appends the frames of packets to buf.
func (w *wsTransport) encode(buf []byte, packets []*packet.Packet) ([]byte, error) {
	for _, p := range packets {
		if p.Options != nil && p.Options.WsPreEncodedFrame != nil {
			_, text := p.Options.WsPreEncodedFrame.(*types.StringBuffer)
			buf = appendFrame(buf, text, p.Options.WsPreEncodedFrame.Bytes())
			continue
		}
		if sb, ok := p.Data.(*types.StringBuffer); ok {
			// What the parser makes of a string: its type's digit, then
			// the string; without the parser's copy.
			buf = appendFrameHeader(buf, true, 1+sb.Len())
			buf = append(buf, eioparser.PACKET_TYPES[p.Type])
			buf = append(buf, sb.Bytes()...)
			continue
		}
		data, err := w.Parser().EncodePacket(p, w.SupportsBinary())
		if err != nil {
			return buf, err
		}
		_, text := data.(*types.StringBuffer)
		buf = appendFrame(buf, text, data.Bytes())
	}
	return buf, nil
}

// appendFrame appends a final, unmasked websocket frame of payload.
func appendFrame(buf []byte, text bool, payload []byte) []byte {
	return append(appendFrameHeader(buf, text, len(payload)), payload...)
}

// appendFrameHeader appends the header of a final, unmasked websocket
// frame of n bytes, text or binary (RFC 6455, 5.2).
func appendFrameHeader(buf []byte, text bool, n int) []byte {
	op := byte(websocket.BinaryMessage)
	if text {
		op = byte(websocket.TextMessage)
	}
	buf = append(buf, 0x80|op)
	switch {
	case n < 126:
		return append(buf, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(buf, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(buf, 127), uint64(n))
	}
}

// DoClose closes the connection, as the library's transport does.
func (w *wsTransport) DoClose(fn types.Callable) {
	defer func() {
		_ = w.ws.Close()
		w.closed()
	}()
	if fn != nil {
		fn()
	}
}
