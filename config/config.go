// Package config is the server's configuration: one table of variables
// (table.go), read from the environment and a .env file, and turned into
// typed values that the other packages take as arguments. It is the only
// code that reads the environment or knows a variable's name.
package config

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/joho/godotenv"
	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/handler/clientaddr"
	"github.com/zivro/zivro/handler/web"
	"github.com/zivro/zivro/internal/secret"
	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/redisconn"
)

// Config is the server's configuration.
type Config struct {
	Port string
	// Redis is where the store lives; nil: the embedded store.
	Redis *redis.Options
	// RedisMode is the shape of that Redis; RedisMasterName the primary's
	// name with Sentinel (see RedisConn).
	RedisMode       redisconn.Mode
	RedisMasterName string
	Origins         web.Origins
	Env             string // NODE_ENV
	// StaticDir is a built client to serve; "" for none.
	StaticDir string
	LogLevel  slog.Level
	LogJSON   bool
	// MetricsAddr, when set, serves /metrics on a listener of its own;
	// MetricsToken, when set, is the bearer token a scrape must show.
	// Neither: no metrics.
	MetricsAddr  string
	MetricsToken string
	// AdminToken, when set, enables the moderators' API and console
	// (/admin) behind it; AdminLabel names its holder in the audit log.
	AdminToken    string
	AdminLabel    string
	PprofAddr     string
	PingInterval  time.Duration
	PingTimeout   time.Duration
	RematchWindow time.Duration
	// ResumeWindow: see queue.Config.
	ResumeWindow time.Duration
	// Heartbeat and PresenceTTL: see queue.Config.
	Heartbeat   time.Duration
	PresenceTTL time.Duration
	Safety      Safety
	ClientAddr  clientaddr.Config
	AddrLimits  clientaddr.Limits
	// EventsPerSecond is each connection's budget of events of any kind,
	// CommandsPerSecond its budget of state changes within them.
	EventsPerSecond   int
	CommandsPerSecond int
	// SignalDelay holds a user's first signals of a pairing.
	SignalDelay time.Duration
	ICE         web.ICEConfig

	// What several variables make together, read by finish.
	allowAnyOrigin      bool
	clientURLs          string
	trustedProxies      string
	clientIPHeader      string
	stunURLs, turnURLs  string
	turnSecret          string
	turnTTL             time.Duration
	icePerAddrPerMinute int
	logFormat           string
	addressHashKey      string
}

// Safety is the configuration of interests, blocks and reports.
type Safety struct {
	InterestWait    time.Duration
	BlockTTL        time.Duration
	ReportWindow    time.Duration
	ReportThreshold int
	CoolDown        time.Duration
	// MaxHeldPerAddr bounds the held sessions of one address (see
	// queue.StoreOptions).
	MaxHeldPerAddr int
	// EvidenceKeep and EvidenceTTL bound the evidence kept with reports.
	EvidenceKeep int
	EvidenceTTL  time.Duration
	// AddressSecret keys the hash that blocks and cool-downs are kept
	// under; nil when it is the one kept in Redis (see finish).
	AddressSecret []byte
}

// StoreOptions adds the safety settings to the store's options.
func (s Safety) StoreOptions(o queue.StoreOptions) queue.StoreOptions {
	o.InterestWait = s.InterestWait
	o.BlockTTL = s.BlockTTL
	o.ReportWindow = s.ReportWindow
	o.ReportThreshold = s.ReportThreshold
	o.CoolDown = s.CoolDown
	o.MaxHeldPerAddr = s.MaxHeldPerAddr
	o.EvidenceKeep = s.EvidenceKeep
	o.EvidenceTTL = s.EvidenceTTL
	return o
}

// Load reads every variable of the table through getenv (os.Getenv in the
// server), then from a .env file in the working directory for what getenv
// leaves empty, then the table's default. The error names the variable at
// fault (and its value, unless the variable is a secret).
func Load(getenv func(string) string) (Config, error) {
	dotenv, err := godotenv.Read()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Config{}, fmt.Errorf("read .env: %w", err)
	}
	var c Config
	set := map[string]bool{}
	for _, v := range table {
		value := getenv(v.Name)
		if value == "" {
			value = dotenv[v.Name]
		}
		set[v.Name] = value != ""
		if value == "" {
			value = v.Default
		}
		if v.Secret && value != "" {
			// A weak secret is guessed or cracked offline; the value
			// never appears in an error.
			if err := secret.Check(v.Name, value); err != nil {
				return Config{}, err
			}
		}
		if err := v.parse(&c, value); err != nil {
			if v.Secret || v.Private {
				return Config{}, fmt.Errorf("%s: %w", v.Name, err)
			}
			return Config{}, fmt.Errorf("%s=%q: %w", v.Name, value, err)
		}
	}
	if err := c.finish(set); err != nil {
		return Config{}, err
	}
	return c, nil
}

