package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/gin-gonic/gin"
	"github.com/zivro/zivro/internal/logtext"
)

// recoverPanics answers 500 to a request whose handler panicked, and logs
// one line with the request's id, the panic cut like a client's text, and
// the stack. It replaces gin.Recovery, which writes the request's headers
// (a client's, up to 16 KB, raw) to standard error.
func recoverPanics(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { // net/http's own way to abort a response: its server handles it
				panic(v)
			}
			log.Error("panic recovered", "request_id", c.GetString(requestIDKey),
				"panic", logtext.Of(fmt.Sprint(v)), "stack", string(debug.Stack()))
			c.AbortWithStatus(http.StatusInternalServerError)
		}()
		c.Next()
	}
}
