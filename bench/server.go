package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ServerOptions tells StartServer how to run the server binary.
type ServerOptions struct {
	Bin      string // path to the built server binary
	RedisURL string // empty: the embedded store
	NodeEnv  string // NODE_ENV, reported by /health
	Origin   string // when set, CLIENT_URL
	Env      []string
	// Pprof serves the server's net/http/pprof on a loopback port of its
	// own (PPROF_ADDR), for ForceGC.
	Pprof bool
}

// Server is a server process started by StartServer.
type Server struct {
	URL  string // http://127.0.0.1:port
	Port int
	// pprofURL is where the server serves net/http/pprof, if anywhere:
	// its own port (ServerOptions.Pprof), else the main one.
	pprofURL string
	// gcURL is what ForceGC asks: pprof's forced collection for ours,
	// /debug/gc for the reference (bench/noderef).
	gcURL  string
	cmd    *exec.Cmd
	log    *tail
	exit   chan struct{}
	werr   error
	exitAt time.Time // set before exit is closed
}

// liftedBudgets lift the per-address and per-connection budgets of real
// users (README, Limits): the load comes from one address, loopback, and
// drives the protocol as fast as it can. A scenario that measures a budget
// sets it in ServerOptions.Env.
var liftedBudgets = []string{
	"MAX_CONNS_PER_IP=1000000",
	"NEW_CONNS_PER_IP_PER_MINUTE=100000000",
	"EVENTS_PER_SECOND=1000000",
	"COMMANDS_PER_SECOND=1000000",
}

// inheritedEnv are the variables of the bench's own environment that the
// servers it starts get: those that tune the Go runtime, so that a server
// runs on the GOMAXPROCS the report records. Every other variable the
// server reads comes from ServerOptions: one left set in the caller's shell
// (a budget, SIGNAL_DELAY_MS) must not change what the bench measures.
var inheritedEnv = []string{"GOMAXPROCS", "GOGC", "GOMEMLIMIT", "GODEBUG", "GOTRACEBACK"}

// StartServer runs the binary on a free port and waits until GET /health
// answers 200, the process exits, or ctx is done. A port picked by the
// kernel can be taken by another process before the server binds it: a
// server that exits for that is started again on other ports (the server
// takes its ports as numbers, like redis-server; see internal/redisproc).
func StartServer(ctx context.Context, opt ServerOptions) (*Server, error) {
	var err error
	for range 5 {
		var s *Server
		if s, err = startServer(ctx, opt); !inUse(err) {
			return s, err
		}
	}
	return nil, err
}

// inUse tells a server that exited because its port was taken meanwhile:
// Go's error, or Node's.
func inUse(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "address already in use") || strings.Contains(err.Error(), "EADDRINUSE"))
}

func startServer(ctx context.Context, opt ServerOptions) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(opt.Bin)
	pprofURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	pprofAddr := ""
	if opt.Pprof {
		pp, err := FreePort()
		if err != nil {
			return nil, err
		}
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", pp)
		pprofURL = "http://" + pprofAddr
	}
	cmd.Env = serverEnv(opt, port, pprofAddr, os.LookupEnv)
	return launch(ctx, cmd, port, pprofURL, pprofURL+"/debug/pprof/heap?gc=1")
}