// finish builds what several variables make together, and checks them
// against each other; set says which variables were given.
func (c *Config) finish(set map[string]bool) error {
	var err error
	if c.Origins, err = web.ParseOrigins(c.clientURLs, c.allowAnyOrigin); err != nil {
		if errors.Is(err, web.ErrAnyOrigin) {
			return fmt.Errorf("CLIENT_URL: %w: set ALLOW_ANY_ORIGIN=true if that is meant, or list the client's origins", err)
		}
		return fmt.Errorf("CLIENT_URL: %w", err)
	}
	if c.StaticDir == "" {
		if _, err := os.Stat("client/dist/index.html"); err == nil {
			c.StaticDir = "client/dist"
		}
	}
	// JSON for a platform's log collector, text for a developer's terminal.
	switch c.logFormat {
	case "":
		c.LogJSON = c.Env == "production"
	case "json", "text":
		c.LogJSON = c.logFormat == "json"
	default:
		return fmt.Errorf("LOG_FORMAT=%q: want json or text", c.logFormat)
	}
	// Checked only when both are given, as each one alone keeps the
	// other's default.
	if set["HEARTBEAT_INTERVAL_MS"] && set["PRESENCE_TTL_MS"] && c.PresenceTTL < 2*c.Heartbeat {
		return fmt.Errorf("PRESENCE_TTL_MS=%d: want at least twice HEARTBEAT_INTERVAL_MS (%d)", c.PresenceTTL.Milliseconds(), c.Heartbeat.Milliseconds())
	}
	if c.ClientAddr, err = clientaddr.ParseConfig(c.trustedProxies, c.clientIPHeader); err != nil {
		if errors.Is(err, clientaddr.ErrHeader) {
			return fmt.Errorf("CLIENT_IP_HEADER: %w", err)
		}
		return fmt.Errorf("TRUSTED_PROXIES: %w", err)
	}
	stun, err := web.ParseSTUNURLs(c.stunURLs)
	if err != nil {
		return fmt.Errorf("STUN_URLS: %w", err)
	}
	turn, err := web.ParseTURNURLs(c.turnURLs)
	if err != nil {
		return fmt.Errorf("TURN_URLS: %w", err)
	}
	if c.ICE, err = web.NewICEConfig(stun, turn, c.turnSecret, c.turnTTL, c.icePerAddrPerMinute); err != nil {
		return fmt.Errorf("TURN_URLS and TURN_SECRET: %w", err)
	}
	if err := c.checkRedis(); err != nil {
		return err
	}
	c.Safety.AddressSecret = addressSecret(c.addressHashKey, c.Redis != nil)
	return nil
}

// addressSecret is ADDRESS_HASH_KEY's secret. Every instance sharing a
// Redis must hash addresses alike, and the secret must be nothing anyone
// can guess (a secret derived from the Redis URL gave addresses back to
// whoever knew or guessed the URL). Without ADDRESS_HASH_KEY, the
// instances share a random secret kept in Redis (redisstore.AddressSecret;
// nil here), generated by the first that needs it: a deployment needs no
// configuration, and a Redis down at start only delays the secret, as it
// delays the joins that need it (requiring the key in production would
// instead stop a deployment that forgot it, and leave development setups
// on a guessable one). A lone instance on the embedded store picks one at
// random.
func addressSecret(key string, withRedis bool) []byte {
	switch {
	case key != "":
		return []byte(key)
	case withRedis:
		return nil
	default:
		s := make([]byte, 32)
		_, _ = rand.Read(s) // never fails (crypto/rand since Go 1.24)
		return s
	}
}

// checkRedis checks REDIS_MODE against REDIS_URL and REDIS_MASTER_NAME.
func (c *Config) checkRedis() error {
	if c.Redis == nil {
		if c.RedisMode != redisconn.Single {
			return fmt.Errorf("REDIS_MODE=%s needs REDIS_URL (a %s)", c.RedisMode, map[redisconn.Mode]string{
				redisconn.Cluster: "cluster node", redisconn.Sentinel: "sentinel"}[c.RedisMode])
		}
		return nil
	}
	switch c.RedisMode {
	case redisconn.Cluster:
		// A cluster has database 0 only.
		if c.Redis.DB != 0 {
			return fmt.Errorf("REDIS_URL: database %d: a Redis Cluster has only database 0: drop the /%d", c.Redis.DB, c.Redis.DB)
		}
	case redisconn.Sentinel:
		if c.RedisMasterName == "" {
			return errors.New("REDIS_MODE=sentinel needs REDIS_MASTER_NAME, the primary's name the sentinels know (SENTINEL MASTERS)")
		}
	}
	if c.RedisMasterName != "" && c.RedisMode != redisconn.Sentinel {
		return fmt.Errorf("REDIS_MASTER_NAME is set but REDIS_MODE=%s: set REDIS_MODE=sentinel, or unset REDIS_MASTER_NAME", c.RedisMode)
	}
	return nil
}

// RedisConn is where the store's Redis is; nil for the embedded store.
func (c Config) RedisConn() *redisconn.Config {
	if c.Redis == nil {
		return nil
	}
	return &redisconn.Config{Mode: c.RedisMode, URL: c.Redis, MasterName: c.RedisMasterName}
}
