package turn

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The expected passwords were computed apart from this code (Python's hmac
// and base64), as coturn computes them.
func TestForID(t *testing.T) {
	tests := []struct {
		name, secret, id string
		expires          time.Time
		wantUser         string
		wantPass         string
	}{
		{"short", "s3cret", "abc", time.Unix(1700000000, 0), "1700000000:abc", "7fjbb9kXxh7Rto8MZNnWJnSP8uE="},
		{"secret with a space", "another secret", "0123456789abcdef", time.Unix(1893456000, 0), "1893456000:0123456789abcdef", "QHr6XDD6OIdBUDejJXP1Gj+1v3E="},
		{"sub-second expiry is cut to the second", "s3cret", "abc", time.Unix(1700000000, 900_000_000), "1700000000:abc", "7fjbb9kXxh7Rto8MZNnWJnSP8uE="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ForID(tt.secret, tt.expires, tt.id)
			if c.Username != tt.wantUser || c.Password != tt.wantPass {
				t.Fatalf("got %s / %s, want %s / %s", c.Username, c.Password, tt.wantUser, tt.wantPass)
			}
			if !c.Expires.Equal(time.Unix(tt.expires.Unix(), 0)) {
				t.Fatalf("expires %v, want %v", c.Expires, tt.expires)
			}
		})
	}
}

func TestNewIsFreshEachTime(t *testing.T) {
	expires := time.Now().Add(time.Hour)
	a, b := New("s", expires), New("s", expires)
	shape := regexp.MustCompile(`^[0-9]+:[A-Za-z0-9]{16}$`)
	for _, c := range []Credential{a, b} {
		if !shape.MatchString(c.Username) {
			t.Fatalf("username %q, want <unix time>:<16 random characters>", c.Username)
		}
		at, _ := strconv.ParseInt(strings.SplitN(c.Username, ":", 2)[0], 10, 64)
		if at != expires.Unix() {
			t.Fatalf("username %q names %d, want the expiry %d", c.Username, at, expires.Unix())
		}
		if again := ForID("s", expires, strings.SplitN(c.Username, ":", 2)[1]); again.Password != c.Password {
			t.Fatalf("password %q is not the scheme's %q", c.Password, again.Password)
		}
	}
	if a.Username == b.Username {
		t.Fatalf("two credentials share the username %q", a.Username)
	}
}
