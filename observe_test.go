package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zivro/zivro/internal/eventually"
	"github.com/zivro/zivro/internal/rawsocket"
)

func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// With METRICS_ADDR, /metrics is served there and not on the public port.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	url, stop, done, logs := startRunLogged(t, map[string]string{"METRICS_ADDR": "127.0.0.1:0", "METRICS_TOKEN": strongSecret})
	defer func() { stop(); <-done }()
	addr := logs.addr(t, "metrics listening")

	eventually.True(t, 10*time.Second, func() (bool, string) {
		res, body := get(t, "http://"+addr+"/metrics", http.Header{"Authorization": {"Bearer " + strongSecret}})
		if res.StatusCode != http.StatusOK {
			return false, fmt.Sprintf("metrics listener answers %d", res.StatusCode)
		}
		if !strings.Contains(body, "zivro_users_waiting") || !strings.Contains(body, "process_cpu_seconds_total") {
			t.Fatalf("metrics without the store's figures or the process collector: %.300s", body)
		}
		return true, ""
	})
	if res, _ := get(t, "http://"+addr+"/metrics", nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the token: %d, want 401", res.StatusCode)
	}
	if res, body := get(t, url+"/metrics", http.Header{"Authorization": {"Bearer " + strongSecret}}); res.StatusCode == http.StatusOK || strings.Contains(body, "zivro_") {
		t.Fatalf("public port serves /metrics (%d)", res.StatusCode)
	}
}

