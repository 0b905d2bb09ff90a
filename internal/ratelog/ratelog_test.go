package ratelog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lines is a log output that tests can read while it is written.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lines) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestRepeatedLinesAreSuppressedAndCounted(t *testing.T) {
	out := &lines{}
	log := slog.New(New(slog.NewJSONHandler(out, nil), Limits{PerSecond: 0.001, Burst: 3, Report: 20 * time.Millisecond}))
	conn := log.With("socket", "s1")
	for range 10 {
		conn.Error("request failed", "err", "store down")
	}
	log.Info("other line") // another kind: not held back
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs := out.records(t)
		var failed, reports, other int
		for _, r := range recs {
			switch r["msg"] {
			case "request failed":
				if n, ok := r["suppressed"]; ok {
					reports++
					if n != float64(7) || r["level"] != "ERROR" || r["socket"] != nil {
						t.Fatalf("report %v: want 7 suppressed, at ERROR, without the connection's attributes", r)
					}
				} else {
					failed++
				}
			case "other line":
				other++
			}
		}
		if failed != 3 || other != 1 || reports > 1 {
			t.Fatalf("%d lines passed, %d other, %d reports: want 3, 1, at most 1 (%v)", failed, other, reports, recs)
		}
		if reports == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no report of the suppressed lines")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
