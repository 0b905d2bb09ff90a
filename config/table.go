package config

import (
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/handler/clientaddr"
	"github.com/zivro/zivro/handler/events"
	"github.com/zivro/zivro/handler/socketio"
	"github.com/zivro/zivro/handler/web"
	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/redisconn"
)

// Var is one variable of the configuration.
type Var struct {
	Name string
	// Default is the value taken when the variable is unset or empty ("":
	// none). DefaultDoc, when set, says how a default computed at start
	// is written in the README.
	Default    string
	DefaultDoc string
	Meaning    string
	// Secret: refused unless strong (internal/secret), never shown in an
	// error.
	Secret bool
	// Private: never shown in an error (a URL may hold a password).
	Private bool
	// parse sets the variable's part of the configuration from its value
	// (or its default). What several variables make together is built by
	// Config.finish.
	parse func(c *Config, value string) error
}

// Variables returns the table: every variable the server reads, in the
// order of the README's configuration table.
func Variables() []Var { return append([]Var(nil), table...) }

// table is the configuration, one row per variable: what Load reads and
// the README's configuration table lists (config_test.go holds the two
// together). Defaults that a package also keeps for its own callers are
// taken from it.
var table = []Var{
	{Name: "PORT", Default: "5000", Meaning: "HTTP port; the server binds 0.0.0.0",
		parse: into(func(c *Config) *string { return &c.Port }, text)},
	{Name: "REDIS_URL", Private: true, Meaning: "redis:// or rediss://; unset: the embedded in-memory store (single instance)",
		parse: into(func(c *Config) **redis.Options { return &c.Redis }, redisURL)},
	{Name: "REDIS_MODE", Default: string(redisconn.Single), Meaning: "single (one primary), cluster (REDIS_URL: any node of a Redis Cluster) or sentinel (REDIS_URL: a sentinel)",
		parse: into(func(c *Config) *redisconn.Mode { return &c.RedisMode }, redisconn.ParseMode)},
	{Name: "REDIS_MASTER_NAME", Meaning: "with REDIS_MODE=sentinel: the primary's name the sentinels know",
		parse: into(func(c *Config) *string { return &c.RedisMasterName }, text)},
	{Name: "CLIENT_URL", Default: "http://localhost:5173", Meaning: "allowed CORS origins, comma-separated",
		parse: into(func(c *Config) *string { return &c.clientURLs }, text)},
	{Name: "ALLOW_ANY_ORIGIN", Default: "false", Meaning: `CLIENT_URL may be "*" (every origin)`,
		parse: into(func(c *Config) *bool { return &c.allowAnyOrigin }, strconv.ParseBool)},
	{Name: "TRUSTED_PROXIES", Meaning: "proxies whose X-Forwarded-For is believed",
		parse: into(func(c *Config) *string { return &c.trustedProxies }, text)},
	{Name: "CLIENT_IP_HEADER", Meaning: "the header the platform sets to the client's address",
		parse: into(func(c *Config) *string { return &c.clientIPHeader }, text)},
	{Name: "MAX_CONNS_PER_IP", Default: strconv.Itoa(clientaddr.DefaultMaxConns), Meaning: "connections one address may hold at once",
		parse: into(func(c *Config) *int { return &c.AddrLimits.MaxConns }, count)},
	{Name: "NEW_CONNS_PER_IP_PER_MINUTE", Default: strconv.Itoa(clientaddr.DefaultNewConnsPerMinute), Meaning: "connections one address may open per minute",
		parse: into(func(c *Config) *int { return &c.AddrLimits.NewConnsPerMinute }, count)},
	{Name: "EVENTS_PER_SECOND", Default: strconv.Itoa(events.DefaultEventsPerSecond), Meaning: "events of any kind per connection per second",
		parse: into(func(c *Config) *int { return &c.EventsPerSecond }, count)},
	{Name: "COMMANDS_PER_SECOND", Default: strconv.Itoa(events.DefaultCommandsPerSecond), Meaning: "state changes per connection per second",
		parse: into(func(c *Config) *int { return &c.CommandsPerSecond }, count)},
	{Name: "NODE_ENV", Default: "development", Meaning: "reported by /health",
		parse: into(func(c *Config) *string { return &c.Env }, text)},
	{Name: "STATIC_DIR", DefaultDoc: "`client/dist` if built", Meaning: "a built client to serve, with SPA fallback",
		parse: into(func(c *Config) *string { return &c.StaticDir }, text)},
	{Name: "PING_INTERVAL_MS", Default: ms(socketio.DefaultPingInterval), Meaning: "heartbeat interval",
		parse: into(func(c *Config) *time.Duration { return &c.PingInterval }, millis)},
	{Name: "PING_TIMEOUT_MS", Default: ms(socketio.DefaultPingTimeout), Meaning: "heartbeat timeout",
		parse: into(func(c *Config) *time.Duration { return &c.PingTimeout }, millis)},
	{Name: "REMATCH_WINDOW_MS", Default: ms(queue.DefaultRematchWindow), Meaning: "no rematch of a pair within this window",
		parse: into(func(c *Config) *time.Duration { return &c.RematchWindow }, millis)},
	{Name: "RESUME_WINDOW_MS", Default: ms(queue.DefaultResumeWindow), Meaning: "how long the session of a client that opted in to resuming waits for it after a drop",
		parse: into(func(c *Config) *time.Duration { return &c.ResumeWindow }, millis)},
	{Name: "MAX_HELD_PER_IP", Default: strconv.Itoa(queue.DefaultMaxHeldPerAddr), Meaning: "sessions of one address held at once for a resume",
		parse: into(func(c *Config) *int { return &c.Safety.MaxHeldPerAddr }, count)},
	{Name: "HEARTBEAT_INTERVAL_MS", Default: ms(queue.DefaultHeartbeatEvery), Meaning: "how often an instance renews its presence (with Redis)",
		parse: into(func(c *Config) *time.Duration { return &c.Heartbeat }, millis)},
	{Name: "PRESENCE_TTL_MS", Default: ms(queue.DefaultPresenceTTL), Meaning: "how long an instance's presence lasts without renewal",
		parse: into(func(c *Config) *time.Duration { return &c.PresenceTTL }, millis)},
	{Name: "LOG_LEVEL", Default: "info", Meaning: "debug, info, warn, error",
		parse: into(func(c *Config) *slog.Level { return &c.LogLevel }, logLevel)},
	{Name: "LOG_FORMAT", DefaultDoc: "`json` when `NODE_ENV=production`, else `text`", Meaning: "json or text",
		parse: into(func(c *Config) *string { return &c.logFormat }, text)},
	{Name: "METRICS_ADDR", Meaning: "serve /metrics on this address, not on the public port",
		parse: into(func(c *Config) *string { return &c.MetricsAddr }, text)},
	{Name: "METRICS_TOKEN", Secret: true, Meaning: "the bearer token a scrape must send",
		parse: into(func(c *Config) *string { return &c.MetricsToken }, text)},
	{Name: "ADMIN_TOKEN", Secret: true, Meaning: "the bearer token of the moderators' API and console; unset: no /admin routes",
		parse: into(func(c *Config) *string { return &c.AdminToken }, text)},
	{Name: "ADMIN_LABEL", Default: "admin", Meaning: "who holds ADMIN_TOKEN, as the audit log names them",
		parse: into(func(c *Config) *string { return &c.AdminLabel }, adminLabel)},
	{Name: "PPROF_ADDR", Meaning: "serve net/http/pprof on this address (keep it on loopback)",
		parse: into(func(c *Config) *string { return &c.PprofAddr }, text)},
	{Name: "INTEREST_WAIT_MS", Default: ms(queue.DefaultInterestWait), Meaning: "how long a user with interests or a language waits for a shared one",
		parse: into(func(c *Config) *time.Duration { return &c.Safety.InterestWait }, millis)},
	{Name: "REPORT_THRESHOLD", Default: strconv.Itoa(queue.DefaultReportThreshold), Meaning: "distinct reporters that put an address in a cool-down",
		parse: into(func(c *Config) *int { return &c.Safety.ReportThreshold }, reporters)},
	{Name: "REPORT_WINDOW_MS", Default: ms(queue.DefaultReportWindow), Meaning: "the window the reports count in",
		parse: into(func(c *Config) *time.Duration { return &c.Safety.ReportWindow }, millis)},
	{Name: "COOL_DOWN_MS", Default: ms(queue.DefaultCoolDown), Meaning: "how long a reported address's joins are refused",
		parse: into(func(c *Config) *time.Duration { return &c.Safety.CoolDown }, millis)},
	{Name: "REPORT_EVIDENCE_KEEP", Default: strconv.Itoa(queue.DefaultEvidenceKeep), Meaning: "how many of the latest reports keep their evidence",
		parse: into(func(c *Config) *int { return &c.Safety.EvidenceKeep }, count)},
	{Name: "REPORT_EVIDENCE_TTL_MS", Default: ms(queue.DefaultEvidenceTTL), Meaning: "how long a report's evidence is kept at most",
		parse: into(func(c *Config) *time.Duration { return &c.Safety.EvidenceTTL }, millis)},
	{Name: "BLOCK_TTL_MS", Default: ms(queue.DefaultBlockTTL), Meaning: "how long a block is kept",
		parse: into(func(c *Config) *time.Duration { return &c.Safety.BlockTTL }, millis)},
	{Name: "ADDRESS_HASH_KEY", Secret: true, Meaning: "the secret of the keyed hash of client addresses",
		DefaultDoc: "with Redis, a random one kept in Redis (`zivro:address-key`); else random per process",
		parse:      into(func(c *Config) *string { return &c.addressHashKey }, text)},
	{Name: "SIGNAL_DELAY_MS", Default: ms(defaultSignalDelay), Meaning: "how long the first relays of a pairing are held; 0: off",
		parse: into(func(c *Config) *time.Duration { return &c.SignalDelay }, signalDelay)},
	{Name: "STUN_URLS", Default: web.DefaultSTUNURL, Meaning: "STUN servers handed out by /ice-servers",
		parse: into(func(c *Config) *string { return &c.stunURLs }, text)},
	{Name: "TURN_URLS", Meaning: "TURN servers handed out by /ice-servers, with credentials",
		parse: into(func(c *Config) *string { return &c.turnURLs }, text)},
	{Name: "TURN_SECRET", Secret: true, Meaning: "the secret shared with coturn's static-auth-secret",
		parse: into(func(c *Config) *string { return &c.turnSecret }, text)},
	{Name: "TURN_TTL", Default: strconv.Itoa(int(web.DefaultTURNTTL / time.Second)), Meaning: "seconds a TURN credential is valid",
		parse: into(func(c *Config) *time.Duration { return &c.turnTTL }, seconds)},
	{Name: "ICE_SERVERS_PER_IP_PER_MINUTE", Default: strconv.Itoa(web.DefaultICEPerAddrPerMinute), Meaning: "/ice-servers requests per address per minute",
		parse: into(func(c *Config) *int { return &c.icePerAddrPerMinute }, count)},
}

