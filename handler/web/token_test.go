package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// The bearer token check: the right token is served, a wrong or missing
// one gets 401; an address that showed TokenFailuresPerMinute wrong tokens
// gets 429 with Retry-After, even with the right token, until its budget
// refills; other addresses are unaffected; no token reaches the log.
func TestRequireTokenBudget(t *testing.T) {
	const token = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	synctest.Test(t, func(t *testing.T) {
		var logs strings.Builder
		log := slog.New(slog.NewTextHandler(&logs, nil))
		served := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "metrics") })
		h := RequireToken("metrics", token, served, log)
		ask := func(from, auth string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.RemoteAddr = from
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			return w
		}
		const attacker, other = "203.0.113.9:5000", "198.51.100.4:5000"
		if w := ask(attacker, "Bearer "+token); w.Code != http.StatusOK || w.Body.String() != "metrics" {
			t.Fatalf("right token: %d %q", w.Code, w.Body)
		}
		for i, auth := range []string{"", token, "Bearer " + token[:63], "Bearer " + token + "0", "bearer " + token} {
			if w := ask(other, auth); w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
				t.Fatalf("wrong token %d: %d, want 401 with WWW-Authenticate", i, w.Code)
			}
		}
		for i := range TokenFailuresPerMinute {
			if w := ask(attacker, "Bearer guess"+strconv.Itoa(i)); w.Code != http.StatusUnauthorized {
				t.Fatalf("wrong token %d: %d, want 401", i, w.Code)
			}
		}
		for _, auth := range []string{"Bearer guess", "Bearer " + token} {
			w := ask(attacker, auth)
			if w.Code != http.StatusTooManyRequests {
				t.Fatalf("budget spent, %q: %d, want 429", auth[:10], w.Code)
			}
			if ra, _ := strconv.Atoi(w.Header().Get("Retry-After")); ra < 1 || ra > 6 {
				t.Fatalf("Retry-After %q, want 1 to 6 s", w.Header().Get("Retry-After"))
			}
		}
		// Another address of the attacker's /64 shares its budget; another
		// address does not.
		if w := ask("[2001:db8::1]:1", "Bearer "+token); w.Code != http.StatusOK {
			t.Fatalf("another address: %d, want 200", w.Code)
		}
		if w := ask(other, "Bearer "+token); w.Code != http.StatusOK {
			t.Fatalf("an address with budget left: %d, want 200", w.Code)
		}
		time.Sleep(6 * time.Second) // one wrong token clientaddr.Refilled
		if w := ask(attacker, "Bearer "+token); w.Code != http.StatusOK {
			t.Fatalf("after the budget clientaddr.Refilled: %d, want 200", w.Code)
		}
		if strings.Contains(logs.String(), "guess") || strings.Contains(logs.String(), token[:16]) {
			t.Fatalf("a token reached the log:\n%s", logs.String())
		}
		if !strings.Contains(logs.String(), "token refused") {
			t.Fatalf("no refusal logged:\n%s", logs.String())
		}
	})
}
