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
	"strconv"
	"syscall"
	"time"

	"github.com/bytedance/gopkg/util/gctuner"
	"github.com/gin-gonic/gin"
	"github.com/joho/godotenv"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/zivro/zivro/handler"
	"github.com/zivro/zivro/handler/socketio"
	"github.com/zivro/zivro/internal/ratelog"
	"github.com/zivro/zivro/internal/secret"
	"github.com/zivro/zivro/metrics"
	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/memory"
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

// config is the server's configuration, from the environment.
type config struct {
	port       string
	redisURL   string
	clientURLs handler.Origins
	env        string
	staticDir  string
	logLevel   slog.Level
	logJSON    bool
	// metricsAddr, when set, serves /metrics on a listener of its own;
	// metricsToken, when set, is the bearer token a scrape must show.
	// Neither: no metrics. See metricsRoute.
	metricsAddr   string
	metricsToken  string
	pprofAddr     string
	pingInterval  time.Duration
	pingTimeout   time.Duration
	rematchWindow time.Duration
	// heartbeat and presenceTTL: see queue.Config.
	heartbeat   time.Duration
	presenceTTL time.Duration
	safety      safetyConfig
	clientAddr  handler.ClientAddrConfig
	addrLimits  handler.AddrLimits
	// eventsPerSecond is each connection's budget of events of any kind,
	// commandsPerSecond its budget of state changes within them.
	eventsPerSecond   int
	commandsPerSecond int
	// signalDelay holds a user's first signals of a pairing (SIGNAL_DELAY_MS).
	signalDelay time.Duration
	ice         handler.ICEConfig
}

// defaultSignalDelay gives the original client, which listens for signals
// only once its call view has mounted after matched, time to mount before
// an offer reaches it. Chosen from the time to first media it costs (see
// README, Configuration).
const defaultSignalDelay = 250 * time.Millisecond

