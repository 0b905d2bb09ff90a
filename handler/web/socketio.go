package web

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/zivro/zivro/handler/clientaddr"
	"github.com/zivro/zivro/handler/socketio"
)

// withClientAddr gives the Socket.IO endpoint the request with RemoteAddr set
// to the client's address (clientaddr.From, resolved by the middleware): the
// library keeps the handshake request, and Conn.Addr reads the address
// from it, so that blocks and cool-downs key on the address that the
// per-address limits count.
func withClientAddr(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := clientaddr.From(r.Context()); ok && a.String() != r.RemoteAddr {
			r = r.Clone(r.Context())
			r.RemoteAddr = a.String()
		}
		next.ServeHTTP(w, r)
	})
}

// admitConnections refuses, with 429, a handshake from an address over
// one of its limits, and otherwise counts it until its session ends.
func admitConnections(l *clientaddr.Limiter, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !strings.HasPrefix(c.Request.URL.Path, "/socket.io/") || !socketio.IsHandshake(c.Request) {
			c.Next()
			return
		}
		addr, _ := clientaddr.From(c.Request.Context())
		release, reason := l.Admit(clientaddr.Key(addr), time.Now())
		if release == nil {
			// No address in the log: it is personal data, and the
			// line is of one kind for every address (see ratelog).
			log.Warn("connection refused", "reason", reason)
			c.Header("Retry-After", "60")
			c.AbortWithStatusJSON(http.StatusTooManyRequests, gin.H{"code": http.StatusTooManyRequests, "message": reason})
			return
		}
		c.Request = socketio.OnSessionEnd(c.Request, release)
		c.Next()
	}
}
