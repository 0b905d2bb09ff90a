package handler

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/netip"
)

// withClientAddr gives the Socket.IO endpoint the request with RemoteAddr set
// to the client's address (ClientAddr, resolved by the middleware): the
// library keeps the handshake request, and Conn.Addr reads the address
// from it, so that blocks and cool-downs key on the address that the
// per-address limits count.
func withClientAddr(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := ClientAddr(r.Context()); ok && a.String() != r.RemoteAddr {
			r = r.Clone(r.Context())
			r.RemoteAddr = a.String()
		}
		next.ServeHTTP(w, r)
	})
}

// AddressKeys turns client addresses into the keys that blocks and
// cool-downs are kept under: a keyed hash, so that Redis and the logs hold
// no address, and one that a reload or a new connection keeps. Every
// instance sharing a store must use the same secret.
type AddressKeys struct {
	secret []byte
}

// NewAddressKeys returns the keys for secret.
func NewAddressKeys(secret []byte) AddressKeys { return AddressKeys{secret: secret} }

// Key returns the key of addr (an IP address, with or without a port): the
// key of its AddrKey, the unit the per-address limits count. What is not an
// address is hashed as it is.
func (k AddressKeys) Key(addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		addr = ap.Addr().String()
	}
	if ip, err := netip.ParseAddr(addr); err == nil {
		addr = AddrKey(ip.WithZone("")).Addr().String()
	}
	mac := hmac.New(sha256.New, k.secret)
	mac.Write([]byte(addr))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}
