package deploy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/zivro/zivro/internal/eventually"
)

// startServer builds the server (the module above) and runs it on a free
// port, in a directory of its own (no .env, no built client), with env
// over the environment's; it returns the server's URL once it has said
// where it listens, the addresses its other listeners logged before that
// (by message: "metrics listening" for a METRICS_ADDR of port 0), and a
// stop that ends it with SIGTERM.
func startServer(t *testing.T, env map[string]string) (url string, listeners map[string]string, stop func()) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "zivro")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir()
	cmd.Env = os.Environ()
	for k, v := range map[string]string{"PORT": "0", "LOG_FORMAT": "json", "REDIS_URL": ""} {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	type started struct {
		addr      string
		listeners map[string]string
	}
	addr := make(chan started, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		others := map[string]string{} // the listeners logged before "listening"
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			a, ok := line["addr"].(string)
			msg, _ := line["msg"].(string)
			switch {
			case !ok || others == nil:
			case msg == "listening":
				addr <- started{a, others}
				others = nil // the test's from now on
			default:
				others[msg] = a
			}
		}
		done <- cmd.Wait()
	}()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("server did not stop within 15 s of SIGTERM")
			<-done
		}
	}
	select {
	case s := <-addr:
		return "http://127.0.0.1:" + s.addr[strings.LastIndex(s.addr, ":")+1:], s.listeners, stop
	case err := <-done:
		t.Fatalf("server exited before listening: %v\n%s", err, stderr.String())
	case <-time.After(10 * time.Second):
		stop()
		t.Fatal("server did not start within 10 s")
	}
	return "", nil, stop
}

// freeAddr returns a loopback address with a port free at the time.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// rawSocket is one Socket.IO client speaking the frames itself (as the
// server module's tests do).
type rawSocket struct {
	t    *testing.T
	conn *websocket.Conn
	ack  int
}

// dialSocket opens a websocket to the server at url and connects to the
// default namespace; header is sent with the handshake. It returns the
// handshake's response when the server refuses it.
func dialSocket(t *testing.T, url string, header http.Header) (*rawSocket, *http.Response, error) {
	t.Helper()
	ws := "ws" + strings.TrimPrefix(url, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, res, err := websocket.DefaultDialer.Dial(ws, header)
	if err != nil {
		return nil, res, err
	}
	t.Cleanup(func() { _ = conn.Close() })
	s := &rawSocket{t: t, conn: conn}
	if open := s.read(); !strings.HasPrefix(open, "0{") {
		t.Fatalf("open packet %q", open)
	}
	s.write("40")
	if connect := s.read(); !strings.HasPrefix(connect, "40") {
		t.Fatalf("connect packet %q", connect)
	}
	return s, res, nil
}

func (s *rawSocket) write(frame string) {
	s.t.Helper()
	if err := s.conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		s.t.Fatalf("write %q: %v", frame, err)
	}
}

// read returns the next frame other than a ping, answering pings.
func (s *rawSocket) read() string {
	s.t.Helper()
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := s.conn.ReadMessage()
		if err != nil {
			s.t.Fatalf("read: %v", err)
		}
		if string(msg) == "2" {
			s.write("3")
			continue
		}
		return string(msg)
	}
}

// call emits an event with an ack and returns the ack's argument, skipping
// other events (and acks sent before it: a connection's acks come in the
// order of its events).
func (s *rawSocket) call(event, payload string) map[string]any {
	s.t.Helper()
	s.ack++
	id := fmt.Sprint(s.ack)
	args := `"` + event + `"`
	if payload != "" {
		args += "," + payload
	}
	s.write("42" + id + "[" + args + "]")
	for {
		frame := s.read()
		if rest, ok := strings.CutPrefix(frame, "43"+id+"["); ok {
			var reply map[string]any
			if err := json.Unmarshal([]byte(strings.TrimSuffix(rest, "]")), &reply); err != nil {
				s.t.Fatalf("ack %q: %v", frame, err)
			}
			return reply
		}
	}
}

// join joins the queue, waiting (with a deadline) for a server that has
// just started to listen to its store: until then it refuses state
// changes as temporarily unavailable.
func (s *rawSocket) join(profile string) {
	s.t.Helper()
	eventually.True(s.t, 10*time.Second, func() (bool, string) {
		reply := s.call("join-queue", profile)
		if reply["ok"] == true {
			return true, ""
		}
		if reply["error"] != "temporarily unavailable" {
			s.t.Fatalf("join: %v", reply)
		}
		return false, fmt.Sprintf("join: %v", reply)
	})
}
