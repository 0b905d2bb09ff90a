package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/zivro/zivro/handler/clientaddr"
	"github.com/zivro/zivro/internal/turn"
)

// ICEConfig is what GET /ice-servers hands out: the RTCPeerConnection
// configuration a client fetches before each call. With a TURN secret and
// TURN URLs it issues time-limited TURN credentials (coturn's
// use-auth-secret), so no password ever lives in the client's bundle;
// without, STUN only.
type ICEConfig struct {
	STUNURLs   []string // STUN_URLS
	TURNURLs   []string // TURN_URLS
	TURNSecret string   // TURN_SECRET, shared with coturn's static-auth-secret
	// TURNTTL is how long a credential is valid (TURN_TTL). Default
	// DefaultTURNTTL.
	TURNTTL time.Duration
	// PerAddrPerMinute bounds the requests of one address
	// (ICE_SERVERS_PER_IP_PER_MINUTE), 429 beyond. Default
	// DefaultICEPerAddrPerMinute.
	PerAddrPerMinute int
}

// DefaultSTUNURL is the STUN server a client gets by default.
const DefaultSTUNURL = "stun:stun.l.google.com:19302"

// DefaultTURNTTL is how long a TURN credential is valid by default: it
// must outlast a call, as coturn checks it on every allocation refresh.
const DefaultTURNTTL = 24 * time.Hour

// DefaultICEPerAddrPerMinute is ICEConfig.PerAddrPerMinute's default
// (ICE_SERVERS_PER_IP_PER_MINUTE).
const DefaultICEPerAddrPerMinute = 120

// ParseSTUNURLs reads a comma-separated list of STUN URLs (stun:, stuns:).
// An error names the entry at fault.
func ParseSTUNURLs(list string) ([]string, error) { return urlList(list, "stun:", "stuns:") }

// ParseTURNURLs reads a comma-separated list of TURN URLs (turn:, turns:).
// An error names the entry at fault.
func ParseTURNURLs(list string) ([]string, error) { return urlList(list, "turn:", "turns:") }

// NewICEConfig checks that TURN is configured whole (URLs and a secret) or
// not at all.
func NewICEConfig(stunURLs, turnURLs []string, secret string, ttl time.Duration, perMinute int) (ICEConfig, error) {
	if (len(turnURLs) == 0) != (secret == "") {
		return ICEConfig{}, errors.New("set both (TURN with credentials) or neither (STUN only)")
	}
	return ICEConfig{STUNURLs: stunURLs, TURNURLs: turnURLs, TURNSecret: secret, TURNTTL: ttl, PerAddrPerMinute: perMinute}, nil
}

func urlList(list string, schemes ...string) ([]string, error) {
	var urls []string
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		ok := false
		for _, s := range schemes {
			ok = ok || strings.HasPrefix(u, s)
		}
		if !ok {
			return nil, fmt.Errorf("entry %q: want a URL starting with %s", u, strings.Join(schemes, " or "))
		}
		urls = append(urls, u)
	}
	return urls, nil
}

func (c ICEConfig) withDefaults() ICEConfig {
	if c.TURNTTL <= 0 {
		c.TURNTTL = DefaultTURNTTL
	}
	if c.PerAddrPerMinute <= 0 {
		c.PerAddrPerMinute = DefaultICEPerAddrPerMinute
	}
	return c
}

// iceServer is one RTCIceServer.
type iceServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// iceServersReply is /ice-servers's answer. Relay says whether a TURN
// server is in it (the client's "hide my IP address" forces relay only
// then); ExpiresAt is the credential's expiry (Unix seconds), 0 without.
type iceServersReply struct {
	ICEServers []iceServer `json:"iceServers"`
	Relay      bool        `json:"relay"`
	ExpiresAt  int64       `json:"expiresAt"`
}

// iceServers serves GET /ice-servers.
func iceServers(cfg ICEConfig, log *slog.Logger) gin.HandlerFunc {
	cfg = cfg.withDefaults()
	limit := clientaddr.NewRates(cfg.PerAddrPerMinute)
	return func(c *gin.Context) {
		addr, _ := clientaddr.From(c.Request.Context())
		if !limit.Allow(clientaddr.Key(addr), time.Now()) {
			log.Warn("ice-servers refused", "reason", "too many requests from one address")
			c.Header("Retry-After", "60")
			c.AbortWithStatusJSON(http.StatusTooManyRequests, gin.H{"code": http.StatusTooManyRequests, "message": "too many requests from your address"})
			return
		}
		reply := iceServersReply{ICEServers: []iceServer{}}
		if len(cfg.STUNURLs) > 0 {
			reply.ICEServers = append(reply.ICEServers, iceServer{URLs: cfg.STUNURLs})
		}
		if len(cfg.TURNURLs) > 0 {
			cred := turn.New(cfg.TURNSecret, time.Now().Add(cfg.TURNTTL))
			reply.ICEServers = append(reply.ICEServers, iceServer{URLs: cfg.TURNURLs, Username: cred.Username, Credential: cred.Password})
			reply.Relay, reply.ExpiresAt = true, cred.Expires.Unix()
		}
		body, _ := json.Marshal(reply) // structs of strings: never fails
		// A credential is for one client: no cache may keep or share it.
		c.Header("Cache-Control", "no-store")
		c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	}
}
