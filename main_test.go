package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/rawsocket"
	"github.com/zivro/zivro/internal/redisproc"
	"github.com/zivro/zivro/store/redisstore"
)

// strongSecret passes secret.Check: what `openssl rand -hex 32` gives.
const strongSecret = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

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
	s, _, err := rawsocket.Dial(t, url, nil)
	if err != nil {
		t.Fatalf("connect while Redis is down: %v", err)
	}
	if reply := s.Call("join-queue", `{"name":"x"}`); reply["error"] != "temporarily unavailable" {
		t.Fatalf("join while Redis is down: %v", reply)
	}
	redisSrv.Restart(t)
	s.Join(`{"name":"x"}`)
	client := redis.NewClient(&redis.Options{Addr: redisSrv.Addr()})
	defer client.Close()
	if secret, err := client.Get(t.Context(), redisstore.SingleKeys().AddressKey).Result(); err != nil || len(secret) < 32 {
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

// addr returns the address of the first line msg logged with one: a
// listener of port 0 says there which port it was given. run logs its
// listeners before the public port's "listening" line, which startRunLogged
// waits for.
func (l *logRecorder) addr(t *testing.T, msg string) string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if a, ok := line["addr"].(string); ok && line["msg"] == msg {
			return a
		}
	}
	t.Fatalf("no %q line with an address before \"listening\"", msg)
	return ""
}
