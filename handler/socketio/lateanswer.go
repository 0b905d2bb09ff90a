package socketio

import (
	"errors"
	"net/http"
	"sync"
)

// The library's polling handler returns when its request is answered or
// when the client goes away (the request's context ends), whichever comes
// first; but its answer is written by whichever goroutine has something to
// send, and a client that goes away while that write is under way lets the
// handler return in the middle of it. The HTTP server then finishes the
// response (gin writes the status it holds) while the library is still
// setting headers on it: "concurrent map iteration and map write", a crash
// of the whole process, seen once in eight runs of a thousand polling
// sessions closing at once. sealAnswer stops that before the library sees
// the response. To drop it: once the library's HttpContext.Write and the
// end of its request share one lock, serve it the writer as it came.

// errAnswerSealed is what a write after the handler returned gets.
var errAnswerSealed = errors.New("socketio: the polling request was already answered or abandoned")

// sealedAnswer is the response the library writes a polling answer to:
// headers of its own, copied to the server's response only when the status
// is written, and nothing at all once the handler has returned (seal).
type sealedAnswer struct {
	w      http.ResponseWriter
	header http.Header

	mu     sync.Mutex
	sealed bool
	wrote  bool
}

// sealAnswer wraps w, whose headers so far (the middleware's CORS and
// security headers) the answer starts with. Call seal once the handler
// that got the answer has returned, before the server's own handler does.
func sealAnswer(w http.ResponseWriter) *sealedAnswer {
	return &sealedAnswer{w: w, header: w.Header().Clone()}
}

// Header is the answer's own header map: the library may still be
// setting it after the handler has returned, and then it is nobody
// else's.
func (a *sealedAnswer) Header() http.Header { return a.header }

func (a *sealedAnswer) WriteHeader(status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.writeHeaderLocked(status)
}

func (a *sealedAnswer) writeHeaderLocked(status int) {
	if a.sealed || a.wrote {
		return
	}
	a.wrote = true
	dst := a.w.Header()
	clear(dst)
	for k, v := range a.header {
		dst[k] = v
	}
	a.w.WriteHeader(status)
}

func (a *sealedAnswer) Write(b []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sealed {
		return 0, errAnswerSealed
	}
	a.writeHeaderLocked(http.StatusOK)
	return a.w.Write(b)
}

// seal ends the answer: a write under way finishes first, later ones are
// refused.
func (a *sealedAnswer) seal() {
	a.mu.Lock()
	a.sealed = true
	a.mu.Unlock()
}
