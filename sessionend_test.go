package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/eventually"
	"github.com/zivro/zivro/internal/redisproc"
)

// Clients that connect to the namespace and leave at once (a namespace
// disconnect, or the connection closed, right after the server's connect
// reply), thousands of them, on both transports and both stores: then the
// server holds no socket (/metrics), counts nobody online (/stats), keeps
// no relay subscription (Redis), and holds none of their descriptors, with
// the garbage collector off (it would close what the server forgot).
func TestConnectThenLeaveSessionsAllEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of sessions")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			const token = strongSecret // a weak token stops the start (secret.Check)
			env := map[string]string{
				"MAX_CONNS_PER_IP":            "100000",
				"NEW_CONNS_PER_IP_PER_MINUTE": "100000",
				"PING_INTERVAL_MS":            "1000",
				"PING_TIMEOUT_MS":             "1000",
				"METRICS_ADDR":                "127.0.0.1:0",
				"METRICS_TOKEN":               token,
			}
			var rdb *redis.Client
			if store == "redis" {
				srv := redisproc.Start(t)
				env["REDIS_URL"] = srv.URL()
				rdb = redis.NewClient(&redis.Options{Addr: srv.Addr()})
				defer rdb.Close()
			}
			url, stop, done, logs := startRunLogged(t, env)
			defer func() { stop(); <-done }()
			metricsAddr := logs.addr(t, "metrics listening")
			port := url[strings.LastIndex(url, ":")+1:]

			const perMode, workers = 300, 4
			var wg sync.WaitGroup
			for _, transport := range []string{"websocket", "polling"} {
				for _, leave := range []string{"41", "close"} {
					for range workers {
						wg.Go(func() {
							for range perMode / workers {
								if err := connectThenLeave(url, transport, leave); err != nil {
									t.Error(err)
									return
								}
							}
						})
					}
				}
			}
			wg.Wait()

			// The heartbeat (2 s here) ends the polling sessions whose
			// client went; /stats may be 2 s old.
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
			defer cancel()
			eventually.True(t, 15*time.Second, func() (bool, string) {
				sockets := connectedSockets(t, "http://"+metricsAddr+"/metrics", token)
				online := statsOnline(t, url)
				relays := 0
				if rdb != nil {
					chans, err := rdb.PubSubShardChannels(ctx, "zivro:to:*").Result()
					if err != nil && ctx.Err() == nil {
						t.Fatalf("PUBSUB SHARDCHANNELS: %v", err)
					}
					relays = len(chans)
				}
				fds := serverDescriptors(t, port)
				return sockets == 0 && online == 0 && relays == 0 && fds == 0,
					fmt.Sprintf("after %d connect-then-leave sessions: sockets %d, online %d, relay subscriptions %d, descriptors of connections %d", 4*perMode, sockets, online, relays, fds)
			})
		})
	}
}

// oneShot is a client whose connections close after each request: the
// server's connections the test counts are the sessions'.
var oneShot = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

// connectThenLeave opens a session on transport, connects to the
// namespace, waits for the connect reply and leaves: "41" sends the
// namespace disconnect then closes, "close" just closes (a polling client
// stops polling).
func connectThenLeave(url, transport, leave string) error {
	if transport == "websocket" {
		conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := conn.ReadMessage(); err != nil {
			return fmt.Errorf("open packet: %w", err)
		}
		if err := conn.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
			return err
		}
		if _, reply, err := conn.ReadMessage(); err != nil || !strings.HasPrefix(string(reply), "40{") {
			return fmt.Errorf("connect reply %q, %v", reply, err)
		}
		if leave == "41" {
			if err := conn.WriteMessage(websocket.TextMessage, []byte("41")); err != nil {
				return err
			}
		}
		return conn.Close()
	}
	base := url + "/socket.io/?EIO=4&transport=polling"
	open, err := pollingRequest(http.MethodGet, base, "")
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	var o struct{ Sid string }
	if !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &o) != nil {
		return fmt.Errorf("open packet %q", open)
	}
	base += "&sid=" + o.Sid
	if _, err := pollingRequest(http.MethodPost, base, "40"); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	// A loaded machine may see a ping first: the client answers it.
	for {
		reply, err := pollingRequest(http.MethodGet, base, "")
		if err != nil {
			return fmt.Errorf("connect reply: %w", err)
		}
		if strings.Contains(reply, "40{") {
			break
		}
		if reply != "2" {
			return fmt.Errorf("connect reply %q", reply)
		}
		if _, err := pollingRequest(http.MethodPost, base, "3"); err != nil {
			return fmt.Errorf("pong: %w", err)
		}
	}
	if leave == "41" {
		if _, err := pollingRequest(http.MethodPost, base, "41"); err != nil {
			return fmt.Errorf("namespace disconnect: %w", err)
		}
	}
	return nil
}

func pollingRequest(method, url, body string) (string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	res, err := oneShot.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: status %d %q", method, res.StatusCode, b)
	}
	return string(b), err
}

// connectedSockets is the sum of zivro_connected_sockets in /metrics.
func connectedSockets(t *testing.T, url, token string) int {
	t.Helper()
	res, body := get(t, url, http.Header{"Authorization": {"Bearer " + token}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", res.StatusCode)
	}
	n := 0
	for line := range strings.Lines(body) {
		if rest, ok := strings.CutPrefix(line, "zivro_connected_sockets{"); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest[strings.LastIndex(rest, " ")+1:]), 64)
			if err != nil {
				t.Fatalf("/metrics line %q: %v", line, err)
			}
			n += int(v)
		}
	}
	return n
}

// statsOnline is /stats's online figure.
func statsOnline(t *testing.T, url string) int {
	t.Helper()
	res, err := oneShot.Get(url + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var stats struct {
		Online *int `json:"online"`
	}
	if err := json.NewDecoder(res.Body).Decode(&stats); err != nil || stats.Online == nil {
		t.Fatalf("/stats: %v (status %d)", err, res.StatusCode)
	}
	return *stats.Online
}

// serverDescriptors counts this process's open descriptors of TCP
// connections accepted on port (the listener itself left out).
func serverDescriptors(t *testing.T, port string) int {
	t.Helper()
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	local := fmt.Sprintf(":%04X", p)
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			// local_address st ... inode (the 10th field)
			if len(f) > 9 && strings.HasSuffix(f[1], local) && f[3] != "0A" {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && inodes[target] {
			n++
		}
	}
	return n
}
