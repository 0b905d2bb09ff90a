package socketio

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	"github.com/zishang520/engine.io/v2/types"
	"github.com/zishang520/socket.io-go-parser/v2/parser"
)

// The library hands every decoded event to a goroutine of its own, so the
// events of one connection reach the handlers in any order (an ICE candidate
// before its offer, a disconnect before the join that preceded it); it
// decodes arguments into maps that a relay must encode again; it
// type-asserts an event's arguments without checking them (the two bytes
// `42` would panic the whole process); and it closes a client whose event
// arrives before it has finished the namespace connect. Its decoding, though,
// runs in order on the connection's reader. So the parser below takes the
// events of the default namespace there, as JSON that is checked but not
// decoded into values (gjson), and hands them to the handler in order on that
// same goroutine; the library only sees the connect, the disconnect and acks.
// The goroutine per event, the event emitter and the decode-then-encode of
// every relayed payload were most of a relay's cost.
//
// To drop it: once the library hands one connection's events to its
// listeners in order, from one goroutine, checks their arguments before
// asserting their types, and keeps an event sent right after the connect,
// the server can install the library's parser (no SetParser in New) and
// listen with Socket.On; the hidden link in the auth payload (linkKey) goes
// with it, and Conn.Auth reads the library's handshake auth instead. Its cost (a goroutine and a decode into maps per event, an
// encode per relay) would then have to be measured again with make bench.

// Event is one client event of the default namespace.
type Event struct {
	Name string
	Args []gjson.Result // the arguments after the name, as the client sent them
	// AckID is the id of the acknowledgement the client asked for, if WantsAck.
	AckID    uint64
	WantsAck bool
	// Refused, when not "", is why the event can't be handled (nested
	// too deeply); the application refuses it with that reason.
	Refused string
}

// maxEarlyEvents bounds the events a client may send before the server has
// finished connecting it to the namespace (they wait for the handler).
const maxEarlyEvents = 64

// linkKey is where the decoder leaves the connection's link in the
// namespace connect's auth payload, for the server to pick up: the
// library's auth holds the link alone, the client's own object travels in
// the link (Conn.Auth).
const linkKey = "\x00zivro.link"

// link hands one connection's events from its decoder to the handler. Events
// that arrive before the handler has attached wait, in order, and are handed
// over by attach.
type link struct {
	// auth is the auth object of the client's namespace connect, as JSON;
	// set by the decoder before the library sees the connect, read after.
	auth []byte
	// rec is the session's recovery when the client asked to resume
	// (auth {resume: true}) and resuming is on; set by claimed, under mu,
	// before the library sees the connect.
	rec *recovery

	mu      sync.Mutex
	take    func(Event) // nil until attached
	pending []Event
	closed  bool
	// goodbye: the client's namespace disconnect ("41") was read. The
	// library handles a packet on a goroutine of its own, so the
	// connection's close, read right after it (a client's disconnect()
	// sends the one, then closes), could reach the session first and end
	// it as a drop, held for a resume that never comes: the session ends
	// as a goodbye either way (Server.connect).
	goodbye bool
}

// deliver hands ev to the handler, or keeps it until the handler attaches.
// It refuses an event beyond maxEarlyEvents waiting ones.
func (l *link) deliver(ev Event) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	take := l.take
	if take == nil {
		if len(l.pending) >= maxEarlyEvents {
			l.mu.Unlock()
			return errors.New("too many events before the namespace connect completed")
		}
		l.pending = append(l.pending, ev)
		l.mu.Unlock()
		return nil
	}
	l.mu.Unlock()
	take(ev)
	return nil
}

// attach hands the waiting events to take, in order, then every later one.
func (l *link) attach(take func(Event)) {
	l.mu.Lock()
	for len(l.pending) > 0 && !l.closed {
		early := l.pending
		l.pending = nil
		l.mu.Unlock()
		for _, ev := range early {
			take(ev)
		}
		l.mu.Lock()
	}
	if !l.closed {
		l.take = take
	}
	l.mu.Unlock()
}

// sayGoodbye records the client's namespace disconnect, and closes l.
func (l *link) sayGoodbye() {
	l.mu.Lock()
	l.goodbye = true
	l.mu.Unlock()
	l.close()
}

// saidGoodbye reports whether the client's namespace disconnect was read.
func (l *link) saidGoodbye() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.goodbye
}

// close drops the waiting events and every later one. A session claimed
// for this connection that never connected is held again.
func (l *link) close() {
	l.mu.Lock()
	l.closed, l.pending, l.take = true, nil, nil
	rec := l.rec
	l.mu.Unlock()
	if rec != nil {
		rec.abandon()
	}
}

