package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// limitBodies refuses, with 413, a request whose declared body is larger
// than maxBody, and caps what any other route may read at maxBody whatever
// its framing. The Socket.IO endpoint reads and bounds its own bodies
// (handler/socketio, request.go), in time as well as in size.
func limitBodies(maxBody int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if r.ContentLength > maxBody {
			refuseBody(c, http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body != nil && r.Body != http.NoBody && !strings.HasPrefix(r.URL.Path, "/socket.io/") {
			r.Body = http.MaxBytesReader(c.Writer, r.Body, maxBody)
		}
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
