package web

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// The app's files go out as themselves, with the types browsers check (a
// manifest as application/manifest+json), whatever the system's
// mime.types holds; unknown paths get index.html, the client's routes.
func TestSPAServesAppFilesWithTheirTypes(t *testing.T) {
	gin.SetMode(gin.TestMode)
	dir := t.TempDir()
	files := map[string]string{
		"index.html":           "<!doctype html><title>index</title>",
		"manifest.webmanifest": `{"name":"Zivro"}`,
		"favicon.ico":          "\x00\x00\x01\x00",
		"robots.txt":           "User-agent: *\n",
		"icon-192.png":         "\x89PNG\r\n\x1a\n",
		"favicon.svg":          "<svg xmlns='http://www.w3.org/2000/svg'/>",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := gin.New()
	r.NoRoute(spa(dir))

	for _, tc := range []struct {
		path, ctype, body string
	}{
		{"/manifest.webmanifest", "application/manifest+json", files["manifest.webmanifest"]},
		{"/favicon.ico", "image/x-icon", files["favicon.ico"]},
		{"/robots.txt", "text/plain; charset=utf-8", files["robots.txt"]},
		{"/icon-192.png", "image/png", files["icon-192.png"]},
		{"/favicon.svg", "image/svg+xml", files["favicon.svg"]},
		{"/terms", "text/html; charset=utf-8", files["index.html"]},
	} {
		t.Run(tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			if got := w.Header().Get("Content-Type"); !strings.EqualFold(got, tc.ctype) {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if w.Body.String() != tc.body {
				t.Errorf("body %q, want %q", w.Body.String(), tc.body)
			}
		})
	}
}