// defaultSignalDelay gives the original client, which listens for signals
// only once its call view has mounted after matched, time to mount before
// an offer reaches it. Chosen from the time to first media it costs (see
// README, Configuration). It is the server's default, not the events
// package's: there a zero SignalDelay holds nothing.
const defaultSignalDelay = 250 * time.Millisecond

// into makes a parse function of a table row: the value goes through
// parse into field.
func into[T any](field func(*Config) *T, parse func(string) (T, error)) func(*Config, string) error {
	return func(c *Config, value string) error {
		v, err := parse(value)
		if err != nil {
			return err
		}
		*field(c) = v
		return nil
	}
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

func text(v string) (string, error) { return v, nil }

// millis reads a positive number of milliseconds.
func millis(v string) (time.Duration, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, errors.New("want a positive number of milliseconds")
	}
	return time.Duration(n) * time.Millisecond, nil
}

// count reads a positive number.
func count(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, errors.New("want a positive number")
	}
	return n, nil
}

func reporters(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, errors.New("want a positive number of reporters")
	}
	return n, nil
}

func seconds(v string) (time.Duration, error) {
	n, err := count(v)
	return time.Duration(n) * time.Second, err
}

// signalDelay reads up to 5 s: more would only delay calls. 0 turns the
// delay off.
func signalDelay(v string) (time.Duration, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 5000 {
		return 0, errors.New("want a number of milliseconds from 0 to 5000")
	}
	return time.Duration(n) * time.Millisecond, nil
}

func logLevel(v string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(v))
	return l, err
}

// redisURL parses REDIS_URL; unset, nil: the embedded store.
func redisURL(v string) (*redis.Options, error) {
	if v == "" {
		return nil, nil
	}
	o, err := redis.ParseURL(v)
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		// url.Error quotes the URL, password included.
		return nil, ue.Err
	}
	return o, err
}

// adminLabel reads a short label of letters, digits, '.', '_', '-' and
// '@': it goes into the audit log and log lines as it is.
func adminLabel(v string) (string, error) {
	if len(v) > 64 || strings.IndexFunc(v, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && !strings.ContainsRune("._-@", r)
	}) >= 0 {
		return "", errors.New("want up to 64 letters, digits, '.', '_', '-' or '@'")
	}
	return v, nil
}
