package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/internal/redisproc"
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
	cmd      *exec.Cmd
	log      *tail
	exit     chan struct{}
	werr     error
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

// StartServer runs the binary on a free port and waits until GET /health
// answers 200, the process exits, or ctx is done.
func StartServer(ctx context.Context, opt ServerOptions) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(opt.Bin)
	env := make([]string, 0, len(os.Environ())+6)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PORT", "REDIS_URL", "NODE_ENV", "CLIENT_URL":
			continue
		}
		env = append(env, kv)
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
	pprofURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	if opt.Pprof {
		pp, err := FreePort()
		if err != nil {
			return nil, err
		}
		env = append(env, fmt.Sprintf("PPROF_ADDR=127.0.0.1:%d", pp))
		pprofURL = fmt.Sprintf("http://127.0.0.1:%d", pp)
	}
	// Later entries win: opt.Env may set the budgets again.
	env = append(env, liftedBudgets...)
	cmd.Env = append(env, opt.Env...)
	// A directory of its own, so that no .env file of the caller leaks in.
	cmd.Dir = os.TempDir()
	lg := &tail{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = lg, lg
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server %s: %w", opt.Bin, err)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port, pprofURL: pprofURL, cmd: cmd, log: lg, exit: make(chan struct{})}
	go func() { s.werr = cmd.Wait(); close(s.exit) }()
	if err := s.waitHealthy(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
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

// ForceGC asks the server for a garbage collection through
// /debug/pprof/heap?gc=1 when it exposes net/http/pprof; it reports whether
// that worked. Nothing depends on it.
func (s *Server) ForceGC(ctx context.Context) bool {
	code, err := s.getURL(ctx, &http.Client{Timeout: 5 * time.Second}, s.pprofURL+"/debug/pprof/heap?gc=1")
	return err == nil && code == http.StatusOK
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// RSS reads VmRSS of the server process from /proc, in bytes.
func (s *Server) RSS() (int64, error) {
	return readRSS(s.Pid())
}

func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read rss: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("read rss: no VmRSS line")
}

// Exited is closed when the server process has ended.
func (s *Server) Exited() <-chan struct{} { return s.exit }

// Log returns the tail of the server's stdout and stderr.
func (s *Server) Log() string { return s.log.String() }

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

// Redis is a private redis-server started by StartRedis (internal/redisproc,
// the tests' helper): no persistence, bound to loopback. The bench reads it
// through its own go-redis client.
type Redis struct {
	Addr   string
	URL    string
	proc   *redisproc.Server
	client *redis.Client
}

// StartRedis runs bin (redis-server) on a free loopback port and waits until
// it answers PING.
func StartRedis(bin string) (*Redis, error) {
	p, err := redisproc.Run(bin)
	if err != nil {
		return nil, err
	}
	return &Redis{Addr: p.Addr(), URL: p.URL(), proc: p, client: newStatsClient(p.Addr())}, nil
}

// newStatsClient is the bench's client of the private redis. What it sends
// is counted by the figures it reads (INFO commandstats counts every
// client's commands, total_net_output_bytes every reply), so it sends
// nothing but the commands asked for: one connection, so that a phase never
// sees another connection's handshake; RESP2, so INFO comes back as the
// same bulk string (and the same bytes out) as always, with no RESP3
// maintenance-notification handshake; no CLIENT SETINFO. What remains, one
// HELLO 2 when the connection opens, happens on the first command, before
// any figure is read.
func newStatsClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                  addr,
		Protocol:              2,
		DisableIdentity:       true,
		PoolSize:              1,
		ReadTimeout:           10 * time.Second, // FLUSHALL of a big run's keys
		WriteTimeout:          10 * time.Second,
		ContextTimeoutEnabled: true,
	})
}

// FlushAll empties the private redis between scenarios.
func (r *Redis) FlushAll(ctx context.Context) error {
	if err := r.client.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("redis FLUSHALL: %w", err)
	}
	return nil
}

// CommandStats reads INFO commandstats: calls per command name (lower case,
// subcommands as "config|get").
func (r *Redis) CommandStats(ctx context.Context) (map[string]int64, error) {
	info, err := r.client.InfoMap(ctx, "commandstats").Result()
	if err != nil {
		return nil, fmt.Errorf("redis INFO commandstats: %w", err)
	}
	out := map[string]int64{}
	for _, fields := range info {
		for name, rest := range fields {
			cmd, ok := strings.CutPrefix(name, "cmdstat_")
			if !ok {
				continue
			}
			for kv := range strings.SplitSeq(rest, ",") {
				if v, ok := strings.CutPrefix(kv, "calls="); ok {
					n, err := strconv.ParseInt(v, 10, 64)
					if err != nil {
						return nil, fmt.Errorf("commandstats %s:%s: %w", name, rest, err)
					}
					out[cmd] = n
				}
			}
		}
	}
	return out, nil
}

// Info reads one number of an INFO section (total_net_output_bytes of
// stats, used_memory of memory).
func (r *Redis) Info(ctx context.Context, section, field string) (int64, error) {
	info, err := r.client.InfoMap(ctx, section).Result()
	if err != nil {
		return 0, fmt.Errorf("redis INFO %s: %w", section, err)
	}
	// InfoMap keys the sections by their heading ("Stats" for "stats").
	for _, fields := range info {
		if v, ok := fields[field]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("INFO %s %s=%q: %w", section, field, v, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("INFO %s: no %s", section, field)
}

// Stop closes the bench's client, stops the server and waits until it has
// exited.
func (r *Redis) Stop() {
	_ = r.client.Close()
	r.proc.Close()
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

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
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

// CPU reads the user+system CPU time the server process has used so far,
// from /proc/<pid>/stat.
func (s *Server) CPU() (time.Duration, error) {
	return procCPU(s.Pid())
}

func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu: %w", err)
	}
	// The command name may hold spaces: fields count from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("read cpu: bad stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("read cpu: short stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("read cpu: %w", err)
	}
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// selfCPU is the bench process's own CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter measures CPU seconds of the bench and of the server over a window.
type cpuMeter struct {
	srv        *Server
	self0, sv0 time.Duration
}

func startCPU(srv *Server) *cpuMeter {
	m := &cpuMeter{srv: srv, self0: selfCPU()}
	if srv != nil {
		m.sv0, _ = srv.CPU()
	}
	return m
}

// record stores bench_cpu_s and server_cpu_s in extra.
func (m *cpuMeter) record(extra map[string]float64) {
	extra["bench_cpu_s"] = (selfCPU() - m.self0).Seconds()
	if m.srv != nil {
		if sv, err := m.srv.CPU(); err == nil {
			extra["server_cpu_s"] = (sv - m.sv0).Seconds()
		}
	}
}
