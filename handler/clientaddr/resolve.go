package clientaddr

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/gin-gonic/gin"
)

// Config says whom the server believes about a client's address.
// By default nobody: the address is the TCP peer's. Behind a platform's
// proxy every client would then share the proxy's address, so a deployment
// names its proxies (TRUSTED_PROXIES: their X-Forwarded-For is believed,
// read from the right, skipping trusted addresses) or the header its
// platform sets to the client's address, replacing whatever the client
// sent (CLIENT_IP_HEADER). With both, the header is believed only from a
// trusted proxy: a client that reaches the server around the proxy would
// otherwise choose its address with the header. See README, Limits.
type Config struct {
	TrustedProxies []string // IP addresses and CIDR prefixes
	Header         string   // "" for none
	// trusted is TrustedProxies, parsed.
	trusted []netip.Prefix
}

// ErrHeader is ParseConfig's refusal of a header that is
// no header name.
var ErrHeader = errors.New("want a header name (X-Real-IP)")

// ParseConfig reads the trusted proxies (comma-separated
// addresses and prefixes) and the client address header. An error names
// the entry at fault; it is ErrHeader when the header is at fault.
func ParseConfig(proxies, header string) (Config, error) {
	var c Config
	for _, p := range strings.Split(proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, err := netip.ParseAddr(p)
			if err != nil {
				return Config{}, fmt.Errorf("entry %q: want an IP address or a CIDR prefix (10.0.0.0/8)", p)
			}
			addr = addr.WithZone("")
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
		c.trusted = append(c.trusted, prefix.Masked())
	}
	c.Header = strings.TrimSpace(header)
	if strings.ContainsAny(c.Header, " :,\t") {
		return Config{}, fmt.Errorf("%q: %w", c.Header, ErrHeader)
	}
	return c, nil
}

// TrustClients makes r resolve client addresses as c says. Gin trusts every
// proxy unless told otherwise, which would let any client choose its
// address with an X-Forwarded-For header.
func (c Config) TrustClients(r *gin.Engine) {
	if err := r.SetTrustedProxies(c.TrustedProxies); err != nil {
		// ParseConfig let nothing through that gin refuses;
		// should it, trust no proxy rather than every one.
		_ = r.SetTrustedProxies(nil)
	}
	// Not gin's TrustedPlatform: gin believes that header from any peer,
	// trusted proxy or not (see resolve).
	r.TrustedPlatform = ""
	r.RemoteIPHeaders = []string{"X-Forwarded-For"}
}

// resolve returns the client's address for a request from peer (the TCP
// peer) whose CLIENT_IP_HEADER holds header and whose X-Forwarded-For gin
// resolved to forwarded ("" when none is believed):
//   - with CLIENT_IP_HEADER and TRUSTED_PROXIES, the header from a peer
//     inside TRUSTED_PROXIES, the peer's address from anyone else;
//   - with CLIENT_IP_HEADER alone, the header: the platform's edge is the
//     only way in and overwrites it (Railway, Render behind Cloudflare);
//   - without CLIENT_IP_HEADER, what gin made of X-Forwarded-For.
//
// A header that holds no address counts as absent: the peer's.
func (c Config) resolve(peer netip.Addr, header, forwarded string) netip.Addr {
	peer = peer.Unmap().WithZone("")
	claimed := forwarded
	if c.Header != "" {
		claimed = ""
		if len(c.trusted) == 0 || c.trusts(peer) {
			claimed = strings.TrimSpace(header)
		}
	}
	if a, err := netip.ParseAddr(claimed); err == nil {
		return a.Unmap().WithZone("")
	}
	return peer
}

// trusts reports whether peer is inside TRUSTED_PROXIES.
func (c Config) trusts(peer netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(peer) {
			return true
		}
	}
	return false
}

type clientAddrKey struct{}

// Middleware is the middleware that resolves the client's address
// once per request (see Config.resolve) and keeps it in
// the request's context (From).
func (cfg Config) Middleware(c *gin.Context) {
	peer, _ := netip.ParseAddr(c.RemoteIP())
	var header, forwarded string
	if cfg.Header != "" {
		header = c.GetHeader(cfg.Header)
	} else {
		// gin's X-Forwarded-For walk, trusted proxies only; the peer
		// itself when nothing is believed.
		forwarded = c.ClientIP()
	}
	addr := cfg.resolve(peer, header, forwarded)
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), clientAddrKey{}, addr))
	c.Next()
}

// From returns the client address resolved for a request, from the
// request's context: what the per-address limits count, and what any other
// per-address rule should key on.
func From(ctx context.Context) (netip.Addr, bool) {
	addr, ok := ctx.Value(clientAddrKey{}).(netip.Addr)
	return addr, ok && addr.IsValid()
}

// Key is the unit per-address limits count: an IPv4 address, or the
// /64 network of an IPv6 address (one subscriber's usual share, all of
// which a client can use).
func Key(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap()
	if addr.Is4() {
		return netip.PrefixFrom(addr, 32)
	}
	p, _ := addr.Prefix(64)
	return p
}

// Mask is what the logs may show of a client address: its network, an
// IPv4 address's /24 or an IPv6 address's /48, enough to tell a crowd from
// one network apart, not enough to name a subscriber.
func Mask(addr netip.Addr) string {
	if !addr.IsValid() {
		return ""
	}
	bits := 48
	if addr.Is4() {
		bits = 24
	}
	p, _ := addr.Prefix(bits)
	return p.String()
}
