// Command zivro is the signalling and matchmaking server of a one-to-one
// random video chat: a drop-in replacement for the original Node.js +
// Socket.IO backend (see README.md and the contract it links to).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only on PPROF_ADDR
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bytedance/gopkg/util/gctuner"
	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/zivro/zivro/config"
	"github.com/zivro/zivro/handler/admin"
	"github.com/zivro/zivro/handler/clientaddr"
	"github.com/zivro/zivro/handler/events"
	"github.com/zivro/zivro/handler/socketio"
	"github.com/zivro/zivro/handler/web"
	"github.com/zivro/zivro/internal/ratelog"
	"github.com/zivro/zivro/metrics"
	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/memory"
	"github.com/zivro/zivro/store/redisconn"
	"github.com/zivro/zivro/store/redisrelay"
	"github.com/zivro/zivro/store/redisstore"
)

// gcHeapTarget is the heap size below which the garbage collector is not
// pressed (see main). Twice that stays well inside the smallest instances
// (512 MB); more would save little CPU (a collection every few hundred
// milliseconds under full relay load already) and would keep an idle
// server's resident memory high after a wave of connections has gone.
const gcHeapTarget = 64 << 20

func main() {
	// With Go's default (a collection each time the heap doubles), a server
	// holding a few hundred connections collects dozens of times a second
	// under relay traffic: a quarter of its CPU, and the library's goroutines
	// grow their stacks again after every collection. The tuner lets the heap
	// grow to gcHeapTarget while the live heap is small, and collects at half
	// the live heap's size beyond it (GOGC 50 instead of 100), so thousands
	// of idle connections also hold less garbage.
	gctuner.SetMaxGCPercent(2000)
	gctuner.Tuning(gcHeapTarget)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		if err := healthcheck(ctx, os.Getenv); err != nil {
			fmt.Fprintln(os.Stderr, "zivro:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "zivro:", err)
		os.Exit(1)
	}
}

// redisLogger takes go-redis's own messages (failed dials while Redis is
// down, a few a second) into the structured log, once in a while.
type redisLogger struct {
	log   *slog.Logger
	every *rate.Sometimes
}

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.every.Do(func() { l.log.Warn("go-redis", "msg", fmt.Sprintf(format, v...)) })
}

// metricsRoute is the /metrics handler of the public port: only behind a
// token, and only when metrics have no listener of their own.
func metricsRoute(cfg config.Config, mx *metrics.Metrics, log *slog.Logger) http.Handler {
	if cfg.MetricsAddr != "" || cfg.MetricsToken == "" {
		return nil
	}
	return metricsHandler(cfg, mx, log)
}

// metricsHandler serves the metrics, behind the metrics token when one is
// set.
func metricsHandler(cfg config.Config, mx *metrics.Metrics, log *slog.Logger) http.Handler {
	if cfg.MetricsToken == "" {
		return mx.Handler()
	}
	return web.RequireToken("metrics", cfg.MetricsToken, mx.Handler(), log)
}

// adminRoute is the moderators' console and API, only with ADMIN_TOKEN.
func adminRoute(cfg config.Config, st queue.Moderation, mx *metrics.Metrics, log *slog.Logger) http.Handler {
	if cfg.AdminToken == "" {
		return nil
	}
	return admin.Handler(admin.Config{Store: st, Label: cfg.AdminLabel, Observer: mx, Log: log}, cfg.AdminToken, log)
}

// addressSecretCheck is how often an instance checks the address secret
// kept in Redis against its own (one SET NX GET): after Redis lost its data,
// the instances agree again within it.
const addressSecretCheck = time.Minute

// maxRequestHead caps a request's line and headers, with their line ends
// (431 beyond): a browser's handshake needs 1 to 3 KB; the library would
// keep the rest for the life of the connection.
const maxRequestHead = 16 << 10

