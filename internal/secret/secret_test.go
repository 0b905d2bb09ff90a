package secret

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name, value string
		ok          bool
	}{
		{"openssl rand -hex 32", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", true},
		{"openssl rand -hex 16", "5d41402abc4b2a76b9719d911017c592", true},
		{"openssl rand -base64 24", "q0wV2xJ6mF8sZ1rT4yU7iO9pA3dG5hK2", true},
		{"short", "zq9", false},
		{"two characters", "ab", false},
		{"31 characters", "5d41402abc4b2a76b9719d911017c59", false},
		{"one character repeated", strings.Repeat("a", 64), false},
		{"two characters alternating", strings.Repeat("ab", 32), false},
		{"few different characters", strings.Repeat("abc1", 10) + "23", false},
		{"a word repeated", strings.Repeat("password", 5), false},
		{"a random string repeated, cut short", strings.Repeat("k3Jx9qLm2Pz", 4)[:40], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check("TURN_SECRET", tt.value)
			if (err == nil) != tt.ok {
				t.Fatalf("Check(%q) = %v, want ok %v", tt.value, err, tt.ok)
			}
			if err != nil {
				msg := err.Error()
				if !strings.Contains(msg, "TURN_SECRET") || !strings.Contains(msg, "openssl rand -hex 32") || strings.Contains(msg, tt.value) {
					t.Fatalf("error %q: want the variable's name and how to make a good one, never the value", msg)
				}
			}
		})
	}
}
