package ratelog

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/zivro/zivro/internal/eventually"
	"github.com/zivro/zivro/internal/syncbuf"
)

// lines is a log output that tests can read while it is written.
type lines struct{ syncbuf.Buffer }

func (l *lines) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
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
	eventually.True(t, 10*time.Second, func() (bool, string) {
		recs := out.records(t)
		// A report may come while the lines are still being written (a
		// slow machine): what counts is that every suppressed line is
		// counted once, at the line's level, without its attributes.
		var failed, suppressed, other int
		for _, r := range recs {
			switch r["msg"] {
			case "request failed":
				if n, ok := r["suppressed"].(float64); ok {
					suppressed += int(n)
					if r["level"] != "ERROR" || r["socket"] != nil {
						t.Fatalf("report %v: want it at ERROR, without the connection's attributes", r)
					}
				} else {
					failed++
				}
			case "other line":
				other++
			}
		}
		if failed != 3 || other != 1 || suppressed > 7 {
			t.Fatalf("%d lines passed, %d other, %d reported suppressed: want 3, 1, at most 7 (%v)", failed, other, suppressed, recs)
		}
		return suppressed == 7, fmt.Sprintf("no report of the suppressed lines (%d reported)", suppressed)
	})
}