// launch starts cmd, a server that listens on port, and waits until it is
// healthy (GET /health 200).
func launch(ctx context.Context, cmd *exec.Cmd, port int, pprofURL, gcURL string) (*Server, error) {
	// A directory of its own, so that no .env file of the caller leaks in.
	if cmd.Dir == "" {
		cmd.Dir = os.TempDir()
	}
	lg := &tail{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = lg, lg
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server %s: %w", cmd.Path, err)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port, pprofURL: pprofURL, gcURL: gcURL, cmd: cmd, log: lg, exit: make(chan struct{})}
	go func() { s.werr = cmd.Wait(); s.exitAt = time.Now(); close(s.exit) }()
	if err := s.waitHealthy(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// serverEnv is the whole environment of a server StartServer runs on port:
// what opt sets, and of the caller's environment (lookup) only the
// variables that tune the Go runtime (inheritedEnv).
func serverEnv(opt ServerOptions, port int, pprofAddr string, lookup func(string) (string, bool)) []string {
	env := make([]string, 0, len(inheritedEnv)+len(liftedBudgets)+len(opt.Env)+5)
	for _, k := range inheritedEnv {
		if v, ok := lookup(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = append(env, "PORT="+strconv.Itoa(port))
	if opt.RedisURL != "" {
		env = append(env, "REDIS_URL="+opt.RedisURL)
	}
	if opt.NodeEnv != "" {
		env = append(env, "NODE_ENV="+opt.NodeEnv)
	}
	if opt.Origin != "" {
		env = append(env, "CLIENT_URL="+opt.Origin)
	}
	if pprofAddr != "" {
		env = append(env, "PPROF_ADDR="+pprofAddr)
	}
	// Later entries win: opt.Env may set the budgets again.
	env = append(env, liftedBudgets...)
	return append(env, opt.Env...)
}

func (s *Server) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cl := &http.Client{Timeout: 2 * time.Second}
	for {
		code, err := s.get(ctx, cl, "/health")
		if err == nil && code == http.StatusOK {
			return nil
		}
		select {
		case <-s.exit:
			return fmt.Errorf("server exited before /health was 200 (%v); log:\n%s", s.werr, s.Log())
		case <-ctx.Done():
			return fmt.Errorf("wait for /health (last: %d %v): %w; log:\n%s", code, err, ctx.Err(), s.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) get(ctx context.Context, cl *http.Client, path string) (int, error) {
	return s.getURL(ctx, cl, s.URL+path)
}

func (s *Server) getURL(ctx context.Context, cl *http.Client, u string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", u, err)
	}
	resp, err := cl.Do(req)
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", u, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// Healthy reports whether GET /health answers 200.
func (s *Server) Healthy(ctx context.Context) bool {
	code, err := s.get(ctx, &http.Client{Timeout: 2 * time.Second}, "/health")
	return err == nil && code == http.StatusOK
}

// HealthyWithin reports whether GET /health answers 200 within d.
func (s *Server) HealthyWithin(ctx context.Context, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		if s.Healthy(ctx) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ForceGC asks the server for a garbage collection through
// /debug/pprof/heap?gc=1 when it exposes net/http/pprof (the reference:
// /debug/gc); it reports whether that worked. Nothing depends on it.
func (s *Server) ForceGC(ctx context.Context) bool {
	code, err := s.getURL(ctx, &http.Client{Timeout: 5 * time.Second}, s.gcURL)
	return err == nil && code == http.StatusOK
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Exited is closed when the server process has ended.
func (s *Server) Exited() <-chan struct{} { return s.exit }

// ExitedAt is when the process ended; only after Exited is closed.
func (s *Server) ExitedAt() time.Time { return s.exitAt }

// Log returns the tail of the server's stdout and stderr.
func (s *Server) Log() string { return s.log.String() }

// Terminate sends SIGTERM and returns at once: the server shuts down (with
// Redis, handing its resumable clients over); Exited tells when it is done.
func (s *Server) Terminate() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM server %d: %w", s.Pid(), err)
	}
	return nil
}

// WatchLog returns a channel that gets the first line the server writes
// from now on that contains substr.
func (s *Server) WatchLog(substr string) <-chan string { return s.log.watch(substr) }

// Stop sends SIGTERM, waits up to 10 s, then kills the process.
func (s *Server) Stop() {
	select {
	case <-s.exit:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exit:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exit
	}
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail keeps the last max bytes written to it, and tells its watchers of
// the lines they wait for.
type tail struct {
	mu       sync.Mutex
	max      int
	b        []byte
	partial  []byte // the line being written, when a write ended inside it
	watchers []logWatch
}

type logWatch struct {
	substr string
	ch     chan string
}

// watch returns a channel that gets the first whole line written from now
// on that contains substr.
func (t *tail) watch(substr string) <-chan string {
	ch := make(chan string, 1)
	t.mu.Lock()
	t.watchers = append(t.watchers, logWatch{substr: substr, ch: ch})
	t.mu.Unlock()
	return ch
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.watchers) > 0 {
		t.partial = append(t.partial, p...)
		for {
			i := bytes.IndexByte(t.partial, '\n')
			if i < 0 {
				break
			}
			line := string(t.partial[:i])
			t.partial = t.partial[i+1:]
			t.watchers = slices.DeleteFunc(t.watchers, func(w logWatch) bool {
				if !strings.Contains(line, w.substr) {
					return false
				}
				w.ch <- line
				return true
			})
		}
		if len(t.watchers) == 0 {
			t.partial = nil
		}
	}
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
