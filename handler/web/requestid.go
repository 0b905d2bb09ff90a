package web

import (
	"crypto/rand"

	"github.com/gin-gonic/gin"

	"github.com/zivro/zivro/handler/socketio"
)

// requestIDKey is the gin context key of the request's id.
const requestIDKey = "request_id"

// requestID is the middleware that gives every request an id: in the
// X-Request-Id response header, on the request's log line, and, for the
// request that opens a Socket.IO connection, on the connection's connect
// line (socketio.WithRequestID). The server makes its own: a client's
// would let it put any text in the logs.
func requestID(c *gin.Context) {
	id := rand.Text()[:16]
	c.Set(requestIDKey, id)
	c.Header("X-Request-Id", id)
	c.Request = c.Request.WithContext(socketio.WithRequestID(c.Request.Context(), id))
	c.Next()
}
