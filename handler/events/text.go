package events

import (
	"strings"
	"unicode"
)

// Unicode format characters (category Cf) are invisible: bidi overrides and
// isolates turn the text after them around ("gnp.exe" shown as "exe.png"),
// zero-width spaces and joiners make two names look alike or hide words,
// tag characters carry text nobody sees. They are removed from names and
// chat, except where a script needs them:
//   - ZWNJ and ZWJ between two letters of a script that shapes its letters
//     with them (Persian and the other Arabic-script languages, the Indic
//     scripts, Syriac, Mongolian, Myanmar, Khmer...), as in Persian
//     "می‌خواهم";
//   - ZWJ between two emoji, as in 👩‍💻 (an emoji sequence);
//   - tag characters in an emoji tag sequence (the flags of England,
//     Scotland and Wales: U+1F3F4, tag letters or digits, U+E007F).
// Everything else of the category goes, soft hyphen, LRM/RLM and the
// Arabic number signs included: none is needed to read a name or a chat
// line.

const (
	zwnj        = '\u200C'
	zwj         = '\u200D'
	blackFlag   = '\U0001F3F4'
	cancelTag   = '\U000E007F'
	variation16 = '\uFE0F' // emoji presentation selector
)

// joiningScripts are the scripts whose letters ZWNJ and ZWJ shape.
var joiningScripts = []*unicode.RangeTable{
	unicode.Arabic, unicode.Syriac, unicode.Nko, unicode.Mongolian, unicode.Thaana,
	unicode.Devanagari, unicode.Bengali, unicode.Gurmukhi, unicode.Gujarati, unicode.Oriya,
	unicode.Tamil, unicode.Telugu, unicode.Kannada, unicode.Malayalam, unicode.Sinhala,
	unicode.Myanmar, unicode.Khmer, unicode.Tibetan,
}

// stripFormat removes the Unicode format characters of s that no script
// needs where they are (see above).
func stripFormat(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) {
		return s
	}
	rs := []rune(s)
	out := make([]rune, 0, len(rs))
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r == blackFlag {
			if n := tagSequence(rs[i+1:]); n > 0 {
				out = append(out, rs[i:i+1+n]...)
				i += n
				continue
			}
		}
		if !unicode.Is(unicode.Cf, r) {
			out = append(out, r)
			continue
		}
		if (r == zwnj || r == zwj) && i > 0 && i+1 < len(rs) {
			prev, next := rs[i-1], rs[i+1]
			if joinsLetters(prev, next) || (r == zwj && emoji(prev, true) && emoji(next, false)) {
				out = append(out, r)
			}
		}
	}
	return string(out)
}

// tagSequence returns the length of the emoji tag sequence at the start of
// rs (tag letters and digits, then the cancel tag), 0 when there is none.
func tagSequence(rs []rune) int {
	for i, r := range rs {
		switch {
		case r == cancelTag:
			if i == 0 {
				return 0
			}
			return i + 1
		case r >= '\U000E0030' && r <= '\U000E0039', r >= '\U000E0061' && r <= '\U000E007A':
		default:
			return 0
		}
	}
	return 0
}

// joinsLetters reports whether a and b are letters or marks of one
// joining script.
func joinsLetters(a, b rune) bool {
	if !unicode.In(a, unicode.L, unicode.M) || !unicode.In(b, unicode.L, unicode.M) {
		return false
	}
	for _, script := range joiningScripts {
		if unicode.Is(script, a) && unicode.Is(script, b) {
			return true
		}
	}
	return false
}

// emoji reports whether r can stand on that side of a ZWJ in an emoji
// sequence: a pictographic symbol, or before the ZWJ also a skin tone
// modifier or the emoji presentation selector ending the previous emoji.
func emoji(r rune, before bool) bool {
	if r >= 0x2000 && unicode.Is(unicode.So, r) {
		return true
	}
	return before && (r == variation16 || r >= '\U0001F3FB' && r <= '\U0001F3FF')
}
