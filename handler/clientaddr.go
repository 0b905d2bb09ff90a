package handler

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/gin-gonic/gin"
)

// ClientAddrConfig says whom the server believes about a client's address.
// By default nobody: the address is the TCP peer's. Behind a platform's
// proxy every client would then share the proxy's address, so a deployment
// names its proxies (TRUSTED_PROXIES: their X-Forwarded-For is believed,
// read from the right, skipping trusted addresses) or the header its
// platform sets to the client's address, replacing whatever the client
// sent (CLIENT_IP_HEADER). See README, Limits.
type ClientAddrConfig struct {
	TrustedProxies []string // IP addresses and CIDR prefixes
	Header         string   // "" for none
}

// ParseClientAddrConfig reads TRUSTED_PROXIES (comma-separated addresses
// and prefixes) and CLIENT_IP_HEADER.
func ParseClientAddrConfig(proxies, header string) (ClientAddrConfig, error) {
	var c ClientAddrConfig
	for _, p := range strings.Split(proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				return ClientAddrConfig{}, fmt.Errorf("TRUSTED_PROXIES entry %q: want an IP address or a CIDR prefix (10.0.0.0/8)", p)
			}
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	c.Header = strings.TrimSpace(header)
	if strings.ContainsAny(c.Header, " :,\t") {
		return ClientAddrConfig{}, fmt.Errorf("CLIENT_IP_HEADER %q: want a header name (X-Real-IP)", c.Header)
	}
	return c, nil
}

// trustClients makes r resolve client addresses as c says. Gin trusts every
// proxy unless told otherwise, which would let any client choose its
// address with an X-Forwarded-For header.
func (c ClientAddrConfig) trustClients(r *gin.Engine) {
	if err := r.SetTrustedProxies(c.TrustedProxies); err != nil {
		// ParseClientAddrConfig let nothing through that gin refuses;
		// should it, trust no proxy rather than every one.
		_ = r.SetTrustedProxies(nil)
	}
	r.TrustedPlatform = c.Header
	r.RemoteIPHeaders = []string{"X-Forwarded-For"}
}

type clientAddrKey struct{}

// resolveClientAddr is the middleware that resolves the client's address
// once per request and keeps it in the request's context (ClientAddr).
func resolveClientAddr(c *gin.Context) {
	addr, err := netip.ParseAddr(c.ClientIP())
	if err != nil {
		// A platform header that holds no address: the peer's.
		addr, _ = netip.ParseAddr(c.RemoteIP())
	}
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), clientAddrKey{}, addr.Unmap()))
	c.Next()
}

// ClientAddr returns the client address resolved for a request, from the
// request's context: what the per-address limits count, and what any other
// per-address rule should key on.
func ClientAddr(ctx context.Context) (netip.Addr, bool) {
	addr, ok := ctx.Value(clientAddrKey{}).(netip.Addr)
	return addr, ok && addr.IsValid()
}

// AddrKey is the unit per-address limits count: an IPv4 address, or the
// /64 network of an IPv6 address (one subscriber's usual share, all of
// which a client can use).
func AddrKey(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap()
	if addr.Is4() {
		return netip.PrefixFrom(addr, 32)
	}
	p, _ := addr.Prefix(64)
	return p
}
