package socketio

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"unsafe"

	"github.com/zishang520/engine.io/v2/utils"
)

// The library makes every id it hands out, Engine.IO session ids and
// Socket.IO socket ids alike, with utils.Base64Id: 10 random bytes and then
// a process-wide counter, 8 bytes big-endian (engine.io utils/base64id.go).
// Anyone who sees two ids (a client its own two connections, a partner the
// partnerId of two pairings) reads how many sessions and sockets the
// instance made in between, and from one id how many since it started. The
// library has no hook for its ids: the engine's GenerateId is called on the
// base server itself, not through its Prototype, and socket.go calls
// Base64Id directly. So the wall sets the counter to a fresh random value
// right before each id is made (idCounter.reseed): before the engine
// handles a handshake (ServeHTTP, IsHandshake) and before the library reads
// a namespace connect, which makes the socket id (eventDecoder.decoded).
// An id's last 8 bytes are then random too, unique as before (the counter
// never made ids unique across instances anyway: the 80 random bits do).
// Ids made at the same instant may still be one apart; no id says anything
// about what the instance did before.
//
// The counter is reached through the pointer Base64Id returns: base64Id is
// a struct of one atomic.Uint64. newIDCounter checks that layout before
// anything is written through it (TestIDCounterMatchesTheLibrary too).
// To drop it: once the library makes ids without a counter (or lets a
// server choose its ids), remove ids.go and the two reseed calls.

// idCounter is the library's id counter.
type idCounter struct{ n *atomic.Uint64 }

// newIDCounter returns the library's counter after checking that an id
// made now ends in its value: if not, the library's layout has changed and
// nothing may be written through the pointer.
func newIDCounter() (idCounter, error) {
	n := (*atomic.Uint64)(unsafe.Pointer(utils.Base64Id()))
	for range 3 { // another id made in between spoils a try
		want := n.Load()
		id, err := utils.Base64Id().GenerateId()
		if err != nil {
			return idCounter{}, err
		}
		if raw, err := base64.RawURLEncoding.DecodeString(id); err == nil && len(raw) == 18 && binary.BigEndian.Uint64(raw[10:]) == want {
			return idCounter{n: n}, nil
		}
	}
	return idCounter{}, errors.New("the library's ids do not end in its counter: ids are left as the library makes them")
}

// reseed sets the counter to a random value; a no-op when the counter
// could not be reached.
func (c idCounter) reseed() {
	if c.n == nil {
		return
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	c.n.Store(binary.BigEndian.Uint64(b[:]))
}