// maxHeaderBytes is http.Server.MaxHeaderBytes for maxRequestHead: net/http
// reads up to MaxHeaderBytes + 4096 bytes ("bufio slop",
// Server.initialReadLimitSize) before it answers 431, so a MaxHeaderBytes of
// 16 KB let 20 KB in.
const maxHeaderBytes = maxRequestHead - 4096

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stdout)
	mx := metrics.New()
	gin.SetMode(gin.ReleaseMode)

	st, err := newStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	sioOpts := socketio.Options{PingInterval: cfg.PingInterval, PingTimeout: cfg.PingTimeout, Log: log, Relay: st.relay}
	sio := socketio.New(ctx, sioOpts)
	svc := queue.NewService(mx.Store(st.Store), events.NewAnnouncer(sio), log, queue.Config{Observer: mx, HeartbeatEvery: cfg.Heartbeat, PresenceTTL: cfg.PresenceTTL, ResumeWindow: cfg.ResumeWindow})
	mx.WatchSockets(sio.Transports)
	mx.WatchCounts(svc.Counts)
	// base outlives the signal: at shutdown, the disconnect of every socket
	// still has to reach the store.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	sockets := events.NewSockets(base, sio, svc, log, events.Config{
		Addresses:         st.addresses,
		EventsPerSecond:   float64(cfg.EventsPerSecond),
		CommandsPerSecond: float64(cfg.CommandsPerSecond),
		SignalDelay:       cfg.SignalDelay,
		Observer:          mx,
	})
	sio.OnConnect(sockets.Connect)
	sio.ResumeWith(sockets)

	edge := web.New(web.Config{
		Env:            cfg.Env,
		AllowedOrigins: cfg.Origins,
		StaticDir:      cfg.StaticDir,
		Started:        time.Now(),
		MaxBody:        socketio.DefaultMaxMessageSize,
		Counts:         svc,
		ClientAddr:     cfg.ClientAddr,
		AddrLimits:     cfg.AddrLimits,
		ICE:            cfg.ICE,
		Metrics:        metricsRoute(cfg, mx, log),
		Admin:          adminRoute(cfg, st.Store, mx, log),
	}, svc, sio, log)

	ln, err := net.Listen("tcp", net.JoinHostPort("0.0.0.0", cfg.Port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := newServer(cfg, edge)
	servePprof(cfg, log)
	closeMetrics, err := serveMetrics(cfg, mx, log)
	if err != nil {
		return err
	}
	defer closeMetrics()

	svcDone := make(chan error, 1)
	go func() { svcDone <- svc.Run(base) }()
	// Served at once, also while the store is unreachable (/health says so);
	// the service refuses state changes until it hears the store's events.
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "store", st.source, "env", cfg.Env,
		"static", cfg.StaticDir, "origins", cfg.Origins.String(),
		"ping_interval_ms", cfg.PingInterval.Milliseconds(), "ping_timeout_ms", cfg.PingTimeout.Milliseconds(),
		"signal_delay_ms", cfg.SignalDelay.Milliseconds(), "resume_window_ms", cfg.ResumeWindow.Milliseconds(), "turn", len(cfg.ICE.TURNURLs) > 0)

	select {
	case <-ctx.Done():
	case err := <-srvDone:
		return fmt.Errorf("http server: %w", err)
	}

	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	// Drain first: no new session, no join. With Redis, the clients that
	// opted in to resuming are handed over: their sessions are held, and
	// they resume on another instance, their calls untouched. Then the
	// store lets go of this instance's other users at once (their partners
	// elsewhere are told and requeued) and keeps nothing of it.
	sio.Drain()
	if st.relay != nil {
		handed := sio.Handover(shutdownCtx)
		log.Info("resumable sessions handed over", "sessions", handed)
	}
	if err := svc.Drain(shutdownCtx); err != nil {
		log.Warn("drain", "err", err)
	}
	// Then Socket.IO: every socket is closed.
	sio.Close()
	sockets.Wait(shutdownCtx)
	// Then HTTP, then the store.
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	cancelBase()
	<-svcDone
	if err := st.close(); err != nil {
		log.Warn("redis close", "err", err)
	}
	log.Info("stopped")
	return nil
}

// newLogger logs to stdout as cfg says. Every kind of line is
// rate-limited: a client that makes the server log a line per request
// cannot flood the log.
func newLogger(cfg config.Config, stdout io.Writer) *slog.Logger {
	var logHandler slog.Handler = slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})
	if cfg.LogJSON {
		logHandler = slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})
	}
	return slog.New(ratelog.New(logHandler, ratelog.Limits{}))
}

// store is the store of the server's state, with what comes with it.
type store struct {
	queue.Store
	source string // "memory" or "redis", for the log
	// relay carries relays to sockets connected to other instances
	// (Redis pub/sub), nil for the embedded store: one instance.
	relay socketio.Relay
	// addresses keys client addresses (blocks, cool-downs, reports).
	addresses clientaddr.AddressKeys
	close     func() error
}

