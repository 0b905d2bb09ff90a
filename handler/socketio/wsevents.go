package socketio

import (
	"github.com/zishang520/engine.io-go-parser/packet"
	eioerrors "github.com/zishang520/engine.io/v2/errors"
	"github.com/zishang520/engine.io/v2/types"
)

// The engine keeps its listeners of a session's transport ("packet",
// "drain", "error", "close", and those of an upgrade's probe) in the
// transport's event emitter. The library's is a sync.Map-like map of
// listener slices: 0.6 kB of every websocket connection for five
// listeners. wsTransport keeps them in listeners (listeners.go) instead:
// the emitter methods below are the engine's way in, and the library
// transport's methods that emit (OnData, OnPacket, OnError, OnClose) are
// replaced by ones that emit there, as the library's do. The library
// transport's own emitter stays empty.
//
// To drop it: with wstransport.go, or once the library's emitter costs a
// listener no more than a slice entry.

func (w *wsTransport) AddListener(evt types.EventName, fns ...types.Listener) error {
	return w.events.AddListener(evt, fns...)
}
func (w *wsTransport) On(evt types.EventName, fns ...types.Listener) error {
	return w.events.On(evt, fns...)
}
func (w *wsTransport) Once(evt types.EventName, fns ...types.Listener) error {
	return w.events.Once(evt, fns...)
}
func (w *wsTransport) Emit(evt types.EventName, args ...any) { w.events.Emit(evt, args...) }
func (w *wsTransport) EventNames() []types.EventName         { return w.events.EventNames() }
func (w *wsTransport) ListenerCount(evt types.EventName) int { return w.events.ListenerCount(evt) }
func (w *wsTransport) Listeners(evt types.EventName) []types.Listener {
	return w.events.Listeners(evt)
}
func (w *wsTransport) RemoveListener(evt types.EventName, fn types.Listener) bool {
	return w.events.RemoveListener(evt, fn)
}
func (w *wsTransport) RemoveAllListeners(evt types.EventName) bool {
	return w.events.RemoveAllListeners(evt)
}
func (w *wsTransport) Clear()                 { w.events.Clear() }
func (w *wsTransport) Len() int               { return w.events.Len() }
func (w *wsTransport) SetMaxListeners(n uint) { w.events.SetMaxListeners(n) }
func (w *wsTransport) GetMaxListeners() uint  { return w.events.GetMaxListeners() }

// OnData decodes an Engine.IO packet, as the library's transport does.
func (w *wsTransport) OnData(data types.BufferInterface) {
	p, _ := w.Parser().DecodePacket(data)
	w.OnPacket(p)
}

func (w *wsTransport) OnPacket(p *packet.Packet) { w.Emit("packet", p) }

// OnError reports a transport error to the engine, when it listens.
func (w *wsTransport) OnError(msg string, desc error) {
	if w.ListenerCount("error") > 0 {
		w.Emit("error", eioerrors.NewTransportError(msg, desc).Err())
	}
}

// OnClose marks the transport closed and tells the engine, once.
func (w *wsTransport) OnClose() {
	if w.ReadyState() == "closed" {
		return
	}
	w.SetReadyState("closed")
	w.Emit("close")
}
