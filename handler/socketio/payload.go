package socketio

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/zishang520/engine.io-go-parser/parser"
	"github.com/zishang520/engine.io/v2/engine"
	"github.com/zishang520/engine.io/v2/types"
	"github.com/zishang520/socket.io/v2/socket"
)

// The library's polling transport (engine.io/v2 v2.5.0,
// transports/polling.go, OnData) discards the error of the payload's
// decoding: a POST whose body does not decode (a packet type that is none
// of Engine.IO's, an empty packet, broken base64) had the packets before
// the fault handled, the rest dropped, an answer of 200 "ok", and its
// session lived on. Engine.IO closes the session of a payload that does not
// decode ("parse error"). refuseUndecodable decodes a polling POST's body
// with the library's own parser before the library does: what the parser
// cannot decode gets 400 {"code":3,"message":"Bad request"}, nothing of it
// is handled, and its session is closed "parse error"; everything else
// (what socket.io-client sends: text packets, and binary ones as "b" and
// base64, separated by \x1e) goes on to the library unchanged.
//
// To drop it: once the library's polling transport closes the session of a
// payload that does not decode and answers 400, remove refuseUndecodable
// from newServer; TestUndecodablePollingPayloadsCloseTheSession shows
// whether it does.
func refuseUndecodable(io *socket.Server, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := decodesAsPayload(r)
		if err == nil {
			next.ServeHTTP(w, r)
			return
		}
		sid := sessionID(r.URL.Query())
		// Only a polling session reads this body; another (a websocket
		// after an upgrade) gets the library's transport mismatch.
		if conn, ok := io.Engine().Clients().Load(sid); ok && conn.Transport().Name() == "polling" {
			log.Warn("polling payload does not decode: session closed", "sid", sid, "err", err)
			closeSession(conn, "parse error")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"code":3,"message":"Bad request"}`))
	})
}

// decodesAsPayload reports why the body of r, a polling POST of Engine.IO
// 4 whose body boundRequests has read into memory, does not decode as the
// library would decode it; nil for any other request. A JSONP POST
// (form-encoded) and a binary body (which the library refuses itself) are
// left to the library.
func decodesAsPayload(r *http.Request) error {
	if r.Method != http.MethodPost || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	q := r.URL.Query()
	if q.Get("transport") != "polling" || q.Get("EIO") != "4" || q.Has("j") ||
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/octet-stream") {
		return nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil // boundRequests' body is in memory: not reached
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if _, err := parser.Parserv4().DecodePayload(types.NewStringBuffer(body)); err != nil {
		return fmt.Errorf("decode polling payload: %w", err)
	}
	return nil
}

// closeSession closes an Engine.IO session with reason, which its socket's
// Session hears; the library's socket takes a reason (OnClose), its
// interface only the forced close.
func closeSession(conn engine.Socket, reason string) {
	if c, ok := conn.(interface{ OnClose(string, ...error) }); ok {
		c.OnClose(reason)
		return
	}
	conn.Close(true)
}
