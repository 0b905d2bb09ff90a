// Package logtext makes a client's text (an event name, a request path, a
// panic's message) fit for a log line.
package logtext

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLogText is the most of a client's text (an event name, a request
// path) that a log line carries: the server's own names are far shorter,
// and a line must never carry a client's payload (chat text, an address)
// nor grow with it.
const maxLogText = 64

// Of is s, which a client chose, as a log line may carry it: valid
// UTF-8, control and format characters (newlines, bidi overrides) replaced
// by U+FFFD, and cut to maxLogText bytes with a marker that says how long
// it was. slog's handlers quote what is left.
func Of(s string) string {
	cut := ""
	if len(s) > maxLogText {
		n := maxLogText
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		cut = "…(cut, " + strconv.Itoa(len(s)) + " bytes)"
		s = s[:n]
	}
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	return s + cut
}
