package admin

import (
	_ "embed"
	"log/slog"
	"net/http"

	"github.com/zivro/zivro/handler/web"
)

var (
	//go:embed console.html
	consoleHTML []byte
	//go:embed console.js
	consoleJS []byte
)

// Handler serves the console at /admin (a page that asks for the token)
// and the API under /admin/api/ behind token (web.RequireToken: 401 for
// a wrong or missing token, a per-address budget of wrong ones, never
// logged).
func Handler(cfg Config, token string, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/admin/api/", web.RequireToken("admin", token, API(cfg), log))
	mux.HandleFunc("GET /admin", serve("text/html; charset=utf-8", consoleHTML))
	mux.HandleFunc("GET /admin/console.js", serve("text/javascript; charset=utf-8", consoleJS))
	return mux
}

func serve(contentType string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-store")
		// The console shows evidence: no other site may frame it.
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
		_, _ = w.Write(body)
	}
}