// The logs carry a request id on HTTP lines (the one the response bore)
// and on a socket's connect line; no full client address and no chat
// text, ever.
func TestLogsCarryRequestIDsNotAddressesOrChat(t *testing.T) {
	const (
		clientIP = "203.0.113.77"
		chatText = "the-secret-words-of-a-chat"
	)
	url, stop, done, logs := startRunLogged(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32"})
	defer func() { stop(); <-done }()
	from := http.Header{"X-Forwarded-For": {clientIP}}

	res, _ := get(t, url+"/stats", from)
	statsID := res.Header.Get("X-Request-Id")
	if statsID == "" {
		t.Fatal("no X-Request-Id on the response")
	}
	a, _, err := rawsocket.Dial(t, url, from)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := rawsocket.Dial(t, url, from)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*rawsocket.Socket{a, b} {
		s.Join(`{"name":"x"}`)
	}
	for !strings.HasPrefix(a.Read(), `42["matched"`) {
	}
	if reply := a.Call("chat-message", `{"message":"`+chatText+`"}`); reply["ok"] != true {
		t.Fatalf("chat: %v", reply)
	}
	if reply := a.Call("chat-message", `{"message":42,"x":"`+chatText+`"}`); reply["ok"] == true {
		t.Fatalf("a bad chat message was taken: %v", reply)
	}

	find := func(msg, key, value string) map[string]any {
		var found map[string]any
		eventually.True(t, 10*time.Second, func() (bool, string) {
			logs.mu.Lock()
			defer logs.mu.Unlock()
			for _, line := range logs.lines {
				if line["msg"] == msg && line[key] == value {
					found = line
					return true, ""
				}
			}
			return false, fmt.Sprintf("no %q line with %s=%s", msg, key, value)
		})
		return found
	}
	httpLine := find("http", "request_id", statsID)
	if httpLine["path"] != "/stats" || httpLine["client"] != "203.0.113.0/24" {
		t.Fatalf("http line %v: want path /stats, client 203.0.113.0/24", httpLine)
	}
	var connects []map[string]any
	eventually.True(t, 10*time.Second, func() (bool, string) {
		logs.mu.Lock()
		defer logs.mu.Unlock()
		connects = connects[:0]
		for _, line := range logs.lines {
			if line["msg"] == "socket connected" {
				connects = append(connects, line)
			}
		}
		return len(connects) >= 2, fmt.Sprintf("%d socket connected lines, want 2", len(connects))
	})
	ids := map[string]bool{statsID: true}
	for _, connect := range connects {
		id, _ := connect["request_id"].(string)
		if len(id) != 16 || ids[id] || connect["socket"] == "" || connect["transport"] != "websocket" {
			t.Fatalf("connect line %v: want a request id of its own", connect)
		}
		ids[id] = true
	}
	find("input refused", "event", "chat-message")

	logs.mu.Lock()
	defer logs.mu.Unlock()
	for _, line := range logs.lines {
		b, _ := json.Marshal(line)
		for _, secret := range []string{clientIP, chatText} {
			if strings.Contains(string(b), secret) {
				t.Errorf("log line holds %q: %s", secret, b)
			}
		}
	}
}

// `zivro healthcheck` (the container's HEALTHCHECK) passes against a
// serving server and fails when nothing listens on PORT.
func TestHealthcheck(t *testing.T) {
	url, stop, done := startRun(t, map[string]string{})
	defer func() { stop(); <-done }()
	port := url[strings.LastIndex(url, ":")+1:]
	if err := healthcheck(t.Context(), func(k string) string { return map[string]string{"PORT": port}[k] }); err != nil {
		t.Fatalf("healthcheck of a serving server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	_ = ln.Close()
	if err := healthcheck(t.Context(), func(k string) string { return map[string]string{"PORT": free}[k] }); err == nil {
		t.Fatal("healthcheck passed with nothing listening")
	}
}

// `zivro healthcheck` reads the server's configuration, .env included: a
// PORT set in .env alone is the port it asks.
func TestHealthcheckReadsDotEnv(t *testing.T) {
	url, stop, done := startRun(t, map[string]string{}) // in a directory of its own
	defer func() { stop(); <-done }()
	port := url[strings.LastIndex(url, ":")+1:]
	if err := os.WriteFile(".env", []byte("PORT="+port+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := healthcheck(t.Context(), func(string) string { return "" }); err != nil {
		t.Fatalf("healthcheck with PORT=%s in .env: %v", port, err)
	}
}

// What a client chooses never reaches a log line whole: a 30 KB event
// name and long request paths are cut to 64 bytes, with a marker, and the
// lines stay short.
func TestClientTextInLogsIsBounded(t *testing.T) {
	const maxLogText = 64 // logtext.maxLogText, the README's bound
	url, stop, done, logs := startRunLogged(t, map[string]string{})
	defer func() { stop(); <-done }()
	// Distinct chunks, so that any 16 bytes of it past the cap are found.
	var b strings.Builder
	for i := 0; b.Len() < 30<<10; i++ {
		fmt.Fprintf(&b, "chat%06d;", i)
	}
	payload := b.String()

	s, _, err := rawsocket.Dial(t, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reply := s.Call(payload, `{}`); reply["ok"] == true {
		t.Fatalf("an unknown event was taken: %v", reply)
	}
	// A path as long as the request head allows, with a line break in it;
	// and one over it, refused before any handler sees it.
	longPath := "/" + payload[:15<<10] + "%0A" + `"quoted"`
	if res, _ := get(t, url+longPath, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("long path: %d, want 404", res.StatusCode)
	}
	if res, _ := get(t, url+"/"+payload, nil); res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("30 KB path: %d, want 431", res.StatusCode)
	}

	// The refusal is logged after its ack, the request after its answer.
	waitLine := func(msg, key, prefix string) {
		t.Helper()
		eventually.True(t, 10*time.Second, func() (bool, string) {
			logs.mu.Lock()
			defer logs.mu.Unlock()
			for _, line := range logs.lines {
				if v, _ := line[key].(string); line["msg"] == msg && strings.HasPrefix(v, prefix) {
					if !strings.Contains(v, "cut") {
						t.Errorf("%s line without the cut marker: %q", msg, v)
					}
					return true, ""
				}
			}
			return false, fmt.Sprintf("no %q line with %s starting %q", msg, key, prefix)
		})
	}
	waitLine("input refused", "event", payload[:maxLogText])
	waitLine("http", "path", "/"+payload[:maxLogText-1])

	logs.mu.Lock()
	defer logs.mu.Unlock()
	for _, line := range logs.raw {
		if len(line) > 1024 {
			t.Errorf("log line of %d bytes: %.200s...", len(line), line)
		}
		if strings.Contains(line, "\n") || strings.Contains(line, `\n`) {
			t.Errorf("log line carries the path's line break: %.200s", line)
		}
		for i := maxLogText; i+16 <= len(payload); i += 8 {
			if strings.Contains(line, payload[i:i+16]) {
				t.Errorf("log line carries the client's text from byte %d on: %.200s", i, line)
				break
			}
		}
	}
}
