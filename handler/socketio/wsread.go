package socketio

import (
	"errors"
	"io"

	"github.com/gorilla/websocket"
	"github.com/zishang520/engine.io-go-parser/packet"
	eioparser "github.com/zishang520/engine.io-go-parser/parser"
	"github.com/zishang520/engine.io/v2/types"
)

// How the wall's websocket transport hands a message to the engine. The
// library reads a message into a buffer grown from empty (512 bytes, then
// twice that and a copy, for a relayed signal of 300), and its parser
// copies a text packet's data once more into a second buffer grown the
// same way: four allocations and 3 kB a message, a tenth of the relay's
// allocations. readFrame reads a message into one slice of its size, and
// onMessage makes a text packet with its data in that slice (what the
// parser makes, without the copy); what the parser alone knows (a binary
// packet in base64, an unknown type, an old protocol) still goes through
// it.

// readFrame reads the rest of r, the message gorilla is reading, into a
// slice of its exact size, through a scratch buffer from framePool (the
// batches' pool: both are let go at once). Gorilla's read limit bounds
// the message.
func readFrame(r io.Reader) ([]byte, error) {
	sp := framePool.Get().(*[]byte)
	buf := (*sp)[:0]
	var err error
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		var n int
		n, err = r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			break
		}
	}
	var frame []byte
	if errors.Is(err, io.EOF) {
		frame, err = append(make([]byte, 0, len(buf)), buf...), nil
	}
	*sp = buf
	releaseFrame(sp)
	return frame, err
}

// onMessage hands a message to the engine: a text packet of protocol 4
// as the packet the parser would make, sharing frame; anything else
// through the parser (OnData).
func (w *wsTransport) onMessage(mt int, frame []byte) {
	if mt == websocket.TextMessage && len(frame) > 0 && w.Protocol() >= 4 {
		if t, ok := eioparser.PACKET_TYPES_REVERSE[frame[0]]; ok {
			w.OnPacket(&packet.Packet{Type: t, Data: types.NewStringBuffer(frame[1:])})
			return
		}
	}
	if mt == websocket.TextMessage {
		w.OnData(types.NewStringBuffer(frame))
		return
	}
	w.OnData(types.NewBytesBuffer(frame))
}
