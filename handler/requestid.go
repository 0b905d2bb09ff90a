package handler

import (
	"crypto/rand"
	"net/netip"

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

// maskAddr is what the logs may show of a client address: its network, an
// IPv4 address's /24 or an IPv6 address's /48, enough to tell a crowd from
// one network apart, not enough to name a subscriber.
func maskAddr(addr netip.Addr) string {
	if !addr.IsValid() {
		return ""
	}
	bits := 48
	if addr.Is4() {
		bits = 24
	}
	p, _ := addr.Prefix(bits)
	return p.String()
}
