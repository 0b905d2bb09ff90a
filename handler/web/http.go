// Package web is the server's HTTP edge, one http.Handler (New): the
// middleware every request passes (request ids, security headers, the
// request log, panics, CORS, body limits, the client's address), /health,
// /livez, /stats, /ice-servers, /metrics, the built client, and the
// Socket.IO endpoint behind the per-address admission.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"
	"github.com/zivro/zivro/handler/clientaddr"
	"github.com/zivro/zivro/internal/logtext"
)

// Config describes the HTTP side of the server.
type Config struct {
	Env            string    // reported by /health (NODE_ENV)
	AllowedOrigins Origins   // CLIENT_URL
	StaticDir      string    // a built client to serve, "" for none
	Started        time.Time // for /health's uptime
	// MaxBody caps every request body (413 beyond). See limitBodies.
	MaxBody int64

	// ClientAddr says whom to believe about a client's address;
	// AddrLimits bound the connections of one address (429 beyond).
	ClientAddr clientaddr.Config
	AddrLimits clientaddr.Limits

	ICE        ICEConfig     // for /ice-servers
	Counts     Counter       // for /stats
	StatsEvery time.Duration // how long /stats serves the same figures; 0: DefaultStatsEvery
	// HealthEvery is how long /health serves the same store check; 0:
	// DefaultHealthEvery.
	HealthEvery time.Duration

	// Metrics, when set, is served on GET /metrics (it checks its own
	// token); nil when metrics are off or on a listener of their own.
	Metrics http.Handler
	// Admin, when set, serves /admin (the moderators' console) and
	// /admin/api/ (it checks its own token); nil when ADMIN_TOKEN is
	// unset: the routes do not exist.
	Admin http.Handler
}

// Pinger reports whether the store can be reached.
type Pinger interface {
	Ping(ctx context.Context) error
}

// New builds the HTTP edge: security headers, request logs, CORS,
// /health, /livez, /stats, /ice-servers, the Socket.IO endpoint and, when
// configured, the client. Gin is its router, and stays inside.
func New(cfg Config, store Pinger, socketIO http.Handler, log *slog.Logger) http.Handler {
	r := gin.New()
	cfg.ClientAddr.TrustClients(r)
	r.Use(requestID, recoverPanics(log), securityHeaders, requestLog(log), cors.New(corsConfig(cfg.AllowedOrigins)),
		limitBodies(cfg.MaxBody), cfg.ClientAddr.Middleware)

	r.GET("/health", newHealthCache(store, cfg.HealthEvery).serve(cfg))
	r.GET("/livez", livez)
	r.GET("/stats", newStatsCache(cfg.Counts, cfg.StatsEvery, log).serve)
	r.GET("/ice-servers", iceServers(cfg.ICE, log))
	if cfg.Metrics != nil {
		r.GET("/metrics", gin.WrapH(cfg.Metrics))
	}
	if cfg.Admin != nil {
		r.Any("/admin", gin.WrapH(cfg.Admin))
		r.Any("/admin/*any", gin.WrapH(cfg.Admin))
	} else {
		// No API without its token, not even the client's SPA fallback.
		r.Any("/admin/api/*any", func(c *gin.Context) { c.String(http.StatusNotFound, "404 page not found") })
	}
	r.Any("/socket.io/*any", admitConnections(clientaddr.NewLimiter(cfg.AddrLimits), log), gin.WrapH(withClientAddr(socketIO)))
	if cfg.StaticDir != "" {
		r.NoRoute(spa(cfg.StaticDir))
	}
	return r
}

// corsConfig answers as the original did (credentials allowed, the origin
// echoed), for the origins of CLIENT_URL. Same-origin requests are let
// through by the middleware itself. The middleware's own origin list is
// not used: it reads an entry between slashes as a regular expression and
// panics on some malformed ones.
func corsConfig(origins Origins) cors.Config {
	c := cors.DefaultConfig()
	c.AllowCredentials = true
	c.AllowOriginFunc = origins.Allows
	return c
}

// securityHeaders sets what Helmet sets by default, without the CSP (WebRTC
// and a separately hosted client need more than a default policy allows).
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Origin-Agent-Cluster", "?1")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-DNS-Prefetch-Control", "off")
	h.Set("X-Download-Options", "noopen")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-Permitted-Cross-Domain-Policies", "none")
	h.Set("X-XSS-Protection", "0")
	c.Next()
}

// requestLog writes one structured line per HTTP request, with its id and
// the client's network (clientaddr.Mask), never its full address; the method and
// path as logtext.Of cuts them. Socket.IO's long
// polls are left out: they are the transport, not requests worth a line each;
// so are the platform's health checks and metrics scrapes that pass.
func requestLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		p := c.Request.URL.Path
		if (strings.HasPrefix(p, "/socket.io/") || p == "/livez" || p == "/metrics") && c.Writer.Status() < 400 {
			return
		}
		addr, _ := clientaddr.From(c.Request.Context())
		log.Info("http",
			"request_id", c.GetString(requestIDKey),
			"client", clientaddr.Mask(addr),
			"method", logtext.Of(c.Request.Method),
			"path", logtext.Of(c.Request.URL.Path),
			"status", c.Writer.Status(),
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
			"bytes", c.Writer.Size(),
		)
	}
}

// livez is the platform's health check: it answers while the process
// serves, whatever the store's state. /health answers 503 while Redis is
// down, which the server rides out by itself; a platform that restarted
// every instance on it would turn a Redis outage into a full one.
func livez(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "alive"})
}

// staticType is the content type of the app's files that Go's mime
// package knows only from the system's mime.types, which a slim container
// image lacks (or names otherwise: .ico): without it a manifest would go
// out as text/plain and browsers would not offer to install the app.
func staticType(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".webmanifest":
		return "application/manifest+json"
	case ".ico":
		return "image/x-icon"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".png":
		return "image/png"
	case ".svg":
		return "image/svg+xml"
	}
	return ""
}

// spa serves the built client: files as they are, any other GET path as
// index.html, so that the client's routes survive a reload.
func spa(dir string) gin.HandlerFunc {
	files := http.FileServer(http.Dir(dir))
	index := filepath.Join(dir, "index.html")
	return func(c *gin.Context) {
		if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
			c.Status(http.StatusNotFound)
			return
		}
		name := filepath.Join(dir, filepath.FromSlash(path.Clean("/"+c.Request.URL.Path)))
		if info, err := os.Stat(name); err == nil && !info.IsDir() {
			if ctype := staticType(name); ctype != "" {
				c.Header("Content-Type", ctype) // http.FileServer keeps a type set before it
			}
			files.ServeHTTP(c.Writer, c.Request)
			return
		}
		c.Header("Cache-Control", "no-cache")
		c.File(index)
	}
}