func loadConfig(getenv func(string) string) (config, error) {
	// A .env file in the working directory fills what the environment leaves unset.
	dotenv, err := godotenv.Read()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return config{}, fmt.Errorf("read .env: %w", err)
	}
	get := func(key, fallback string) string {
		if v := getenv(key); v != "" {
			return v
		}
		if v := dotenv[key]; v != "" {
			return v
		}
		return fallback
	}
	millis := func(key string, fallback time.Duration) (time.Duration, error) {
		v := get(key, "")
		if v == "" {
			return fallback, nil
		}
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return 0, fmt.Errorf("%s=%q: want a positive number of milliseconds", key, v)
		}
		return time.Duration(ms) * time.Millisecond, nil
	}

	// count reads a positive number; 0 when unset, for the default.
	count := func(key string) (int, error) {
		v := get(key, "")
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%s=%q: want a positive number", key, v)
		}
		return n, nil
	}

	c := config{
		port:     get("PORT", "5000"),
		redisURL: get("REDIS_URL", ""),
		env:      get("NODE_ENV", "development"),
	}
	allowAny, err := strconv.ParseBool(get("ALLOW_ANY_ORIGIN", "false"))
	if err != nil {
		return config{}, fmt.Errorf("ALLOW_ANY_ORIGIN: %w", err)
	}
	if c.clientURLs, err = handler.ParseOrigins(get("CLIENT_URL", "http://localhost:5173"), allowAny); err != nil {
		return config{}, err
	}
	c.pprofAddr = get("PPROF_ADDR", "")
	c.staticDir = get("STATIC_DIR", "")
	if c.staticDir == "" {
		if _, err := os.Stat("client/dist/index.html"); err == nil {
			c.staticDir = "client/dist"
		}
	}
	if err := c.logLevel.UnmarshalText([]byte(get("LOG_LEVEL", "info"))); err != nil {
		return config{}, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	// JSON for a platform's log collector, text for a developer's terminal.
	defaultFormat := "text"
	if c.env == "production" {
		defaultFormat = "json"
	}
	switch f := get("LOG_FORMAT", defaultFormat); f {
	case "json", "text":
		c.logJSON = f == "json"
	default:
		return config{}, fmt.Errorf("LOG_FORMAT=%q: want json or text", f)
	}
	c.metricsAddr = get("METRICS_ADDR", "")
	c.metricsToken = get("METRICS_TOKEN", "")
	if c.metricsToken != "" {
		if err := secret.Check("METRICS_TOKEN", c.metricsToken); err != nil {
			return config{}, err
		}
	}
	if c.pingInterval, err = millis("PING_INTERVAL_MS", socketio.DefaultPingInterval); err != nil {
		return config{}, err
	}
	if c.pingTimeout, err = millis("PING_TIMEOUT_MS", socketio.DefaultPingTimeout); err != nil {
		return config{}, err
	}
	if c.rematchWindow, err = millis("REMATCH_WINDOW_MS", queue.DefaultRematchWindow); err != nil {
		return config{}, err
	}
	if c.heartbeat, err = millis("HEARTBEAT_INTERVAL_MS", 0); err != nil {
		return config{}, err
	}
	if c.presenceTTL, err = millis("PRESENCE_TTL_MS", 0); err != nil {
		return config{}, err
	}
	if c.heartbeat > 0 && c.presenceTTL > 0 && c.presenceTTL < 2*c.heartbeat {
		return config{}, fmt.Errorf("PRESENCE_TTL_MS=%d: want at least twice HEARTBEAT_INTERVAL_MS (%d)", c.presenceTTL.Milliseconds(), c.heartbeat.Milliseconds())
	}
	if c.clientAddr, err = handler.ParseClientAddrConfig(get("TRUSTED_PROXIES", ""), get("CLIENT_IP_HEADER", "")); err != nil {
		return config{}, err
	}
	if c.addrLimits.MaxConns, err = count("MAX_CONNS_PER_IP"); err != nil {
		return config{}, err
	}
	if c.addrLimits.NewConnsPerMinute, err = count("NEW_CONNS_PER_IP_PER_MINUTE"); err != nil {
		return config{}, err
	}
	if c.eventsPerSecond, err = count("EVENTS_PER_SECOND"); err != nil {
		return config{}, err
	}
	if c.commandsPerSecond, err = count("COMMANDS_PER_SECOND"); err != nil {
		return config{}, err
	}
	if c.safety, err = loadSafetyConfig(get, millis, c.redisURL); err != nil {
		return config{}, err
	}
	// 0 turns the signal delay off.
	c.signalDelay = defaultSignalDelay
	if v := get("SIGNAL_DELAY_MS", ""); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 || ms > 5000 {
			return config{}, fmt.Errorf("SIGNAL_DELAY_MS=%q: want a number of milliseconds from 0 to 5000", v)
		}
		c.signalDelay = time.Duration(ms) * time.Millisecond
	}
	turnTTL, err := count("TURN_TTL")
	if err != nil {
		return config{}, err
	}
	icePerMinute, err := count("ICE_SERVERS_PER_IP_PER_MINUTE")
	if err != nil {
		return config{}, err
	}
	// A weak TURN secret is cracked offline from one credential, and then
	// anyone mints credentials for the TURN server.
	turnSecret := get("TURN_SECRET", "")
	if turnSecret != "" {
		if err := secret.Check("TURN_SECRET", turnSecret); err != nil {
			return config{}, err
		}
	}
	if c.ice, err = handler.ParseICEConfig(get("STUN_URLS", handler.DefaultSTUNURL), get("TURN_URLS", ""), turnSecret,
		time.Duration(turnTTL)*time.Second, icePerMinute); err != nil {
		return config{}, err
	}
	return c, nil
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
func (c config) metricsRoute(mx *metrics.Metrics, log *slog.Logger) http.Handler {
	if c.metricsAddr != "" || c.metricsToken == "" {
		return nil
	}
	return c.metricsHandler(mx, log)
}

