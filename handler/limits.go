package handler

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// The Socket.IO library trusts what a request brings: its polling transport
// checks only Content-Length, so a chunked body of any size was read whole
// (150 MB took the process from 182 to 532 MB) and answered 200; it read a
// body as slowly as the client sent it, holding its handler past the
// session's own ping timeout; and it keeps the handshake's URL and query for
// the connection's whole life (50 websockets with a 900 KB query held
// 45 MB). The guards below stop all three before the library sees the
// request. To drop them: once the library caps what it reads by size and
// time and keeps only the parameters it uses, serve it the request as it
// came (the server's MaxHeaderBytes and timeouts stay).

// limitBodies refuses, with 413, a request whose body is larger than
// maxBody, whatever its framing. A polling POST's body is read here, whole,
// within the ping timeout (a client that cannot send one message in that
// time is gone anyway), so the library only ever gets a body of known size
// already in memory; one that is too slow gets 408 and its connection
// closed. Other routes read no body; theirs is capped all the same. A long
// poll has no read deadline, and a write deadline instead.
func limitBodies(maxBody int64, pingInterval, pingTimeout time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if r.ContentLength > maxBody {
			refuseBody(c, http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/socket.io/") {
				// A long poll is answered at the latest with the next
				// ping, a heartbeat after the last pong; the server's
				// read timeout would cancel it before. Its answer must
				// then be read within the ping timeout: the library
				// would wait for ever on a client that does not read.
				// (A websocket upgrade leaves both deadlines behind.)
				rc := http.NewResponseController(c.Writer)
				_ = rc.SetReadDeadline(time.Time{})
				_ = rc.SetWriteDeadline(time.Now().Add(pingInterval + 2*pingTimeout))
			}
			c.Next()
			return
		}
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/socket.io/") {
			r.Body = http.MaxBytesReader(c.Writer, r.Body, maxBody)
			c.Next()
			return
		}
		rc := http.NewResponseController(c.Writer)
		_ = rc.SetReadDeadline(time.Now().Add(pingTimeout))
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			refuseBody(c, http.StatusRequestTimeout)
			return
		case err != nil:
			refuseBody(c, http.StatusBadRequest)
			return
		case int64(len(body)) > maxBody:
			refuseBody(c, http.StatusRequestEntityTooLarge)
			return
		}
		// The body is in: the connection goes back to the server's own
		// timeouts for whatever comes next.
		_ = rc.SetReadDeadline(time.Time{})
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.TransferEncoding = nil
		c.Next()
	}
}

// refuseBody answers status and closes the connection. The server reads
// what is left of the body (up to 256 KB) before it closes, or the client's
// kernel, on the reset that closing with unread data sends, could discard
// the answer before the client reads it; one second is all it gets for that,
// not the client's pace.
func refuseBody(c *gin.Context, status int) {
	_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(time.Second))
	c.Header("Connection", "close")
	c.AbortWithStatus(status)
}

// engineParams are the query parameters Engine.IO reads: the protocol
// revision, the transport, the session id, and the legacy base64 and JSONP
// flags.
var engineParams = [...]string{"EIO", "transport", "sid", "b64", "j"}

// engineQuery hands next a copy of the request whose URL keeps only the
// first value of each of engineParams: the library keeps the handshake's
// URL and parsed query for as long as the connection lasts.
func engineQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		kept := make(url.Values, 3)
		for _, k := range engineParams {
			if v, ok := q[k]; ok && len(v) > 0 {
				kept[k] = v[:1:1]
			}
		}
		u := &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: kept.Encode()}
		slim := r.WithContext(r.Context())
		slim.URL = u
		slim.RequestURI = u.RequestURI()
		next.ServeHTTP(w, slim)
	})
}
