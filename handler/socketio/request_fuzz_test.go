package socketio

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"
)

// FuzzEngineURL: whatever the query, the library sees only the parameters
// Engine.IO reads, each once, with the value the client gave first, on the
// same path; and slimming twice changes nothing.
func FuzzEngineURL(f *testing.F) {
	for _, q := range []string{
		"EIO=4&transport=websocket",
		"EIO=4&transport=polling&t=Pabc&pad=xxxx",
		"EIO=4&transport=polling&sid=abc",
		"EIO=4&transport=websocket&sid=",
		"EIO=4&transport=websocket&sid",
		"EIO=4&EIO=3&sid=a&sid=b",
		"EIO=3&transport=polling&b64=1&j=0",
		"%zz=1&EIO=%&sid=%41",
		"a;b=c&EIO=4",
		"",
	} {
		f.Add("/socket.io/", q)
	}
	f.Fuzz(func(t *testing.T, path, rawQuery string) {
		in := &url.URL{Path: path, RawQuery: rawQuery}
		out := engineURL(in)
		if out.Path != in.Path || out.RawPath != in.RawPath {
			t.Fatalf("path %q became %q", in.Path, out.Path)
		}
		if out.Scheme != "" || out.Host != "" || out.User != nil || out.Fragment != "" {
			t.Fatalf("engineURL made %q of a path", out)
		}
		q, got := in.Query(), out.Query()
		for k, v := range got {
			if !slices.Contains(engineParams[:], k) {
				t.Fatalf("parameter %q reaches the library", k)
			}
			if len(v) != 1 || v[0] != q[k][0] {
				t.Fatalf("%s = %q, the client gave %q", k, v, q[k])
			}
		}
		for _, k := range engineParams {
			if _, ok := q[k]; ok && !got.Has(k) {
				t.Fatalf("%s dropped from %q", k, rawQuery)
			}
		}
		if again := engineURL(out); again.RawQuery != out.RawQuery {
			t.Fatalf("not stable: %q, then %q", out.RawQuery, again.RawQuery)
		}
	})
}

// FuzzBoundRequests: a polling POST's body, sized or chunked, reaches the
// library whole, with its length, when it is within MaxMessageSize, and
// never otherwise (413).
func FuzzBoundRequests(f *testing.F) {
	f.Add([]byte("4:42[\"next\"]"), false)
	f.Add([]byte("42[\"next\"]\x1e42[\"leave-queue\"]"), true)
	f.Add([]byte{}, false)
	f.Add(bytes.Repeat([]byte("x"), 65), true)
	f.Add(bytes.Repeat([]byte("x"), 64), false)
	const limit = 64
	o := Options{MaxMessageSize: limit, PingInterval: time.Second, PingTimeout: time.Second}
	f.Fuzz(func(t *testing.T, body []byte, chunked bool) {
		var seen []byte
		var seenLen int64
		called := false
		h := boundRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			called = true
			seenLen = r.ContentLength
			if r.TransferEncoding != nil {
				t.Errorf("transfer encoding %q passed on", r.TransferEncoding)
			}
			seen, _ = io.ReadAll(r.Body)
		}), o)
		r := httptest.NewRequest(http.MethodPost, "/socket.io/?EIO=4&transport=polling&sid=x", bytes.NewReader(body))
		if chunked {
			r.ContentLength, r.TransferEncoding = -1, []string{"chunked"}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if len(body) > limit {
			if called || w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("%d bytes over a limit of %d: passed on %v, status %d", len(body), limit, called, w.Code)
			}
			return
		}
		if !called || !bytes.Equal(seen, body) || (len(body) > 0 && seenLen != int64(len(body))) {
			t.Fatalf("%d bytes: passed on %v, %d bytes of length %d", len(body), called, len(seen), seenLen)
		}
	})
}
