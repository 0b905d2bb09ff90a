// Package redisproc starts throwaway redis-server processes for tests and the
// benchmark, so that the Redis store and the server are tested against the
// real thing rather than a fake that might disagree with it on Lua, streams
// or expiry.
package redisproc

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zivro/zivro/internal/needbin"
	"github.com/zivro/zivro/internal/syncbuf"
)

// startTimeout bounds how long a fresh redis-server may take to answer PING.
const startTimeout = 10 * time.Second

// Server is one redis-server child process listening on 127.0.0.1.
type Server struct {
	bin  string
	port int
	dir  string
	// conf is a configuration file given first (a sentinel's, which it
	// rewrites); extra are more arguments (a cluster node's, a replica's
	// --replicaof).
	conf  string
	extra []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	output *syncbuf.Buffer
	exited chan struct{} // closed when cmd has exited
}

// Start runs redis-server (found in PATH) on a free port, without persistence,
// waits until it answers PING and kills it when the test ends. Without
// redis-server installed the test is skipped under -short and fails
// otherwise: the Redis tests are the point (see needbin).
func Start(t testing.TB) *Server {
	t.Helper()
	bin := needbin.Path(t, "redis-server", "apt-get install redis-server")
	s, err := run(bin, t.TempDir())
	if err != nil {
		t.Fatalf("redisproc: %v", err)
	}
	t.Cleanup(s.kill)
	return s
}

// Run runs bin (a redis-server) on a free port, without persistence, and
// waits until it answers PING; Close stops it. For programs (the
// benchmark); tests use Start.
func Run(bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "redisproc-")
	if err != nil {
		return nil, fmt.Errorf("redisproc: %w", err)
	}
	s, err := run(bin, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("redisproc: %w", err)
	}
	return s, nil
}

// Close kills a server that Run started, waits until it has exited and
// removes its directory.
func (s *Server) Close() {
	s.kill()
	_ = os.RemoveAll(s.dir)
}

func run(bin, dir string) (*Server, error) {
	return runWith(bin, dir, nil, false)
}

// runWith runs bin with extra arguments; withBus: on a port whose cluster
// bus port (port + 10000) is free too.
func runWith(bin, dir string, extra []string, withBus bool) (*Server, error) {
	s := &Server{bin: bin, dir: dir, extra: extra}
	// A port picked by the kernel can be taken by someone else before
	// redis-server binds it; try a few.
	var err error
	for range 10 {
		s.port, err = freePort()
		if err != nil {
			continue
		}
		if withBus && !busFree(s.port) {
			err = fmt.Errorf("cluster bus port %d taken", s.port+clusterBusOffset)
			continue
		}
		if err = s.start(); err == nil {
			return s, nil
		}
	}
	return nil, err
}

// Addr is the host:port to dial.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// URL is the address as a redis:// URL, the form REDIS_URL takes.
func (s *Server) URL() string {
	return "redis://" + s.Addr()
}

// Stop kills the server and waits until it has exited; its port refuses
// connections until Restart.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.kill()
}

// Restart stops the server if it runs and starts a fresh one on the same
// port. The data is gone, as after a crash of a Redis without persistence.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.kill()
	var err error
	// The old process has exited, but give the kernel a moment to hand the
	// port out again if it is slow to.
	deadline := time.Now().Add(startTimeout)
	for {
		if err = s.start(); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("redisproc: restart: %v", err)
	}
}

func (s *Server) start() error {
	out := &syncbuf.Buffer{}
	var args []string
	if s.conf != "" {
		args = append(args, s.conf)
	}
	args = append(append(args,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--loglevel", "warning",
	), s.extra...)
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.output, s.exited = cmd, out, exited
	s.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			return fmt.Errorf("redis-server on port %d exited: %s", s.port, strings.TrimSpace(out.String()))
		default:
		}
		if ping(s.Addr()) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("redis-server on port %d did not answer PING within %v: %s", s.port, startTimeout, strings.TrimSpace(out.String()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill stops the process, if any, and waits for it to exit so that its port
// is free and no child outlives the test.
func (s *Server) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// signal sends sig to the running process.
func (s *Server) signal(sig os.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return fmt.Errorf("redis-server on port %d is not running", s.port)
	}
	return s.cmd.Process.Signal(sig)
}

// ping sends one inline PING and expects +PONG.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
