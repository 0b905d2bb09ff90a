package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/zivro/zivro/handler/clientaddr"
	"golang.org/x/time/rate"
)

// TokenFailuresPerMinute is how many wrong tokens one address (clientaddr.Key) may
// show a token check a minute (all at once after a quiet minute): an
// operator's typo or a scraper misconfigured, never a search. Beyond it
// the address gets 429, even with the right token, until the budget
// refills (one every six seconds).
const TokenFailuresPerMinute = 10

// RequireToken serves next only to requests bearing token
// (Authorization: Bearer <token>; 401 otherwise), and gives each client
// address a budget of TokenFailuresPerMinute wrong tokens: beyond it, 429
// with Retry-After, whatever the request bears. The address is the one
// the router resolved (clientaddr.From), or the TCP peer's on a listener of its
// own. The comparison takes the same time for every token (equal-length
// hashes), and no token is ever logged. Every admin endpoint's token check
// is this one; realm names the endpoint (WWW-Authenticate, logs).
func RequireToken(realm, token string, next http.Handler, log *slog.Logger) http.Handler {
	want := sha256.Sum256([]byte("Bearer " + token))
	failures := clientaddr.NewTable(func() *rate.Limiter { return clientaddr.PerMinute(TokenFailuresPerMinute) }, clientaddr.Refilled)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := clientaddr.Key(requestAddr(r))
		now := time.Now()
		failures.Lock()
		budget := failures.Entry(key, now)
		left := budget.TokensAt(now)
		spent := left < 1
		if !spent {
			got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
			if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
				failures.Unlock()
				next.ServeHTTP(w, r)
				return
			}
			budget.AllowN(now, 1)
		}
		failures.Unlock()
		if spent {
			// Whole seconds until one wrong token more is allowed.
			wait := math.Ceil((1 - left) / float64(budget.Limit()))
			log.Warn("token refused", "realm", realm, "reason", "too many wrong tokens from one address")
			w.Header().Set("Retry-After", strconv.Itoa(int(max(1, wait))))
			http.Error(w, "too many wrong tokens from your address", http.StatusTooManyRequests)
			return
		}
		log.Warn("token refused", "realm", realm, "reason", "wrong token")
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	})
}

// requestAddr is the client address resolved for r (clientaddr.From), or, on a
// listener without the router, the TCP peer's.
func requestAddr(r *http.Request) netip.Addr {
	if a, ok := clientaddr.From(r.Context()); ok {
		return a
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.WithZone("")
}
