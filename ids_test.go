package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Engine.IO session ids and socket ids say nothing about how many
// sessions the instance has served: the library ended them in a
// process-wide counter (10 random bytes, then 8 of counter), so one
// connection after another got ids whose tails were a few apart. Ids from
// connections made one after the other must now end in unrelated random
// values, and stay distinct.
func TestIDsRevealNoCounter(t *testing.T) {
	url, stop, done := startRun(t, map[string]string{})
	defer func() { stop(); <-done }()
	const conns = 40
	var ids []string
	for i := range conns {
		sid, socketID := connectIDs(t, url)
		ids = append(ids, sid, socketID)
		if i == 0 {
			t.Logf("session id %s, socket id %s", sid, socketID)
		}
	}
	// The connections stay open until the server stops and closes them:
	// one closed right after its connect may outlive its close (#23,
	// sessions that never end), and one closing while the server stops
	// races its shutdown.
	tails := make([]uint64, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("id %s handed out twice", id)
		}
		seen[id] = true
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(raw) != 18 {
			t.Fatalf("id %q: %d bytes, %v; want 18 bytes of base64url, as the library makes them", id, len(raw), err)
		}
		tails = append(tails, binary.BigEndian.Uint64(raw[10:]))
	}
	// 80 random values of 64 bits lie apart by far more than 2^32 but for
	// a chance of about one in 2^20; a counter's lie a few apart.
	slices.Sort(tails)
	for i := 1; i < len(tails); i++ {
		if d := tails[i] - tails[i-1]; d < 1<<32 {
			t.Fatalf("two of %d ids end %d apart (%x, %x): a counter shows through", len(ids), d, tails[i-1], tails[i])
		}
	}
}

// connectIDs opens a websocket session, connects it to the default
// namespace, and returns its Engine.IO session id and its socket id; the
// connection stays open until the test ends.
func connectIDs(t *testing.T, url string) (sid, socketID string) {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket", http.Header{})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	read := func(prefix string) string {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := conn.ReadMessage()
		if err != nil || !strings.HasPrefix(string(msg), prefix) {
			t.Fatalf("want a %q packet, got %q, %v", prefix, msg, err)
		}
		var v struct{ Sid string }
		if err := json.Unmarshal(msg[len(prefix):], &v); err != nil || v.Sid == "" {
			t.Fatalf("packet %q without a sid: %v", msg, err)
		}
		return v.Sid
	}
	sid = read("0")
	if err := conn.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
		t.Fatal(err)
	}
	return sid, read("40")
}
