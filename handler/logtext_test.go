package handler

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
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
			got := logText(tt.in)
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
func TestPanicsAreLoggedWithoutTheRequest(t *testing.T) {
	var logs bytes.Buffer
	r := gin.New()
	r.Use(recoverPanics(slog.New(slog.NewJSONHandler(&logs, nil))))
	r.GET("/boom", func(*gin.Context) { panic("boom") })
	req := httptest.NewRequest(http.MethodGet, "/boom", nil)
	req.Header.Set("Cookie", "secret-cookie")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", w.Code)
	}
	if out := logs.String(); !strings.Contains(out, `"msg":"panic recovered"`) || strings.Contains(out, "secret-cookie") || strings.Count(out, "\n") != 1 {
		t.Fatalf("log: %s", out)
	}
}
