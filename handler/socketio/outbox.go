package socketio

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zishang520/engine.io-go-parser/packet"
	"github.com/zishang520/engine.io/v2/engine"
	"github.com/zishang520/engine.io/v2/types"
	"github.com/zishang520/socket.io/v2/socket"
)

// The library keeps every packet sent to a client in the connection's write
// buffer until the transport takes it, and a transport takes the next batch
// only when the client has read the last one: a client that never reads
// kept everything sent to it (a partner's 500 signals/s of 32 KB piled up at
// 21 MB/s). And a pong that answers no ping clears the heartbeat's timeout
// and postpones the next ping, so such a client, sending "3" now and then,
// was never dropped. The outbox watches the connection's packets through
// the library's events and closes it when its client falls behind or pongs
// unasked.
//
// And the write buffer, emptied by each flush, keeps what it held: it is
// resliced to length zero, and its array still points at the packets it
// handed to the transport until later packets take their slots. An idle
// connection kept the last frames sent to it (its connect reply, or a
// partner's 32 kB offer), and one that once fell behind kept its whole
// backlog. After each flush the outbox clears the slots past the buffer's
// length, and lets an array of more than a few slots go while the buffer
// is empty (releaseFlushed; the buffer is found by reflection, checked
// for its type; a library without it keeps the packets, which costs only
// memory).
//
// To drop it: once the library bounds its write buffer, ignores
// unsolicited pongs and lets flushed packets go, keep only the limits'
// configuration (Options.MaxBacklog); TestFlushedPacketsAreLetGo shows
// whether it lets them go.

// outboxLimits bound what the server holds for one client.
type outboxLimits struct {
	// MaxBytes caps the bytes waiting in a connection's write buffer.
	MaxBytes int64
	// MaxWait is how long the write buffer may stay without being taken by
	// the transport (the ping timeout: a client that reads nothing for that
	// long is as good as gone).
	MaxWait time.Duration
}

// watchOutboxes bounds every new connection's write buffer and heartbeat by
// limits, and logs each connection it closes. Like openReadGates, it must
// be called after io's engine exists (io.ServeHandler).
func watchOutboxes(io *socket.Server, limits outboxLimits, log *slog.Logger) {
	_ = io.Engine().On("connection", func(args ...any) {
		conn, ok := args[0].(engine.Socket)
		if !ok {
			return
		}
		watchOutbox(conn, limits, func(reason string) {
			log.Warn("connection closed", "sid", conn.Id(), "reason", reason)
		})
	})
}

// unaskedPong is why a connection that pongs unasked is closed.
const unaskedPong = "pong that answers no ping"

// dropConn closes conn at once, discarded (a transport stuck in a write
// to a client that does not read is closed at once, not after the
// write), and logs why.
func dropConn(conn engine.Socket, log *slog.Logger, reason string) {
	go conn.Close(true)
	log.Warn("connection closed", "sid", conn.Id(), "reason", reason)
}

// outbox follows one connection's write buffer: packets in when they are
// created, out when a flush hands them to the transport.
type outbox struct {
	limits outboxLimits
	now    func() time.Time
	// closeConn closes the connection, once, for the reason given.
	closeConn func(reason string)

	mu      sync.Mutex
	packets int   // in the write buffer
	bytes   int64 // of those packets' data
	since   time.Time
	closing bool

	// pinged: a ping was sent and its pong has not come yet.
	pinged atomic.Bool
}

