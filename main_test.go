package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/redisproc"
	"github.com/zivro/zivro/store/redisstore"
)

// strongSecret passes secret.Check: what `openssl rand -hex 32` gives.
const strongSecret = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, c config)
		wantErr string
	}{
		{"defaults", nil, func(t *testing.T, c config) {
			if c.port != "5000" || c.env != "development" || c.redisURL != "" {
				t.Fatalf("got %+v", c)
			}
			if c.pingInterval+c.pingTimeout > 30*time.Second {
				t.Fatalf("heartbeat %v + %v lets a dead client linger over 30 s", c.pingInterval, c.pingTimeout)
			}
			if c.rematchWindow != 120*time.Second {
				t.Fatalf("rematch window %v", c.rematchWindow)
			}
		}, ""},
		{"origins list", map[string]string{"CLIENT_URL": " https://a.example/ ,https://b.example,, "}, func(t *testing.T, c config) {
			if c.clientURLs.String() != "https://a.example,https://b.example" {
				t.Fatalf("origins %q", c.clientURLs)
			}
		}, ""},
		{"origin without scheme", map[string]string{"CLIENT_URL": "zivro.vercel.app"}, nil, "CLIENT_URL"},
		{"allow any without opt-in", map[string]string{"CLIENT_URL": "*"}, nil, "ALLOW_ANY_ORIGIN"},
		{"allow any, meant", map[string]string{"CLIENT_URL": "*", "ALLOW_ANY_ORIGIN": "true"}, func(t *testing.T, c config) {
			if !c.clientURLs.Any() {
				t.Fatalf("origins %q: want any", c.clientURLs)
			}
		}, ""},
		{"timings", map[string]string{"PING_INTERVAL_MS": "300", "PING_TIMEOUT_MS": "400", "REMATCH_WINDOW_MS": "1500"}, func(t *testing.T, c config) {
			if c.pingInterval != 300*time.Millisecond || c.pingTimeout != 400*time.Millisecond || c.rematchWindow != 1500*time.Millisecond {
				t.Fatalf("got %v %v %v", c.pingInterval, c.pingTimeout, c.rematchWindow)
			}
		}, ""},
		{"safety", map[string]string{"INTEREST_WAIT_MS": "700", "REPORT_THRESHOLD": "2", "COOL_DOWN_MS": "900", "REPORT_WINDOW_MS": "800", "BLOCK_TTL_MS": "600"}, func(t *testing.T, c config) {
			s := c.safety
			if s.interestWait != 700*time.Millisecond || s.reportThreshold != 2 || s.coolDown != 900*time.Millisecond || s.reportWindow != 800*time.Millisecond || s.blockTTL != 600*time.Millisecond {
				t.Fatalf("got %+v", s)
			}
		}, ""},
		{"bad report threshold", map[string]string{"REPORT_THRESHOLD": "0"}, nil, "REPORT_THRESHOLD"},
		{"bad interest wait", map[string]string{"INTEREST_WAIT_MS": "x"}, nil, "INTEREST_WAIT_MS"},
		{"address key kept in Redis, not derived from its URL", map[string]string{"REDIS_URL": "redis://secret@r:6379"}, func(t *testing.T, c config) {
			if c.safety.addressSecret != nil {
				t.Fatalf("address secret %x from the Redis URL, want none (the one kept in Redis)", c.safety.addressSecret)
			}
		}, ""},
		{"address key random without Redis", nil, func(t *testing.T, c config) {
			again, _ := loadConfig(func(string) string { return "" })
			if len(c.safety.addressSecret) < 32 || string(c.safety.addressSecret) == string(again.safety.addressSecret) {
				t.Fatalf("address secret %x then %x: want a random one per process", c.safety.addressSecret, again.safety.addressSecret)
			}
		}, ""},
		{"address key", map[string]string{"ADDRESS_HASH_KEY": strongSecret, "REDIS_URL": "redis://r:6379"}, func(t *testing.T, c config) {
			if string(c.safety.addressSecret) != strongSecret {
				t.Fatalf("address secret %q", c.safety.addressSecret)
			}
		}, ""},
		{"weak address key", map[string]string{"ADDRESS_HASH_KEY": "hunter2"}, nil, "ADDRESS_HASH_KEY is too weak"},
		{"repetitive address key", map[string]string{"ADDRESS_HASH_KEY": strings.Repeat("ab", 20)}, nil, "ADDRESS_HASH_KEY is too weak"},
		{"metrics token", map[string]string{"METRICS_TOKEN": strongSecret}, func(t *testing.T, c config) {
			if c.metricsToken != strongSecret {
				t.Fatalf("metrics token %q", c.metricsToken)
			}
		}, ""},
		{"weak metrics token", map[string]string{"METRICS_TOKEN": "ab"}, nil, "METRICS_TOKEN is too weak"},
		{"weak TURN secret", map[string]string{"TURN_URLS": "turn:t.example:3478", "TURN_SECRET": "zq9"}, nil, "TURN_SECRET is too weak"},
		{"repetitive TURN secret", map[string]string{"TURN_URLS": "turn:t.example:3478", "TURN_SECRET": strings.Repeat("secret12", 5)}, nil, "TURN_SECRET is too weak"},
		{"bad timing", map[string]string{"PING_TIMEOUT_MS": "soon"}, nil, "PING_TIMEOUT_MS"},
		{"negative timing", map[string]string{"REMATCH_WINDOW_MS": "-5"}, nil, "REMATCH_WINDOW_MS"},
		{"bad log level", map[string]string{"LOG_LEVEL": "loud"}, nil, "LOG_LEVEL"},
		{"signal delay and STUN by default", nil, func(t *testing.T, c config) {
			if c.signalDelay != defaultSignalDelay || len(c.ice.TURNURLs) != 0 || len(c.ice.STUNURLs) != 1 {
				t.Fatalf("signal delay %v, ICE %+v", c.signalDelay, c.ice)
			}
		}, ""},
		{"signal delay off", map[string]string{"SIGNAL_DELAY_MS": "0"}, func(t *testing.T, c config) {
			if c.signalDelay != 0 {
				t.Fatalf("signal delay %v, want none", c.signalDelay)
			}
		}, ""},
		{"budgets", map[string]string{"EVENTS_PER_SECOND": "40", "COMMANDS_PER_SECOND": "3"}, func(t *testing.T, c config) {
			if c.eventsPerSecond != 40 || c.commandsPerSecond != 3 {
				t.Fatalf("events %d/s, commands %d/s", c.eventsPerSecond, c.commandsPerSecond)
			}
		}, ""},
		{"bad event budget", map[string]string{"EVENTS_PER_SECOND": "0"}, nil, "EVENTS_PER_SECOND"},
		{"bad signal delay", map[string]string{"SIGNAL_DELAY_MS": "-1"}, nil, "SIGNAL_DELAY_MS"},
		{"TURN", map[string]string{"TURN_URLS": "turn:t.example:3478", "TURN_SECRET": strongSecret, "TURN_TTL": "600", "ICE_SERVERS_PER_IP_PER_MINUTE": "7"}, func(t *testing.T, c config) {
			if len(c.ice.TURNURLs) != 1 || c.ice.TURNSecret != strongSecret || c.ice.TURNTTL != 10*time.Minute || c.ice.PerAddrPerMinute != 7 {
				t.Fatalf("ICE %+v", c.ice)
			}
		}, ""},
		{"TURN without secret", map[string]string{"TURN_URLS": "turn:t.example:3478"}, nil, "TURN_SECRET"},
		{"bad TURN TTL", map[string]string{"TURN_URLS": "turn:t.example:3478", "TURN_SECRET": strongSecret, "TURN_TTL": "1h"}, nil, "TURN_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir()) // no .env here
			c, err := loadConfig(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestDotEnvFillsWhatTheEnvironmentLeavesUnset(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("PORT=6123\nNODE_ENV=staging\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(func(k string) string { return map[string]string{"NODE_ENV": "production"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.port != "6123" || c.env != "production" {
		t.Fatalf("port %s env %s: want 6123 from .env and production from the environment", c.port, c.env)
	}
}

// A CLIENT_URL the CORS middleware cannot take stops the start with an
// error that names it, never a panic.
func TestRunRefusesABadClientURL(t *testing.T) {
	t.Chdir(t.TempDir())
	env := map[string]string{"PORT": "0", "CLIENT_URL": "zivro.vercel.app"}
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("run panicked: %v", p)
			}
		}()
		err = run(t.Context(), func(k string) string { return env[k] }, io.Discard)
	}()
	if err == nil || !strings.Contains(err.Error(), "CLIENT_URL") || !strings.Contains(err.Error(), "zivro.vercel.app") {
		t.Fatalf("run = %v, want an error naming CLIENT_URL and the entry", err)
	}
}

