package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/redisconn"
)

// strongSecret passes secret.Check: what `openssl rand -hex 32` gives.
const strongSecret = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{"defaults", nil, func(t *testing.T, c Config) {
			if c.Port != "5000" || c.Env != "development" || c.Redis != nil {
				t.Fatalf("got %+v", c)
			}
			if c.PingInterval+c.PingTimeout > 30*time.Second {
				t.Fatalf("heartbeat %v + %v lets a dead client linger over 30 s", c.PingInterval, c.PingTimeout)
			}
			if c.RematchWindow != 120*time.Second {
				t.Fatalf("rematch window %v", c.RematchWindow)
			}
		}, ""},
		{"origins list", map[string]string{"CLIENT_URL": " https://a.example/ ,https://b.example,, "}, func(t *testing.T, c Config) {
			if c.Origins.String() != "https://a.example,https://b.example" {
				t.Fatalf("origins %q", c.Origins)
			}
		}, ""},
		{"origin without scheme", map[string]string{"CLIENT_URL": "zivro.vercel.app"}, nil, "CLIENT_URL"},
		{"allow any without opt-in", map[string]string{"CLIENT_URL": "*"}, nil, "ALLOW_ANY_ORIGIN"},
		{"allow any, meant", map[string]string{"CLIENT_URL": "*", "ALLOW_ANY_ORIGIN": "true"}, func(t *testing.T, c Config) {
			for _, origin := range []string{"https://a.example", "http://localhost:5173"} {
				if !c.Origins.Allows(origin) {
					t.Fatalf("origins %q refuse %s: want any allowed", c.Origins, origin)
				}
			}
		}, ""},
		{"timings", map[string]string{"PING_INTERVAL_MS": "300", "PING_TIMEOUT_MS": "400", "REMATCH_WINDOW_MS": "1500"}, func(t *testing.T, c Config) {
			if c.PingInterval != 300*time.Millisecond || c.PingTimeout != 400*time.Millisecond || c.RematchWindow != 1500*time.Millisecond {
				t.Fatalf("got %v %v %v", c.PingInterval, c.PingTimeout, c.RematchWindow)
			}
		}, ""},
		{"safety", map[string]string{"INTEREST_WAIT_MS": "700", "REPORT_THRESHOLD": "2", "COOL_DOWN_MS": "900", "REPORT_WINDOW_MS": "800", "BLOCK_TTL_MS": "600"}, func(t *testing.T, c Config) {
			s := c.Safety
			if s.InterestWait != 700*time.Millisecond || s.ReportThreshold != 2 || s.CoolDown != 900*time.Millisecond || s.ReportWindow != 800*time.Millisecond || s.BlockTTL != 600*time.Millisecond {
				t.Fatalf("got %+v", s)
			}
		}, ""},
		{"bad report threshold", map[string]string{"REPORT_THRESHOLD": "0"}, nil, "REPORT_THRESHOLD"},
		{"bad interest wait", map[string]string{"INTEREST_WAIT_MS": "x"}, nil, "INTEREST_WAIT_MS"},
		{"address key kept in Redis, not derived from its URL", map[string]string{"REDIS_URL": "redis://secret@r:6379"}, func(t *testing.T, c Config) {
			if c.Safety.AddressSecret != nil {
				t.Fatalf("address secret %x from the Redis URL, want none (the one kept in Redis)", c.Safety.AddressSecret)
			}
		}, ""},
		{"address key random without Redis", nil, func(t *testing.T, c Config) {
			again, _ := Load(func(string) string { return "" })
			if len(c.Safety.AddressSecret) < 32 || string(c.Safety.AddressSecret) == string(again.Safety.AddressSecret) {
				t.Fatalf("address secret %x then %x: want a random one per process", c.Safety.AddressSecret, again.Safety.AddressSecret)
			}
		}, ""},
		{"address key", map[string]string{"ADDRESS_HASH_KEY": strongSecret, "REDIS_URL": "redis://r:6379"}, func(t *testing.T, c Config) {
			if string(c.Safety.AddressSecret) != strongSecret {
				t.Fatalf("address secret %q", c.Safety.AddressSecret)
			}
		}, ""},
		{"weak address key", map[string]string{"ADDRESS_HASH_KEY": "hunter2"}, nil, "ADDRESS_HASH_KEY is too weak"},
		{"repetitive address key", map[string]string{"ADDRESS_HASH_KEY": strings.Repeat("ab", 20)}, nil, "ADDRESS_HASH_KEY is too weak"},
		{"metrics token", map[string]string{"METRICS_TOKEN": strongSecret}, func(t *testing.T, c Config) {
			if c.MetricsToken != strongSecret {
				t.Fatalf("metrics token %q", c.MetricsToken)
			}
		}, ""},
		{"weak metrics token", map[string]string{"METRICS_TOKEN": "ab"}, nil, "METRICS_TOKEN is too weak"},
		{"no admin token: no admin routes; evidence defaults", nil, func(t *testing.T, c Config) {
			if c.AdminToken != "" || c.AdminLabel != "admin" || c.Safety.EvidenceKeep != 1000 || c.Safety.EvidenceTTL != 7*24*time.Hour {
				t.Fatalf("admin token %q, label %q, evidence %d for %v", c.AdminToken, c.AdminLabel, c.Safety.EvidenceKeep, c.Safety.EvidenceTTL)
			}
		}, ""},
		{"admin token and label, evidence bounds", map[string]string{"ADMIN_TOKEN": strongSecret, "ADMIN_LABEL": "mod-alice@ops", "REPORT_EVIDENCE_KEEP": "50", "REPORT_EVIDENCE_TTL_MS": "60000"}, func(t *testing.T, c Config) {
			o := c.Safety.StoreOptions(queue.StoreOptions{})
			if c.AdminToken != strongSecret || c.AdminLabel != "mod-alice@ops" || o.EvidenceKeep != 50 || o.EvidenceTTL != time.Minute {
				t.Fatalf("admin token %q, label %q, store options %+v", c.AdminToken, c.AdminLabel, o)
			}
		}, ""},
		{"weak admin token", map[string]string{"ADMIN_TOKEN": "letmein"}, nil, "ADMIN_TOKEN is too weak"},
		{"admin label with spaces", map[string]string{"ADMIN_TOKEN": strongSecret, "ADMIN_LABEL": "Alice Smith"}, nil, "ADMIN_LABEL"},
		{"bad evidence keep", map[string]string{"REPORT_EVIDENCE_KEEP": "0"}, nil, "REPORT_EVIDENCE_KEEP"},
		{"weak TURN secret", map[string]string{"TURN_URLS": "turn:t.example:3478", "TURN_SECRET": "zq9"}, nil, "TURN_SECRET is too weak"},
		{"repetitive TURN secret", map[string]string{"TURN_URLS": "turn:t.example:3478", "TURN_SECRET": strings.Repeat("secret12", 5)}, nil, "TURN_SECRET is too weak"},
		{"bad timing", map[string]string{"PING_TIMEOUT_MS": "soon"}, nil, "PING_TIMEOUT_MS"},
		{"negative timing", map[string]string{"REMATCH_WINDOW_MS": "-5"}, nil, "REMATCH_WINDOW_MS"},
		{"bad log level", map[string]string{"LOG_LEVEL": "loud"}, nil, "LOG_LEVEL"},
		{"signal delay and STUN by default", nil, func(t *testing.T, c Config) {
			if c.SignalDelay != 250*time.Millisecond || len(c.ICE.TURNURLs) != 0 || len(c.ICE.STUNURLs) != 1 {
				t.Fatalf("signal delay %v, ICE %+v", c.SignalDelay, c.ICE)
			}
		}, ""},
		{"signal delay off", map[string]string{"SIGNAL_DELAY_MS": "0"}, func(t *testing.T, c Config) {
			if c.SignalDelay != 0 {
				t.Fatalf("signal delay %v, want none", c.SignalDelay)
			}
		}, ""},
		{"budgets", map[string]string{"EVENTS_PER_SECOND": "40", "COMMANDS_PER_SECOND": "3"}, func(t *testing.T, c Config) {
			if c.EventsPerSecond != 40 || c.CommandsPerSecond != 3 {
				t.Fatalf("events %d/s, commands %d/s", c.EventsPerSecond, c.CommandsPerSecond)
			}
		}, ""},
		{"bad event budget", map[string]string{"EVENTS_PER_SECOND": "0"}, nil, "EVENTS_PER_SECOND"},
		{"bad signal delay", map[string]string{"SIGNAL_DELAY_MS": "-1"}, nil, "SIGNAL_DELAY_MS"},
		{"TURN", map[string]string{"TURN_URLS": "turn:t.example:3478", "TURN_SECRET": strongSecret, "TURN_TTL": "600", "ICE_SERVERS_PER_IP_PER_MINUTE": "7"}, func(t *testing.T, c Config) {
			if len(c.ICE.TURNURLs) != 1 || c.ICE.TURNSecret != strongSecret || c.ICE.TURNTTL != 10*time.Minute || c.ICE.PerAddrPerMinute != 7 {
				t.Fatalf("ICE %+v", c.ICE)
			}
		}, ""},
		{"TURN without secret", map[string]string{"TURN_URLS": "turn:t.example:3478"}, nil, "TURN_SECRET"},
		{"bad STUN entry", map[string]string{"STUN_URLS": "http://a"}, nil, `STUN_URLS: entry "http://a"`},
		{"bad TURN entry", map[string]string{"TURN_URLS": "stun:t", "TURN_SECRET": strongSecret}, nil, `TURN_URLS: entry "stun:t"`},
		{"bad trusted proxy", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,proxy"}, nil, `TRUSTED_PROXIES: entry "proxy"`},
		{"bad client address header", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8", "CLIENT_IP_HEADER": "X-Real-IP: 1"}, nil, "CLIENT_IP_HEADER"},
		{"bad Redis URL", map[string]string{"REDIS_URL": "http://r:6379"}, nil, "REDIS_URL"},
		{"bad Redis URL, password kept out", map[string]string{"REDIS_URL": "redis://:pa55word@r:port"}, func(t *testing.T, c Config) {
			t.Fatal("accepted")
		}, `REDIS_URL: invalid port ":port"`},
		{"Redis mode defaults to single", map[string]string{"REDIS_URL": "redis://r:6379"}, func(t *testing.T, c Config) {
			if rc := c.RedisConn(); rc == nil || rc.Mode != redisconn.Single || rc.URL.Addr != "r:6379" {
				t.Fatalf("redis %+v", rc)
			}
		}, ""},
		{"Redis cluster over TLS with a password", map[string]string{"REDIS_URL": "rediss://:pa55word@node:6380", "REDIS_MODE": "cluster"}, func(t *testing.T, c Config) {
			rc := c.RedisConn()
			if rc.Mode != redisconn.Cluster || rc.URL.Password != "pa55word" || rc.URL.TLSConfig == nil {
				t.Fatalf("redis %+v", rc)
			}
		}, ""},
		{"Redis sentinel", map[string]string{"REDIS_URL": "redis://s:26379", "REDIS_MODE": "sentinel", "REDIS_MASTER_NAME": "zivro"}, func(t *testing.T, c Config) {
			if rc := c.RedisConn(); rc.Mode != redisconn.Sentinel || rc.MasterName != "zivro" {
				t.Fatalf("redis %+v", rc)
			}
		}, ""},
		{"unknown Redis mode", map[string]string{"REDIS_URL": "redis://r:6379", "REDIS_MODE": "ring"}, nil, `REDIS_MODE="ring": want single, cluster or sentinel`},
		{"sentinel without a master name", map[string]string{"REDIS_URL": "redis://s:26379", "REDIS_MODE": "sentinel"}, nil, "needs REDIS_MASTER_NAME"},
		{"master name without sentinel", map[string]string{"REDIS_URL": "redis://r:6379", "REDIS_MASTER_NAME": "zivro"}, nil, "set REDIS_MODE=sentinel"},
		{"cluster without a URL", map[string]string{"REDIS_MODE": "cluster"}, nil, "REDIS_MODE=cluster needs REDIS_URL"},
		{"cluster with a database", map[string]string{"REDIS_URL": "redis://r:6379/2", "REDIS_MODE": "cluster"}, nil, "only database 0"},
		{"presence shorter than two heartbeats", map[string]string{"HEARTBEAT_INTERVAL_MS": "3000", "PRESENCE_TTL_MS": "5000"}, nil, "PRESENCE_TTL_MS"},
		{"heartbeat alone keeps the presence default", map[string]string{"HEARTBEAT_INTERVAL_MS": "6000"}, func(t *testing.T, c Config) {
			if c.Heartbeat != 6*time.Second || c.PresenceTTL != 10*time.Second {
				t.Fatalf("heartbeat %v, presence %v", c.Heartbeat, c.PresenceTTL)
			}
		}, ""},
		{"the defaults of the packages, given explicitly", nil, func(t *testing.T, c Config) {
			if c.AddrLimits.MaxConns != 100 || c.AddrLimits.NewConnsPerMinute != 120 || c.EventsPerSecond != 500 || c.CommandsPerSecond != 5 {
				t.Fatalf("limits %+v, events %d/s, commands %d/s", c.AddrLimits, c.EventsPerSecond, c.CommandsPerSecond)
			}
			if c.Heartbeat != 2*time.Second || c.PresenceTTL != 10*time.Second || c.ICE.TURNTTL != 24*time.Hour || c.ICE.PerAddrPerMinute != 120 {
				t.Fatalf("heartbeat %v, presence %v, ICE %+v", c.Heartbeat, c.PresenceTTL, c.ICE)
			}
		}, ""},
		{"bad TURN TTL", map[string]string{"TURN_URLS": "turn:t.example:3478", "TURN_SECRET": strongSecret, "TURN_TTL": "1h"}, nil, "TURN_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir()) // no .env here
			c, err := Load(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "pa55word") {
					t.Fatalf("error %v, want one naming %s (and no password)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestDotEnvFillsWhatTheEnvironmentLeavesUnset(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("PORT=6123\nNODE_ENV=staging\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(func(k string) string { return map[string]string{"NODE_ENV": "production"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != "6123" || c.Env != "production" {
		t.Fatalf("port %s env %s: want 6123 from .env and production from the environment", c.Port, c.Env)
	}
}

func TestLogFormat(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantJSON bool
		wantErr  string
	}{
		{"development: text", map[string]string{}, false, ""},
		{"production: JSON", map[string]string{"NODE_ENV": "production"}, true, ""},
		{"chosen in development", map[string]string{"LOG_FORMAT": "json"}, true, ""},
		{"chosen in production", map[string]string{"NODE_ENV": "production", "LOG_FORMAT": "text"}, false, ""},
		{"unknown", map[string]string{"LOG_FORMAT": "xml"}, false, "LOG_FORMAT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			c, err := Load(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.LogJSON != tt.wantJSON {
				t.Fatalf("JSON %v, want %v", c.LogJSON, tt.wantJSON)
			}
		})
	}
}

// A secret's value never appears in an error: the error goes to the log.
func TestSecretsStayOutOfErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, v := range Variables() {
		if !v.Secret {
			continue
		}
		const weak = "hunter2hunter2"
		env := map[string]string{v.Name: weak, "TURN_URLS": "turn:t.example:3478"}
		_, err := Load(func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), v.Name) || strings.Contains(err.Error(), weak) {
			t.Errorf("%s=%s: error %v, want one naming %s without the value", v.Name, weak, err, v.Name)
		}
	}
}
