package socketio

import (
	"net/http"
	"net/url"

	"github.com/gorilla/websocket"
)

// IsHandshake reports whether r, a request to the Socket.IO endpoint, opens
// a new Engine.IO session: whether the engine will generate a session for
// it. It is the one definition the per-address caps, the drain and the read
// gate use, so that no request can be a handshake to the engine and not to
// them.
//
// The engine (engine.io v2.5.0, server.go HandleRequest and onWebSocket,
// base-server.go Verify) opens a session for a request whose sid parameter
// is empty, not only for one without it: `&sid`, `&sid=`, and a query whose
// sid pair Go's parser drops (`sid=x;y`) all handshake. Of repeated sid
// parameters it reads the last, but slimRequest hands it only the first
// (engineURL), so the first is the one that counts here. The query is parsed
// as the engine parses it (net/url), so percent-encoded names (`%73id`) are
// the same name to both.
func IsHandshake(r *http.Request) bool {
	return sessionID(r.URL.Query()) == ""
}

// sessionID is the session id the engine sees in a request of query q: the
// first sid value (see engineURL), "" when there is none.
func sessionID(q url.Values) string {
	if v := q["sid"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// isWebsocket reports whether r asks for a websocket, by the engine's own
// test (engine.io server.go ServeHTTP: gorilla's IsWebSocketUpgrade, which
// takes "Upgrade: h2c, websocket" and any case), so that no request is a
// websocket to the engine and not to the wall's read gate and hang-up.
func isWebsocket(r *http.Request) bool { return websocket.IsWebSocketUpgrade(r) }
