package socketio

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// pollRequest is a polling GET as the client sends it, through the
// middleware that set a CORS header before.
func pollRequest(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	rec.Header().Set("Access-Control-Allow-Origin", "https://zivro.example")
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling&sid=abc", nil))
	return rec
}

func TestPollingAnswerWrittenBeforeReturnReachesTheClient(t *testing.T) {
	rec := pollRequest(t, slimRequest(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("6"))
	}), nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "6" {
		t.Fatalf("answer %d %q, want 200 %q", rec.Code, rec.Body, "6")
	}
	for k, want := range map[string]string{"Content-Type": "text/plain; charset=UTF-8", "Access-Control-Allow-Origin": "https://zivro.example"} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
}

// The library's handler returns when the client goes away, even while
// another goroutine is writing its answer: what it writes after that must
// not reach the response the server is finishing.
func TestPollingAnswerAfterTheHandlerReturnedIsRefused(t *testing.T) {
	tests := []struct {
		name string
		// concurrent: the late write runs while the server finishes the
		// response (the race detector's case), else after it.
		concurrent bool
	}{
		{"after the server finished", false},
		{"while the server finishes", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, lateErr := make(chan struct{}), make(chan error, 1)
			rec := pollRequest(t, slimRequest(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				go func() {
					<-start
					w.Header().Set("X-Late", "1")
					w.WriteHeader(http.StatusOK)
					_, err := w.Write([]byte("late"))
					lateErr <- err
				}()
			}), nil))
			if tt.concurrent {
				close(start)
			}
			// What the server does once the handler returned.
			_ = rec.Header().Clone()
			rec.WriteHeader(http.StatusOK)
			if !tt.concurrent {
				close(start)
			}
			select {
			case err := <-lateErr:
				if !errors.Is(err, errAnswerSealed) {
					t.Errorf("late write got %v, want errAnswerSealed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the late write did not return")
			}
			if rec.Body.Len() != 0 || rec.Header().Get("X-Late") != "" {
				t.Errorf("late answer reached the response: body %q, X-Late %q", rec.Body, rec.Header().Get("X-Late"))
			}
		})
	}
}
