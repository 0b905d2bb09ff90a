// Package secret holds the one rule every configured secret (shared
// secrets, tokens, keys) must meet, so that none is weaker than another.
package secret

import "fmt"

// MinLength is the shortest secret accepted: 32 characters, which is 128
// bits when they are random hex digits (the least random of the usual
// alphabets), what `openssl rand -hex 32` gives twice over.
const MinLength = 32

// minDistinct is the fewest different characters a secret may have: a
// random string of 32 hex digits has about 14; 8 lets every random
// alphabet through and refuses "aaaa…" and "abab…".
const minDistinct = 8

// Check returns an error naming the variable name unless value could hold
// 128 bits of randomness: at least MinLength characters, at least 8
// different ones, and not one shorter string repeated ("abcdefgh" four
// times). It cannot measure randomness; it refuses what is certainly
// weak, and says how to make a good one. The value never appears in the
// error.
func Check(name, value string) error {
	r := []rune(value)
	weak := ""
	switch {
	case len(r) < MinLength:
		weak = fmt.Sprintf("%d characters, want at least %d", len(r), MinLength)
	case distinct(r) < minDistinct:
		weak = fmt.Sprintf("%d different characters, want at least %d", distinct(r), minDistinct)
	case repeats(r):
		weak = "a shorter string repeated"
	default:
		return nil
	}
	return fmt.Errorf("%s is too weak (%s): make one with `openssl rand -hex 32`", name, weak)
}

func distinct(r []rune) int {
	seen := map[rune]bool{}
	for _, c := range r {
		seen[c] = true
	}
	return len(seen)
}

// repeats reports whether r is a shorter string repeated (a whole number
// of times, or cut short at the end).
func repeats(r []rune) bool {
	for period := 1; period <= len(r)/2; period++ {
		same := true
		for i := period; i < len(r) && same; i++ {
			same = r[i] == r[i-period]
		}
		if same {
			return true
		}
	}
	return false
}
