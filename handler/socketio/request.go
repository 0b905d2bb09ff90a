package socketio

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/zivro/zivro/internal/netwait"
)

// The library trusts what a request brings: its polling transport checks
// only Content-Length, so a chunked body of any size was read whole (150 MB
// took the process from 182 to 532 MB) and answered 200; it read a body as
// slowly as the client sent it, holding its handler past the session's own
// ping timeout; and it keeps the handshake's URL, query and headers for the
// connection's whole life (50 websockets with a 900 KB query held 45 MB).
// boundRequests and slimRequest stop all of that before the library sees
// the request. To drop them: once the library caps what it reads by size
// and time, and keeps only the parameters and headers it uses, serve it the
// request as it came (the HTTP server's MaxHeaderBytes and timeouts stay).

// boundRequests reads a polling POST's body here, whole, within the ping
// timeout (a client that cannot send one message in that time is gone
// anyway), so that the library only ever gets a body of known size already
// in memory: larger than MaxMessageSize gets 413, too slow 408, and the
// connection is closed. A long poll is answered at the latest with the next
// ping, a heartbeat after the last pong, so the server's read timeout would
// cancel it first: it gets no read deadline, and a write deadline instead,
// as the library would wait for ever on a client that does not read its
// answer. (A websocket upgrade leaves both deadlines behind.)
func boundRequests(next http.Handler, o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if r.ContentLength > o.MaxMessageSize {
			refuseBody(w, http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			if r.Method == http.MethodGet {
				_ = rc.SetReadDeadline(time.Time{})
				_ = rc.SetWriteDeadline(time.Now().Add(o.PingInterval + 2*o.PingTimeout))
			}
			next.ServeHTTP(w, r)
			return
		}
		_ = rc.SetReadDeadline(time.Now().Add(o.PingTimeout))
		body, err := io.ReadAll(io.LimitReader(r.Body, o.MaxMessageSize+1))
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			refuseBody(w, http.StatusRequestTimeout)
			return
		case err != nil:
			refuseBody(w, http.StatusBadRequest)
			return
		case int64(len(body)) > o.MaxMessageSize:
			refuseBody(w, http.StatusRequestEntityTooLarge)
			return
		}
		// The body is in: the connection goes back to the server's own
		// timeouts for whatever comes next.
		_ = rc.SetReadDeadline(time.Time{})
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.TransferEncoding = nil
		next.ServeHTTP(w, r)
	})
}

// refuseBody answers status and closes the connection. The server reads
// what is left of the body (up to 256 KB) before it closes, or the client's
// kernel, on the reset that closing with unread data sends, could discard
// the answer before the client reads it; one second is all it gets for
// that, not the client's pace.
func refuseBody(w http.ResponseWriter, status int) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(time.Second))
	w.Header().Set("Connection", "close")
	w.WriteHeader(status)
}

// engineParams are the query parameters Engine.IO reads: the protocol
// revision, the transport, the session id, and the legacy base64 and JSONP
// flags.
var engineParams = [...]string{"EIO", "transport", "sid", "b64", "j"}

// engineURL is u with only the first value of each of engineParams. Of sid,
// the first value is also the one IsHandshake reads (sessionID): change one,
// change both.
func engineURL(u *url.URL) *url.URL {
	q := u.Query()
	kept := make(url.Values, 3)
	for _, k := range engineParams {
		if v, ok := q[k]; ok && len(v) > 0 {
			kept[k] = v[:1:1]
		}
	}
	return &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: kept.Encode()}
}

// slimRequest hands the library a copy of the request with only the URL
// parameters Engine.IO reads (engineURL) and the headers it reads (the
// websocket handshake, Origin, and the polling transport's Content-Type
// and Accept-Encoding); a websocket upgrade without the response headers
// the middleware set, behind a read gate (gate.go); a polling request with
// an answer that ends with the handler (lateanswer.go). The library keeps
// a connection's handshake request, a copy of its headers and one of the
// response headers for as long as the connection lasts: a browser's
// cookies, user agent and languages, and a dozen security headers, would
// stay with every idle connection. CORS is settled before, on the request
// as it came. To drop it: once the library keeps only what it uses of the
// handshake, serve its handler as it is (keeping the gate while gate.go
// needs it, and the sealed answer while lateanswer.go does).
func slimRequest(next http.Handler, poller *netwait.Poller) http.Handler {
	kept := []string{
		"Origin", "Content-Type", "Accept-Encoding",
		"Connection", "Upgrade", "Sec-Websocket-Key", "Sec-Websocket-Version",
		"Sec-Websocket-Extensions", "Sec-Websocket-Protocol",
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A map sized for eight is one small group; sized for all nine, it
		// would be a full table. No request brings more than eight of
		// these (a browser's websocket handshake brings six or seven).
		h := make(http.Header, 8)
		for _, k := range kept {
			if v, ok := r.Header[k]; ok {
				h[k] = slices.Clone(v)
			}
		}
		ctx := r.Context()
		var served func()
		if isWebsocket(r) {
			// Security and CORS headers are for documents and XHR, not
			// for a 101 answer.
			clear(w.Header())
			w, ctx, served = gateReads(w, r, poller)
		} else {
			answer := sealAnswer(w) // lateanswer.go
			w, served = answer, answer.seal
		}
		slim := r.WithContext(ctx)
		slim.Header = h
		slim.URL = engineURL(r.URL)
		slim.RequestURI = slim.URL.RequestURI()
		next.ServeHTTP(w, slim)
		served()
	})
}
