package socketio

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// What the library's parser cannot decode is refused; what socket.io-client
// sends (text packets, binary ones as "b" and padded base64, several joined
// by \x1e) is not.
func TestUndecodablePollingPayloads(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		refuse bool
	}{
		{"unknown packet type", "7hello", true},
		{"not a packet type", "hello", true},
		{"an unknown type after a good packet", "42[\"x\",1]\x1ezz", true},
		{"empty packet between two", "3\x1e\x1e3", true},
		{"leading separator", "\x1e3", true},
		{"broken base64", "b@@@@", true},
		{"base64 cut short", "bAQI", true},
		{"message", "42[\"x\",1]", false},
		{"several packets", "42[\"x\",1]\x1e42[\"y\",2]", false},
		{"pong and message", "3\x1e42[\"x\",1]", false},
		{"base64 binary", "bAQID", false},
		{"padded base64 binary", "bAQ==", false},
		{"binary event with its attachment", "451-[\"x\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID", false},
		{"close", "1", false},
		{"utf-8 text", "42[\"x\",\"h\u00e9llo \u2603\"]", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/socket.io/?EIO=4&transport=polling&sid=s", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "text/plain;charset=UTF-8")
			err := decodesAsPayload(r)
			if (err != nil) != tt.refuse {
				t.Fatalf("%q: %v, want refused %v", tt.body, err, tt.refuse)
			}
			if b, _ := io.ReadAll(r.Body); string(b) != tt.body {
				t.Errorf("body handed on %q, want %q", b, tt.body)
			}
		})
	}
}

// A polling POST whose body does not decode is answered 400 and closes its
// live session ("parse error"): a later poll finds no session. Before the
// fix it was answered 200 and the session lived on.
func TestUndecodablePollingPayloadsCloseTheSession(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		refuse bool
	}{
		{"unknown packet type", "7hello", true},
		{"an unknown type after a good packet", "42[\"x\",1]\x1ezz", true},
		{"empty packet", "42[\"x\",1]\x1e\x1e42[\"y\",2]", true},
		{"broken base64", "b@@@@", true},
		{"event", "42[\"x\",1]", false},
		{"several packets", "42[\"x\",1]\x1e42[\"y\",2]", false},
	}
	s := New(t.Context(), Options{
		PingInterval: 10 * time.Second,
		PingTimeout:  10 * time.Second,
		Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	sessions := &closeReasons{reasons: map[string]int{}}
	s.OnConnect(sessions.connect)
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); s.Close() })

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			base := srv.URL + "/socket.io/?EIO=4&transport=polling"
			body, err := poll(ctx, http.MethodGet, base, "")
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			var o struct{ Sid string }
			if err := json.Unmarshal([]byte(body[1:]), &o); err != nil {
				t.Fatalf("open packet %q: %v", body, err)
			}
			base += "&sid=" + o.Sid
			// The session is in place once it hears an event.
			_, _, events := sessions.count("")
			if _, err := poll(ctx, http.MethodPost, base, "40\x1e42[\"hello\",1]"); err != nil {
				t.Fatalf("connect: %v", err)
			}
			waitFor(ctx, t, sessions, "the session's first event", func(c *closeReasons) bool { return c.events > events })
			_, parseErrors, _ := sessions.count("parse error")

			status, answer := post(t, base, tt.body)
			if !tt.refuse {
				if status != http.StatusOK {
					t.Fatalf("POST %q: %d %s, want 200", tt.body, status, answer)
				}
				if _, err := poll(ctx, http.MethodPost, base, "41"); err != nil {
					t.Fatalf("session gone after %q: %v (closed: %v)", tt.body, err, sessions.reasons)
				}
				return
			}
			if status != http.StatusBadRequest || !strings.Contains(answer, `"code":3`) {
				t.Errorf("POST %q: %d %s, want 400 and code 3", tt.body, status, answer)
			}
			waitFor(ctx, t, sessions, "the session to close \"parse error\"", func(c *closeReasons) bool { return c.reasons["parse error"] > parseErrors })
			status, answer = get(t, base)
			if status != http.StatusBadRequest || !strings.Contains(answer, "Session ID unknown") {
				t.Errorf("GET after the refusal: %d %s, want 400 Session ID unknown", status, answer)
			}
		})
	}
}

// waitFor waits until done holds of c, for at most two seconds.
func waitFor(ctx context.Context, t *testing.T, c *closeReasons, what string, done func(*closeReasons) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for {
		c.mu.Lock()
		ok := done(c)
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			c.mu.Lock()
			defer c.mu.Unlock()
			t.Fatalf("waited 2 s for %s (closed: %v)", what, c.reasons)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url, "text/plain;charset=UTF-8", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