// A wildcard in CLIENT_URL is meant: a preview deployment's origin is
// allowed, another site is not.
func TestRunAllowsWildcardOrigins(t *testing.T) {
	url, stop, done := startRun(t, map[string]string{"CLIENT_URL": "https://zivro-*.vercel.app"})
	defer func() { stop(); <-done }()
	for origin, want := range map[string]int{
		"https://zivro-git-main-me.vercel.app": http.StatusOK,
		"https://evil.vercel.app":              http.StatusForbidden,
	} {
		req, _ := http.NewRequest(http.MethodGet, url+"/health", nil)
		req.Header.Set("Origin", origin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("Origin %s: status %d, want %d", origin, res.StatusCode, want)
		}
	}
}

// The platform's health check (render.yaml) passes while Redis is down,
// which the server rides out; /health, for operators, says Redis is down.
func TestPlatformHealthCheckPassesWhileRedisIsDown(t *testing.T) {
	blueprint, err := os.ReadFile("render.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*healthCheckPath:\s*(\S+)`).FindSubmatch(blueprint)
	if m == nil {
		t.Fatal("render.yaml has no healthCheckPath")
	}
	path := string(m[1])
	redisSrv := redisproc.Start(t)
	redisSrv.Stop(t)
	url, stop, done := startRun(t, map[string]string{"REDIS_URL": redisSrv.URL()})
	defer func() { stop(); <-done }()
	get := func(path string) int {
		t.Helper()
		res, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res.StatusCode
	}
	if got := get("/health"); got != http.StatusServiceUnavailable {
		t.Errorf("/health while Redis is down: %d, want 503", got)
	}
	if got := get(path); got != http.StatusOK {
		t.Errorf("render.yaml's health check %s while Redis is down: %d, want 200", path, got)
	}
}

// Without ADDRESS_HASH_KEY the address secret is kept in Redis; a Redis
// down at start delays it, not the server: joins are refused as
// temporarily unavailable until Redis is back, then accepted, and the
// secret is then in Redis.
func TestAddressSecretWaitsForRedisDownAtStart(t *testing.T) {
	redisSrv := redisproc.Start(t)
	redisSrv.Stop(t)
	url, stop, done := startRun(t, map[string]string{"REDIS_URL": redisSrv.URL()})
	defer func() { stop(); <-done }()
	s, _, err := dialSocket(t, url, nil)
	if err != nil {
		t.Fatalf("connect while Redis is down: %v", err)
	}
	if reply := s.call("join-queue", `{"name":"x"}`); reply["error"] != "temporarily unavailable" {
		t.Fatalf("join while Redis is down: %v", reply)
	}
	redisSrv.Restart(t)
	s.join(`{"name":"x"}`)
	client := redis.NewClient(&redis.Options{Addr: redisSrv.Addr()})
	defer client.Close()
	if secret, err := client.Get(t.Context(), redisstore.AddressKeyKey).Result(); err != nil || len(secret) < 32 {
		t.Fatalf("address secret in Redis: %q %v", secret, err)
	}
}

// startRun runs the server in-process on a free port and returns its URL
// once it has said where it listens; cancelling stops it.
func startRun(t *testing.T, env map[string]string) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	url, stop, done, _ := startRunLogged(t, env)
	return url, stop, done
}