// claimed sets the session claimed for this connection; one claimed after
// the connection closed (the claim waits for the store) is held again.
func (l *link) claimed(rec *recovery) {
	l.mu.Lock()
	l.rec = rec
	closed := l.closed
	l.mu.Unlock()
	if closed && rec != nil {
		rec.abandon()
	}
}

// takeLink returns the link the decoder left in a socket's auth payload,
// and removes it from there.
func takeLink(auth any) (*link, bool) {
	m, ok := auth.(map[string]any)
	if !ok {
		return nil, false
	}
	l, ok := m[linkKey].(*link)
	delete(m, linkKey)
	return l, ok
}

// authJSON encodes the auth object the library's decoder made of a
// namespace connect's payload (a JSON object, or nil when the client sent
// none): the client's fields, keys in sorted order, numbers as float64.
// A client's own linkKey goes with the rest.
func authJSON(data any) []byte {
	auth, ok := data.(map[string]any)
	if !ok || len(auth) == 0 {
		return []byte("{}")
	}
	b, err := json.Marshal(auth)
	if err != nil { // never for what JSON decoded into
		return []byte("{}")
	}
	return b
}

// newParser returns the Socket.IO parser this server uses: the library's,
// except that the events of the default namespace go to the application
// through the connection's link, and malformed packets are refused (the
// library then closes the sender's connection; nothing else happens).
func newParser(ids idCounter, srv *serverRef) parser.Parser {
	return eventParser{Parser: parser.NewParser(), ids: ids, srv: srv}
}

type eventParser struct {
	parser.Parser
	ids idCounter
	srv *serverRef
}

func (p eventParser) NewEncoder() parser.Encoder {
	return connectEncoder{Encoder: p.Parser.NewEncoder(), srv: p.srv}
}

func (p eventParser) NewDecoder() parser.Decoder {
	return &eventDecoder{parser: p.Parser, link: &link{}, ids: p.ids, srv: p.srv}
}

// eventDecoder decodes one connection's packets, from its reading goroutine.
type eventDecoder struct {
	listeners // the library listens here for "decoded" (listeners.go)
	// parser makes a decoder of the library's for each packet that is
	// not an event: the connect, the goodbye, acks. It keeps no state
	// between text packets (binary ones are refused before it), and one
	// kept for the connection's life held 0.3 kB for a packet or two.
	parser parser.Parser
	link   *link
	ids    idCounter // reseeded before a connect (ids.go)
	srv    *serverRef

	// mu keeps the decoder's state and its events in order should a
	// transport ever call Add from two goroutines at once.
	mu        sync.Mutex
	connected bool  // the namespace connect was decoded
	refused   error // set by decoded, returned by Add
}

// Add decodes data; the library closes the connection when it fails.
func (d *eventDecoder) Add(data any) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	frame, ok := textFrame(data)
	if !ok {
		return errors.New("binary message: the contract has none")
	}
	if len(frame) > 0 && (frame[0] == byte(parser.BINARY_EVENT) || frame[0] == byte(parser.BINARY_ACK)) {
		return errors.New("binary packet: the contract has none")
	}
	if isDefaultEvent(frame) {
		ev, err := decodeEvent(frame)
		if err != nil {
			return err
		}
		return d.take(ev)
	}
	if nestedDeeper(frame, maxNesting) {
		return fmt.Errorf("packet nested deeper than %d levels", maxNesting)
	}
	inner := d.parser.NewDecoder()
	_ = inner.On("decoded", d.decoded)
	err := inner.Add(data)
	inner.Destroy()
	if d.refused != nil {
		err, d.refused = d.refused, nil
	}
	return err
}

func (d *eventDecoder) take(ev Event) error {
	if !d.connected {
		return errors.New("event before the namespace connect")
	}
	return d.link.deliver(ev)
}

func (d *eventDecoder) Destroy() {
	d.link.close()
	d.RemoveAllListeners("decoded")
}

