package handler

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// maxLogText is the most of a client's text (an event name, a request
// path) that a log line carries: the server's own names are far shorter,
// and a line must never carry a client's payload (chat text, an address)
// nor grow with it.
const maxLogText = 64

// logText is s, which a client chose, as a log line may carry it: valid
// UTF-8, control and format characters (newlines, bidi overrides) replaced
// by U+FFFD, and cut to maxLogText bytes with a marker that says how long
// it was. slog's handlers quote what is left.
func logText(s string) string {
	cut := ""
	if len(s) > maxLogText {
		n := maxLogText
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		cut = "…(cut, " + strconv.Itoa(len(s)) + " bytes)"
		s = s[:n]
	}
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	return s + cut
}

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
				"panic", logText(fmt.Sprint(v)), "stack", string(debug.Stack()))
			c.AbortWithStatus(http.StatusInternalServerError)
		}()
		c.Next()
	}
}