// logRecorder keeps the lines a server logged, decoded.
type logRecorder struct {
	mu    sync.Mutex
	lines []map[string]any
	raw   []string // every line as written, JSON or not
}

// count returns how many lines have msg and, when attr is not "", that
// attribute, and the sum of attr's values over them.
func (l *logRecorder) count(msg, attr string) (n int, sum float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if line["msg"] != msg {
			continue
		}
		v, ok := line[attr].(float64)
		if attr != "" && !ok {
			continue
		}
		if attr == "" && line["suppressed"] != nil {
			continue // a ratelog report, not a line of msg's kind
		}
		n++
		sum += v
	}
	return n, sum
}

// startRunLogged is startRun that also records what the server logs.
func startRunLogged(t *testing.T, env map[string]string) (string, context.CancelFunc, <-chan error, *logRecorder) {
	t.Helper()
	t.Chdir(t.TempDir())
	env["PORT"] = "0"
	if env["LOG_FORMAT"] == "" {
		env["LOG_FORMAT"] = "json" // the recorder decodes JSON lines
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, w)
		_ = w.Close()
	}()
	rec := &logRecorder{}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			rec.mu.Lock()
			rec.raw = append(rec.raw, sc.Text())
			rec.mu.Unlock()
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			rec.mu.Lock()
			rec.lines = append(rec.lines, line)
			rec.mu.Unlock()
			if a, ok := line["addr"].(string); ok && line["msg"] == "listening" {
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		port := a[strings.LastIndex(a, ":")+1:]
		return "http://127.0.0.1:" + port, cancel, done, rec
	case err := <-done:
		t.Fatalf("run returned before listening: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start within 10 s")
	}
	return "", cancel, done, rec
}

