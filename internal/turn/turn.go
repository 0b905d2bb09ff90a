// Package turn issues TURN credentials in coturn's REST scheme (its
// use-auth-secret option, after draft-uberti-behave-turn-rest): the server
// and coturn share a secret, and a credential is valid until the time its
// username names. Nothing is stored: coturn checks a credential by
// computing it again.
package turn

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // the scheme's HMAC; coturn computes the same
	"encoding/base64"
	"strconv"
	"time"
)

// Credential is one TURN username and password.
type Credential struct {
	Username string
	Password string
	Expires  time.Time
}

// New returns a credential valid until expires, for a fresh random id:
// username "<expiry unix time>:<id>", password
// base64(HMAC-SHA1(secret, username)).
func New(secret string, expires time.Time) Credential {
	return ForID(secret, expires, rand.Text()[:16])
}

// ForID is New with a given id (the part of the username after the colon).
func ForID(secret string, expires time.Time, id string) Credential {
	username := strconv.FormatInt(expires.Unix(), 10) + ":" + id
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username)) // a hash's Write never fails
	return Credential{
		Username: username,
		Password: base64.StdEncoding.EncodeToString(mac.Sum(nil)),
		Expires:  time.Unix(expires.Unix(), 0),
	}
}