// watchOutbox bounds conn's write buffer and heartbeat by limits; closeConn
// is called once, with the reason, on the first breach (after the
// connection was closed with its transport dropped).
func watchOutbox(conn engine.Socket, limits outboxLimits, closeConn func(reason string)) {
	o := &outbox{limits: limits, now: time.Now}
	o.closeConn = func(reason string) {
		// Discarded: a transport stuck in a write to a client that does
		// not read is closed at once, not after the write.
		go conn.Close(true)
		closeConn(reason)
	}
	_ = conn.On("packetCreate", func(args ...any) {
		if p, ok := args[0].(*packet.Packet); ok {
			o.created(p)
		}
	})
	buffer, _ := writeBufferOf(conn)
	_ = conn.On("flush", func(args ...any) {
		if batch, ok := args[0].([]*packet.Packet); ok {
			o.flushed(batch)
		}
		if buffer != nil {
			// The batch is the buffer's copy: the transport still has it.
			releaseFlushed(buffer)
		}
	})
	if w, ok := conn.Transport().(*wsTransport); conn.Protocol() >= 4 && (!ok || w.beat.Load() == nil) {
		// In protocol 3 the client pings and the library refuses pongs;
		// the wall's heartbeat, set up before this (watchHeartbeats),
		// takes its own pongs.
		_ = conn.On("packet", func(args ...any) {
			if p, ok := args[0].(*packet.Packet); ok {
				o.received(p)
			}
		})
	}
}

// size is the length of a packet's data; every packet the server sends
// carries a buffer, or nothing.
func size(p *packet.Packet) int64 {
	if b, ok := p.Data.(interface{ Len() int }); ok {
		return int64(b.Len())
	}
	return 0
}

// created counts a packet entering the write buffer, and closes the
// connection when the buffer is over its limits.
func (o *outbox) created(p *packet.Packet) {
	if p.Type == packet.PING {
		o.pinged.Store(true)
	}
	n := size(p)
	now := o.now()
	o.mu.Lock()
	if o.packets == 0 {
		o.since = now
	}
	o.packets++
	o.bytes += n
	reason := ""
	switch {
	case o.closing:
	case o.bytes > o.limits.MaxBytes:
		reason = "write backlog over its size limit"
	case now.Sub(o.since) > o.limits.MaxWait:
		reason = "write backlog not drained within the ping timeout"
	}
	if reason != "" {
		o.closing = true
	}
	o.mu.Unlock()
	if reason != "" {
		o.closeConn(reason)
	}
}

// flushed takes the packets of a batch handed to the transport out of the
// count.
func (o *outbox) flushed(batch []*packet.Packet) {
	o.mu.Lock()
	for _, p := range batch {
		o.packets--
		o.bytes -= size(p)
	}
	// A packet is counted just before it enters the buffer: a flush in
	// between may take the buffer without it. The count never goes below
	// empty.
	if o.packets <= 0 || o.bytes < 0 {
		o.packets, o.bytes = max(o.packets, 0), max(o.bytes, 0)
	}
	if o.packets > 0 {
		// What is left has waited since this flush at most.
		o.since = o.now()
	}
	o.mu.Unlock()
}

// received closes the connection on a pong that answers no ping.
func (o *outbox) received(p *packet.Packet) {
	if p.Type != packet.PONG || o.pinged.Swap(false) {
		return
	}
	o.mu.Lock()
	closing := o.closing
	o.closing = true
	o.mu.Unlock()
	if !closing {
		o.closeConn(unaskedPong)
	}
}

// writeBuffer is how the library's socket holds the packets waiting for
// the transport.
type writeBuffer = types.Slice[*packet.Packet]

// writeBufferOf is the engine socket's write buffer; ok is false when the
// socket has no such field.
func writeBufferOf(conn engine.Socket) (buffer *writeBuffer, ok bool) {
	field, ok := fieldOf[*writeBuffer](conn, "writeBuffer")
	if !ok {
		return nil, false
	}
	return *field, true
}

// keptSlots is the largest array an empty write buffer keeps for the
// next packets.
const keptSlots = 8

// releaseFlushed lets go of the packets a flush handed to the transport:
// the slots past the buffer's length (packets pushed since the flush are
// within it, and stay).
func releaseFlushed(buffer *writeBuffer) {
	buffer.DoWrite(func(waiting []*packet.Packet) []*packet.Packet {
		if len(waiting) == 0 && cap(waiting) > keptSlots {
			return nil
		}
		clear(waiting[len(waiting):cap(waiting)])
		return waiting
	})
}