func TestRunServesHealthAndStopsCleanly(t *testing.T) {
	url, stop, done := startRun(t, map[string]string{"NODE_ENV": "test", "CLIENT_URL": "http://allowed.test"})

	tests := []struct {
		name       string
		origin     string
		wantStatus int
		wantACAO   string
	}{
		{"no origin", "", http.StatusOK, ""},
		{"allowed origin", "http://allowed.test", http.StatusOK, "http://allowed.test"},
		{"foreign origin", "http://evil.test", http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, url+"/health", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
				t.Fatalf("ACAO %q, want %q", got, tt.wantACAO)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatal("security headers missing")
			}
			if tt.wantStatus != http.StatusOK {
				return
			}
			var body struct {
				Status string   `json:"status"`
				Env    string   `json:"env"`
				Uptime *float64 `json:"uptime"`
			}
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if body.Status != "ok" || body.Env != "test" || body.Uptime == nil {
				t.Fatalf("body %+v", body)
			}
		})
	}

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v after shutdown, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop within 15 s")
	}
}

// The Socket.IO endpoint gets a trimmed request (socketio.slimRequest): the
// CORS check still runs on the request as it came, a websocket opens, and
// the polling transport's answers keep their CORS and security headers.
func TestSocketIOEndpointOriginsAndHeaders(t *testing.T) {
	url, stop, done := startRun(t, map[string]string{"NODE_ENV": "test", "CLIENT_URL": "http://allowed.test"})
	defer func() { stop(); <-done }()
	ws := "ws" + strings.TrimPrefix(url, "http") + "/socket.io/?EIO=4&transport=websocket"

	for _, tt := range []struct {
		origin string
		want   int
	}{{"http://allowed.test", http.StatusSwitchingProtocols}, {"http://evil.test", http.StatusForbidden}} {
		conn, res, err := websocket.DefaultDialer.Dial(ws, http.Header{"Origin": {tt.origin}, "Cookie": {"a=b"}})
		if res == nil || res.StatusCode != tt.want {
			t.Fatalf("websocket from %s: %v %v, want status %d", tt.origin, res, err, tt.want)
		}
		if conn == nil {
			continue
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, msg, err := conn.ReadMessage()
		if err != nil || !strings.HasPrefix(string(msg), "0{") {
			t.Fatalf("open packet: %q %v", msg, err)
		}
		_ = conn.Close()
	}

	req, _ := http.NewRequest(http.MethodGet, url+"/socket.io/?EIO=4&transport=polling", nil)
	req.Header.Set("Origin", "http://allowed.test")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "0{") {
		t.Fatalf("polling handshake: %d %q", res.StatusCode, body)
	}
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "http://allowed.test" {
		t.Fatalf("polling ACAO %q", got)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("polling: security headers missing")
	}
}