// decoded sees the packets the library's decoder made: the connect, the
// disconnect, acks and events in a spelled-out namespace (binary packets
// never get there: Add refuses them).
func (d *eventDecoder) decoded(args ...any) {
	packet, ok := args[0].(*parser.Packet)
	if !ok {
		return
	}
	if packet.Type == parser.CONNECT {
		// The library makes the socket's id as it takes the connect
		// (the d.Emit below).
		d.ids.reseed()
	}
	if packet.Nsp == "/" {
		switch packet.Type {
		case parser.CONNECT:
			if d.connected {
				d.refused = errors.New("second connect to the namespace")
				return
			}
			d.connected = true
			// The client's auth object goes to Conn.Auth as JSON, through
			// the link; the library gets the link alone (it reads nothing
			// else of the auth: no middleware, no connection state
			// recovery), so the object is held once.
			d.link.auth = authJSON(packet.Data)
			if gjson.GetBytes(d.link.auth, "resume").Type == gjson.True {
				if srv := d.srv.get(); srv != nil {
					d.link.claimed(srv.claim(gjson.ParseBytes(d.link.auth)))
				}
			}
			packet.Data = map[string]any{linkKey: d.link}
		case parser.DISCONNECT:
			d.link.sayGoodbye()
		case parser.ACK:
			// The library would type-assert the arguments unchecked.
			if _, ok := packet.Data.([]any); !ok {
				d.refused = errors.New("ack packet without arguments")
				return
			}
		case parser.EVENT:
			ev, err := eventFromPacket(packet)
			if err == nil {
				err = d.take(ev)
			}
			d.refused = err
			return
		}
	}
	d.Emit("decoded", packet)
}

// textFrame returns the bytes of a text message.
func textFrame(data any) ([]byte, bool) {
	switch data := data.(type) {
	case *types.StringBuffer:
		return data.Bytes(), true
	case string:
		return []byte(data), true
	}
	return nil, false
}

// isDefaultEvent reports whether frame is an event packet of the default
// namespace: "2", then an optional ack id, then the JSON arguments.
func isDefaultEvent(frame []byte) bool {
	return len(frame) > 0 && frame[0] == byte(parser.EVENT) && (len(frame) == 1 || frame[1] != '/')
}

// reserved reports whether name is one the protocol keeps for itself.
func reserved(name string) bool {
	switch name {
	case "connect", "connect_error", "disconnect", "disconnecting":
		return true
	}
	return false
}

// maxNesting bounds how deeply a client's JSON may nest arrays and objects,
// counted from the packet's outer array: SDP and ICE need 4 or 5 levels. The
// validation and decoding of JSON recurse, growing the goroutine's stack
// with the nesting (signal data nested 23,000 levels deep, from 20
// connections, took 76 MB of stack), so nestedDeeper runs before them.
const maxNesting = 32

// nestedDeeper reports whether the JSON text b nests arrays and objects
// deeper than max. One pass, no recursion, strings skipped; it validates
// nothing.
func nestedDeeper(b []byte, max int) bool {
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if depth++; depth > max {
				return true
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return false
}

// decodeEvent decodes an event packet of the default namespace. One nested
// too deeply is refused (its name unread).
func decodeEvent(frame []byte) (Event, error) {
	rest := frame[1:]
	digits := 0
	for digits < len(rest) && '0' <= rest[digits] && rest[digits] <= '9' {
		digits++
	}
	var ev Event
	if digits > 0 {
		id, err := strconv.ParseUint(string(rest[:digits]), 10, 64)
		if err != nil {
			return Event{}, fmt.Errorf("event packet: ack id: %w", err)
		}
		ev.AckID, ev.WantsAck = id, true
		rest = rest[digits:]
	}
	if nestedDeeper(rest, maxNesting) {
		ev.Refused = fmt.Sprintf("payload nested deeper than %d levels", maxNesting)
		return ev, nil
	}
	// Relayed payloads go out as they came in: they must be JSON that the
	// partner's client can parse, in a frame its browser accepts as text.
	if !utf8.Valid(rest) || !gjson.ValidBytes(rest) {
		return Event{}, errors.New("event packet: arguments are not JSON")
	}
	return ev, ev.setArgs(gjson.ParseBytes(rest))
}

// eventFromPacket takes an event the library's decoder made (in a
// spelled-out default namespace) into an event.
func eventFromPacket(packet *parser.Packet) (Event, error) {
	var ev Event
	if packet.Id != nil {
		ev.AckID, ev.WantsAck = *packet.Id, true
	}
	raw, err := json.Marshal(packet.Data)
	if err != nil {
		return Event{}, fmt.Errorf("event arguments: %w", err)
	}
	return ev, ev.setArgs(gjson.ParseBytes(raw))
}

// setArgs takes the event's name and arguments from a JSON array.
func (ev *Event) setArgs(array gjson.Result) error {
	if !array.IsArray() {
		return errors.New("event packet without arguments")
	}
	args := array.Array()
	if len(args) == 0 {
		return errors.New("event packet without arguments")
	}
	if args[0].Type != gjson.String {
		return errors.New("event name is not a string")
	}
	if reserved(args[0].Str) {
		return fmt.Errorf("reserved event name %q", args[0].Str)
	}
	ev.Name, ev.Args = args[0].Str, args[1:]
	return nil
}