// metricsHandler serves the metrics, behind METRICS_TOKEN when it is set.
func (c config) metricsHandler(mx *metrics.Metrics, log *slog.Logger) http.Handler {
	if c.metricsToken == "" {
		return mx.Handler()
	}
	return handler.RequireToken("metrics", c.metricsToken, mx.Handler(), log)
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
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	// Every kind of line is rate-limited: a client that makes the server log
	// a line per request cannot flood the log.
	var logHandler slog.Handler = slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: cfg.logLevel})
	if cfg.logJSON {
		logHandler = slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.logLevel})
	}
	log := slog.New(ratelog.New(logHandler, ratelog.Limits{}))
	mx := metrics.New()
	gin.SetMode(gin.ReleaseMode)

	sioOpts := socketio.Options{PingInterval: cfg.pingInterval, PingTimeout: cfg.pingTimeout, Log: log}
	storeOpts := cfg.safety.storeOptions(queue.StoreOptions{RematchWindow: cfg.rematchWindow})
	var (
		st          queue.Store
		closeRedis  = func() error { return nil }
		storeSource = "memory"
		addresses   = handler.NewAddressKeys(cfg.safety.addressSecret)
	)
	if cfg.redisURL != "" {
		ropts, err := redis.ParseURL(cfg.redisURL)
		if err != nil {
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		redis.SetLogger(redisLogger{log: log, every: &rate.Sometimes{Interval: 10 * time.Second}})
		client := redis.NewClient(ropts)
		closeRedis = client.Close
		st = redisstore.New(client, storeOpts)
		storeSource = "redis"
		// With several instances, relays to a socket connected elsewhere go
		// through Redis pub/sub.
		sioOpts.Redis = client
		if cfg.safety.addressSecret == nil {
			// The deployment's secret, kept in Redis (see loadSafetyConfig).
			addresses = handler.NewStoredAddressKeys(func(ctx context.Context, proposed []byte) ([]byte, error) {
				return redisstore.AddressSecret(ctx, client, proposed)
			}, addressSecretCheck)
		}
	} else {
		st = memory.New(storeOpts)
	}

	st = mx.Store(st)
	sio := socketio.New(ctx, sioOpts)
	svc := queue.NewService(st, handler.NewAnnouncer(sio), log, queue.Config{Observer: mx, HeartbeatEvery: cfg.heartbeat, PresenceTTL: cfg.presenceTTL})
	mx.WatchSockets(sio.Transports)
	mx.WatchCounts(svc.Counts)
	// base outlives the signal: at shutdown, the disconnect of every socket
	// still has to reach the store.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	sockets := handler.NewSockets(base, sio, svc, log, handler.SocketConfig{
		Addresses:         addresses,
		EventsPerSecond:   float64(cfg.eventsPerSecond),
		CommandsPerSecond: float64(cfg.commandsPerSecond),
		SignalDelay:       cfg.signalDelay,
		Observer:          mx,
	})
	sio.OnConnect(sockets.Connect)

	router := handler.NewRouter(handler.HTTPConfig{
		Env:            cfg.env,
		AllowedOrigins: cfg.clientURLs,
		StaticDir:      cfg.staticDir,
		Started:        time.Now(),
		MaxBody:        socketio.DefaultMaxMessageSize,
		Counts:         svc,
		ClientAddr:     cfg.clientAddr,
		AddrLimits:     cfg.addrLimits,
		ICE:            cfg.ice,
		Metrics:        cfg.metricsRoute(mx, log),
	}, svc, sio, log)

	ln, err := net.Listen("tcp", net.JoinHostPort("0.0.0.0", cfg.port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// A heartbeat (ping interval + timeout) is how long the server waits
	// for a silent client; it waits as long for a request to arrive whole
	// and for the next request on an idle keep-alive connection. Websockets
	// leave these timeouts behind at the upgrade, long polls at their start
	// (handler/socketio, request.go), and a polling POST's body has the ping
	// timeout.
	heartbeat := cfg.pingInterval + cfg.pingTimeout
	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: min(10*time.Second, heartbeat),
		ReadTimeout:       heartbeat,
		IdleTimeout:       heartbeat,
		MaxHeaderBytes:    maxHeaderBytes,
	}

	if cfg.pprofAddr != "" {
		// Profiling on a listener of its own (keep it on loopback), never on
		// the public port.
		go func() {
			log.Info("pprof listening", "addr", cfg.pprofAddr)
			err := http.ListenAndServe(cfg.pprofAddr, http.DefaultServeMux)
			log.Warn("pprof stopped", "err", err)
		}()
	}

	if cfg.metricsAddr != "" {
		// Kept off the public port: scraped over the platform's private
		// network (see README, Metrics).
		mln, err := net.Listen("tcp", cfg.metricsAddr)
		if err != nil {
			return fmt.Errorf("listen METRICS_ADDR: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", cfg.metricsHandler(mx, log))
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: maxHeaderBytes}
		defer msrv.Close()
		go func() {
			log.Info("metrics listening", "addr", mln.Addr().String())
			if err := msrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				log.Warn("metrics stopped", "err", err)
			}
		}()
	}

	svcDone := make(chan error, 1)
	go func() { svcDone <- svc.Run(base) }()
	// Served at once, also while the store is unreachable (/health says so);
	// the service refuses state changes until it hears the store's events.
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "store", storeSource, "env", cfg.env,
		"static", cfg.staticDir, "origins", cfg.clientURLs.String(),
		"ping_interval_ms", cfg.pingInterval.Milliseconds(), "ping_timeout_ms", cfg.pingTimeout.Milliseconds(),
		"signal_delay_ms", cfg.signalDelay.Milliseconds(), "turn", len(cfg.ice.TURNURLs) > 0)

	select {
	case <-ctx.Done():
	case err := <-srvDone:
		return fmt.Errorf("http server: %w", err)
	}

	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	// Drain first: no new session, no join; the store lets go of this
	// instance's users at once (their partners elsewhere are told and
	// requeued) and keeps nothing of it.
	sio.Drain()
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
	if err := closeRedis(); err != nil {
		log.Warn("redis close", "err", err)
	}
	log.Info("stopped")
	return nil
}
