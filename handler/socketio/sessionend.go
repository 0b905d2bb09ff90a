package socketio

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/zishang520/engine.io/v2/engine"
	"github.com/zishang520/socket.io/v2/socket"
)

// sessionEnd is what a handshake request asks to run once the Engine.IO
// session it opens has closed.
type sessionEnd struct {
	run   func() // once
	taken atomic.Bool
}

type sessionEndKey struct{}

// OnSessionEnd returns r, a handshake request, with fn attached: fn runs
// once, when the Engine.IO session that r opens has closed (whether or not
// it ever joined the namespace), or as soon as r has been served when it
// opened none (a handshake the library refused). Anything a handshake
// takes, such as its address's connection count, is given back this way.
func OnSessionEnd(r *http.Request, fn func()) *http.Request {
	end := &sessionEnd{run: sync.OnceFunc(fn)}
	return r.WithContext(context.WithValue(r.Context(), sessionEndKey{}, end))
}

func sessionEndOf(ctx context.Context) *sessionEnd {
	end, _ := ctx.Value(sessionEndKey{}).(*sessionEnd)
	return end
}

// watchSessionEnds ties each new Engine.IO session to the end its
// handshake asked for. The library emits the engine's "connection" during
// the handshake request, before ServeHTTP returns (see serveEnded).
func watchSessionEnds(io *socket.Server) {
	_ = io.Engine().On("connection", func(args ...any) {
		conn, ok := args[0].(engine.Socket)
		if !ok {
			return
		}
		end := sessionEndOf(conn.Request().Request().Context())
		if end == nil {
			return
		}
		end.taken.Store(true)
		_ = conn.Once("close", func(...any) { end.run() })
	})
}

// serveEnded serves r and runs its session end at once if it opened no
// session.
func serveEnded(next http.Handler, w http.ResponseWriter, r *http.Request) {
	next.ServeHTTP(w, r)
	if end := sessionEndOf(r.Context()); end != nil && !end.taken.Load() {
		end.run()
	}
}
