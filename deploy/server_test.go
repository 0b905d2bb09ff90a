package deploy

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
