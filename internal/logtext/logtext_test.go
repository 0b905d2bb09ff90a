package logtext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLogText(t *testing.T) {
	long := strings.Repeat("a", 30_000)
	tests := []struct {
		name, in, want string
	}{
		{"short name as it is", "join-queue", "join-queue"},
		{"cut at 64 bytes, with its length", long, strings.Repeat("a", 64) + "…(cut, 30000 bytes)"},
		{"cut on a character boundary", strings.Repeat("a", 63) + "é" + long, strings.Repeat("a", 63) + "…(cut, 30065 bytes)"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"line break and escape", "a\nb\x1b[31m", "a\uFFFDb\uFFFD[31m"},
		{"bidi override", "abc\u202Egpj.exe", "abc\uFFFDgpj.exe"},
		{"quotes left to slog's quoting", `a"b`, `a"b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Of(tt.in)
			if got != tt.want {
				t.Errorf("logText = %q, want %q", got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("logText = %q: invalid UTF-8", got)
			}
		})
	}
}

// A handler's panic is answered 500 and logged as one line, without the
// request's headers (gin.Recovery wrote them out raw).
