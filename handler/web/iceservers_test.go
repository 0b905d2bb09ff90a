package web

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zivro/zivro/handler/clientaddr"
)

func iceRouter(cfg ICEConfig) http.Handler {
	return New(Config{
		AllowedOrigins: mustOrigins("http://allowed.test"),
		Counts:         &fakeCounter{},
		ICE:            cfg,
	}, nopPinger{}, http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func getICE(h http.Handler, remote, origin, forwarded string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/ice-servers", nil)
	req.RemoteAddr = remote
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if forwarded != "" {
		req.Header.Set("X-Forwarded-For", forwarded)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestICEServers(t *testing.T) {
	stun := []string{"stun:stun.test:3478"}
	turnURLs := []string{"turn:turn.test:3478?transport=udp", "turns:turn.test:5349"}
	tests := []struct {
		name       string
		cfg        ICEConfig
		origin     string
		wantStatus int
		wantRelay  bool
		wantTTL    time.Duration
		wantACAO   string
	}{
		{"STUN only", ICEConfig{STUNURLs: stun}, "", http.StatusOK, false, 0, ""},
		{"TURN, default TTL", ICEConfig{STUNURLs: stun, TURNURLs: turnURLs, TURNSecret: "s3cret"}, "", http.StatusOK, true, DefaultTURNTTL, ""},
		{"TURN, TTL set", ICEConfig{STUNURLs: stun, TURNURLs: turnURLs, TURNSecret: "s3cret", TURNTTL: 10 * time.Minute}, "", http.StatusOK, true, 10 * time.Minute, ""},
		{"allowed origin", ICEConfig{STUNURLs: stun}, "http://allowed.test", http.StatusOK, false, 0, "http://allowed.test"},
		{"other origin", ICEConfig{STUNURLs: stun}, "http://evil.test", http.StatusForbidden, false, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			w := getICE(iceRouter(tt.cfg), "192.0.2.1:1234", tt.origin, "")
			if w.Code != tt.wantStatus || w.Header().Get("Access-Control-Allow-Origin") != tt.wantACAO {
				t.Fatalf("status %d, ACAO %q; want %d, %q", w.Code, w.Header().Get("Access-Control-Allow-Origin"), tt.wantStatus, tt.wantACAO)
			}
			if w.Code != http.StatusOK {
				return
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			var reply struct {
				ICEServers []struct {
					URLs       []string `json:"urls"`
					Username   string   `json:"username"`
					Credential string   `json:"credential"`
				} `json:"iceServers"`
				Relay     bool  `json:"relay"`
				ExpiresAt int64 `json:"expiresAt"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil {
				t.Fatalf("body %s: %v", w.Body, err)
			}
			if reply.Relay != tt.wantRelay || len(reply.ICEServers) == 0 || strings.Join(reply.ICEServers[0].URLs, " ") != strings.Join(stun, " ") || reply.ICEServers[0].Username != "" {
				t.Fatalf("reply %s, want STUN first (no credential), relay %v", w.Body, tt.wantRelay)
			}
			if !tt.wantRelay {
				if len(reply.ICEServers) != 1 || reply.ExpiresAt != 0 {
					t.Fatalf("reply %s, want STUN only", w.Body)
				}
				return
			}
			srv := reply.ICEServers[1]
			if strings.Join(srv.URLs, " ") != strings.Join(turnURLs, " ") {
				t.Fatalf("TURN URLs %q, want %q", srv.URLs, turnURLs)
			}
			// coturn's use-auth-secret: <expiry>:<id>, base64(HMAC-SHA1(secret, username)).
			expiry, id, ok := strings.Cut(srv.Username, ":")
			at, err := strconv.ParseInt(expiry, 10, 64)
			if !ok || err != nil || id == "" {
				t.Fatalf("username %q, want <unix time>:<id>", srv.Username)
			}
			if lo, hi := start.Add(tt.wantTTL).Unix(), time.Now().Add(tt.wantTTL).Unix(); at < lo || at > hi || reply.ExpiresAt != at {
				t.Fatalf("expiry %d (expiresAt %d), want now + %v (%d..%d)", at, reply.ExpiresAt, tt.wantTTL, lo, hi)
			}
			mac := hmac.New(sha1.New, []byte(tt.cfg.TURNSecret))
			mac.Write([]byte(srv.Username))
			if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); srv.Credential != want {
				t.Fatalf("credential %q, want %q", srv.Credential, want)
			}
			if again := getICE(iceRouter(tt.cfg), "192.0.2.1:1234", "", ""); strings.Contains(again.Body.String(), srv.Username) {
				t.Fatalf("a second request got the same username %q", srv.Username)
			}
		})
	}
}

func TestICEServersRateLimitPerAddress(t *testing.T) {
	h := iceRouter(ICEConfig{PerAddrPerMinute: 3})
	for i := range 3 {
		if w := getICE(h, "192.0.2.1:1234", "", ""); w.Code != http.StatusOK {
			t.Fatalf("request %d: %d, want 200 within the budget", i, w.Code)
		}
	}
	tests := []struct {
		name, remote, forwarded string
		want                    int
	}{
		{"over the budget", "192.0.2.1:1234", "", http.StatusTooManyRequests},
		{"another port of the address", "192.0.2.1:999", "", http.StatusTooManyRequests},
		{"a forwarded address from an untrusted peer is not believed", "192.0.2.1:1234", "198.51.100.7", http.StatusTooManyRequests},
		{"another address", "192.0.2.2:1234", "", http.StatusOK},
		{"same IPv6 /64", "[2001:db8::1]:1", "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := getICE(h, tt.remote, "", tt.forwarded)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d", w.Code, tt.want)
			}
			if w.Code == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		})
	}
	// Three more from the /64 of [2001:db8::1]: the fourth of the prefix is refused.
	for i, remote := range []string{"[2001:db8::2]:1", "[2001:db8::3]:1", "[2001:db8::4]:1"} {
		want := http.StatusOK
		if i == 2 {
			want = http.StatusTooManyRequests
		}
		if w := getICE(h, remote, "", ""); w.Code != want {
			t.Fatalf("%s: %d, want %d (one budget per /64)", remote, w.Code, want)
		}
	}
}

func TestICEServersTrustedProxy(t *testing.T) {
	cfg := Config{AllowedOrigins: mustOrigins("http://allowed.test"), Counts: &fakeCounter{}, ICE: ICEConfig{PerAddrPerMinute: 1}}
	var err error
	if cfg.ClientAddr, err = clientaddr.ParseConfig("10.0.0.0/8", ""); err != nil {
		t.Fatal(err)
	}
	h := New(cfg, nopPinger{}, http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	// Two clients behind one trusted proxy each have a budget of their own.
	for _, client := range []string{"198.51.100.1", "198.51.100.2"} {
		if w := getICE(h, "10.1.2.3:80", "", client); w.Code != http.StatusOK {
			t.Fatalf("client %s: %d, want 200", client, w.Code)
		}
	}
	if w := getICE(h, "10.1.2.3:80", "", "198.51.100.1"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("second request of 198.51.100.1: %d, want 429", w.Code)
	}
}

// parseICE builds an ICEConfig from its lists, as config does.
func parseICE(stun, turn, secret string) (ICEConfig, error) {
	stunURLs, err := ParseSTUNURLs(stun)
	if err != nil {
		return ICEConfig{}, err
	}
	turnURLs, err := ParseTURNURLs(turn)
	if err != nil {
		return ICEConfig{}, err
	}
	return NewICEConfig(stunURLs, turnURLs, secret, 0, 0)
}

func TestParseICEConfig(t *testing.T) {
	tests := []struct {
		name, stun, turn, secret string
		wantErr                  string
		wantTURN                 int
	}{
		{"STUN only", "stun:a:3478", "", "", "", 0},
		{"TURN", "stun:a:3478", "turn:t:3478, turns:t:5349", "s", "", 2},
		{"TURN without a secret", "", "turn:t:3478", "", "set both", 0},
		{"secret without TURN", "", "", "s", "set both", 0},
		{"a STUN entry that is not one", "http://a", "", "", `entry "http://a": want a URL starting with stun: or stuns:`, 0},
		{"a TURN entry that is not one", "", "stun:t", "s", `entry "stun:t": want a URL starting with turn: or turns:`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseICE(tt.stun, tt.turn, tt.secret)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(c.TURNURLs) != tt.wantTURN {
				t.Fatalf("config %+v, err %v; want %d TURN URLs", c, err, tt.wantTURN)
			}
		})
	}
}