// redisCheckTimeout bounds the check of the Redis seed at start.
const redisCheckTimeout = 5 * time.Second

// newStore opens Redis when the configuration names one, the embedded
// store otherwise. The Redis seed is checked first (redisconn.Check): a
// wrong REDIS_MODE stops the server. An unreachable seed stops it too in
// cluster and sentinel mode, where the client needs the seed to find the
// primaries, and a host name that does not exist in every mode; a single
// Redis down at start is ridden out, as a Redis down later is (joins are
// refused as temporarily unavailable until it is back: a platform may
// start both at once).
func newStore(ctx context.Context, cfg config.Config, log *slog.Logger) (store, error) {
	opts := cfg.Safety.StoreOptions(queue.StoreOptions{RematchWindow: cfg.RematchWindow})
	conn := cfg.RedisConn()
	if conn == nil {
		return store{Store: memory.New(opts), source: "memory",
			addresses: clientaddr.NewAddressKeys(cfg.Safety.AddressSecret), close: func() error { return nil }}, nil
	}
	redis.SetLogger(redisLogger{log: log, every: &rate.Sometimes{Interval: 10 * time.Second}})
	if err := redisconn.Check(ctx, *conn, redisCheckTimeout); err != nil {
		if conn.Mode != redisconn.Single || !errors.Is(err, redisconn.ErrUnreachable) {
			return store{}, err
		}
		log.Warn("redis unreachable at start; joins wait for it", "err", err)
	}
	client := redisconn.New(*conn)
	rs := redisstore.New(client, opts)
	// Relays to a held socket are kept for its resume (see Relay.KeepHeld).
	st := store{Store: rs, source: "redis", relay: redisrelay.New(client, log).KeepHeld(rs), close: client.Close,
		addresses: clientaddr.NewAddressKeys(cfg.Safety.AddressSecret)}
	if cfg.Safety.AddressSecret == nil {
		// The deployment's secret, kept in Redis (see config.addressSecret).
		st.addresses = clientaddr.NewStoredAddressKeys(func(ctx context.Context, proposed []byte) ([]byte, error) {
			return redisstore.AddressSecret(ctx, client, proposed)
		}, addressSecretCheck)
	}
	return st, nil
}

// newServer is the public port's HTTP server.
func newServer(cfg config.Config, router http.Handler) *http.Server {
	// A heartbeat (ping interval + timeout) is how long the server waits
	// for a silent client; it waits as long for a request to arrive whole
	// and for the next request on an idle keep-alive connection. Websockets
	// leave these timeouts behind at the upgrade, long polls at their start
	// (handler/socketio, request.go), and a polling POST's body has the ping
	// timeout.
	heartbeat := cfg.PingInterval + cfg.PingTimeout
	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: min(10*time.Second, heartbeat),
		ReadTimeout:       heartbeat,
		IdleTimeout:       heartbeat,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	return srv
}

// servePprof serves profiling on a listener of its own (keep it on
// loopback), never on the public port; nothing without an address.
func servePprof(cfg config.Config, log *slog.Logger) {
	if cfg.PprofAddr == "" {
		return
	}
	go func() {
		log.Info("pprof listening", "addr", cfg.PprofAddr)
		err := http.ListenAndServe(cfg.PprofAddr, http.DefaultServeMux)
		log.Warn("pprof stopped", "err", err)
	}()
}

// serveMetrics serves the metrics on their own listener, when the
// configuration gives one: kept off the public port, scraped over the
// platform's private network (see README, Metrics). It returns how to
// close it.
func serveMetrics(cfg config.Config, mx *metrics.Metrics, log *slog.Logger) (closeMetrics func(), err error) {
	if cfg.MetricsAddr == "" {
		return func() {}, nil
	}
	mln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(cfg, mx, log))
	msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: maxHeaderBytes}
	// Logged before the public port's "listening" line, with the bound
	// address: a METRICS_ADDR of port 0 (the tests') says here which port.
	log.Info("metrics listening", "addr", mln.Addr().String())
	go func() {
		if err := msrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics stopped", "err", err)
		}
	}()
	return func() { _ = msrv.Close() }, nil
}
