package handler

import (
	"errors"
	"fmt"

	"github.com/zishang520/engine.io/v2/events"
	"github.com/zishang520/socket.io-go-parser/v2/parser"
)

// The library hands every decoded packet to a goroutine of its own, so the
// events of one connection reach the handlers in any order (an ICE candidate
// before its offer, a disconnect before the join that preceded it), and it
// type-asserts an event's arguments without checking them (the two bytes
// `42` would panic the whole process). Its decoding, though, runs in order on
// the connection's reader: wrapping the parser there restores both.

// Parser returns the Socket.IO parser this server uses: the library's,
// with malformed packets refused (the sender's connection is closed, nothing
// else happens) and every event stamped with its place in the connection's
// stream, which the handler uses to take events in arrival order.
func Parser() parser.Parser { return orderedParser{Parser: parser.NewParser()} }

type orderedParser struct{ parser.Parser }

func (p orderedParser) NewDecoder() parser.Decoder {
	d := &orderedDecoder{EventEmitter: events.New(), inner: p.Parser.NewDecoder()}
	_ = d.inner.On("decoded", d.decoded)
	return d
}

// seq is the stamp appended to an event's arguments: its 1-based position
// among the events of its connection.
type seq uint64

// orderedDecoder is used by one connection, from its reading goroutine.
type orderedDecoder struct {
	events.EventEmitter // the library listens here for "decoded"
	inner               parser.Decoder
	count               seq   // events stamped so far
	refused             error // set by decoded, returned by Add
}

// Add decodes data; the library closes the connection when it fails.
func (d *orderedDecoder) Add(data any) error {
	err := d.inner.Add(data)
	if err == nil && d.refused != nil {
		err, d.refused = d.refused, nil
	}
	return err
}

func (d *orderedDecoder) Destroy() {
	d.inner.Destroy()
	d.EventEmitter.RemoveAllListeners("decoded")
}

func (d *orderedDecoder) decoded(args ...any) {
	packet, ok := args[0].(*parser.Packet)
	if !ok {
		return
	}
	switch packet.Type {
	case parser.EVENT, parser.BINARY_EVENT:
		data, ok := packet.Data.([]any)
		if !ok || len(data) == 0 {
			d.refused = errors.New("event packet without arguments")
			return
		}
		if _, ok := data[0].(string); !ok {
			d.refused = fmt.Errorf("event name of type %T", data[0])
			return
		}
		d.count++
		packet.Data = append(data, d.count)
	case parser.ACK, parser.BINARY_ACK:
		if _, ok := packet.Data.([]any); !ok {
			d.refused = errors.New("ack packet without arguments")
			return
		}
	}
	d.Emit("decoded", packet)
}

// takeSeq removes the stamp from an event's arguments (the last one, or the
// one before the ack the library appends).
func takeSeq(args []any) (seq, []any, bool) {
	for i := len(args) - 1; i >= 0 && i >= len(args)-2; i-- {
		if n, ok := args[i].(seq); ok {
			return n, append(args[:i:i], args[i+1:]...), true
		}
	}
	return 0, args, false
}
