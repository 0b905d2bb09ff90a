package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

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
