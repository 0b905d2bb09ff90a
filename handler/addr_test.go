package handler

import "testing"

func TestAddressKeys(t *testing.T) {
	k := NewAddressKeys([]byte("secret"))
	same := [][2]string{
		{"203.0.113.7", "203.0.113.7:51234"},
		{"203.0.113.7", "::ffff:203.0.113.7"},
		{"2001:db8:1:2::1", "[2001:db8:1:2:aaaa::9]:443"},
		{"2001:db8:1:2::1", "2001:db8:1:2::1%eth0"},
	}
	for _, p := range same {
		if k.Key(p[0]) != k.Key(p[1]) {
			t.Errorf("Key(%q) != Key(%q), want one key", p[0], p[1])
		}
	}
	differ := [][2]string{
		{"203.0.113.7", "203.0.113.8"},
		{"2001:db8:1:2::1", "2001:db8:1:3::1"},
	}
	for _, p := range differ {
		if k.Key(p[0]) == k.Key(p[1]) {
			t.Errorf("Key(%q) == Key(%q), want two keys", p[0], p[1])
		}
	}
	if k.Key("203.0.113.7") == NewAddressKeys([]byte("other")).Key("203.0.113.7") {
		t.Error("the key does not depend on the secret")
	}
	if got := k.Key("203.0.113.7"); len(got) != 32 {
		t.Errorf("key %q: want 32 hex digits", got)
	}
}
