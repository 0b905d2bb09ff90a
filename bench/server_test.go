package bench

import (
	"strings"
	"testing"
)

// TestServerEnv: a server the bench starts gets the bench's settings and,
// of the caller's environment, only the Go runtime's variables; a budget or
// delay left set in the caller's shell does not reach it.
func TestServerEnv(t *testing.T) {
	caller := map[string]string{
		"GOMAXPROCS":        "3",
		"SIGNAL_DELAY_MS":   "9999",
		"EVENTS_PER_SECOND": "1",
		"PORT":              "1",
		"REDIS_URL":         "redis://127.0.0.1:6379",
		"HOME":              "/root",
	}
	lookup := func(k string) (string, bool) { v, ok := caller[k]; return v, ok }
	env := serverEnv(ServerOptions{NodeEnv: "test", Env: []string{"COMMANDS_PER_SECOND=7"}}, 4242, "127.0.0.1:4343", lookup)
	got := map[string]string{} // as exec resolves duplicates: the last wins
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	tests := []struct {
		key  string
		want string // "": unset
	}{
		{"GOMAXPROCS", "3"},
		{"SIGNAL_DELAY_MS", ""},
		{"HOME", ""},
		{"REDIS_URL", ""},
		{"PORT", "4242"},
		{"NODE_ENV", "test"},
		{"PPROF_ADDR", "127.0.0.1:4343"},
		{"EVENTS_PER_SECOND", "1000000"},
		{"COMMANDS_PER_SECOND", "7"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			if v, ok := got[tc.key]; v != tc.want || ok != (tc.want != "") {
				t.Errorf("%s = %q (set %v), want %q", tc.key, v, ok, tc.want)
			}
		})
	}
}

func TestLogCount(t *testing.T) {
	tests := []struct {
		line string
		want int
	}{
		{`{"time":"t","level":"INFO","msg":"resumable sessions handed over","sessions":400}`, 400},
		{`time=t level=INFO msg="resumable sessions handed over" sessions=12`, 12},
		{`{"msg":"resumable sessions handed over"}`, -1},
		{`msg="resumable sessions handed over"`, -1},
	}
	for _, tc := range tests {
		if got := logCount(tc.line, "sessions"); got != tc.want {
			t.Errorf("logCount(%q) = %d, want %d", tc.line, got, tc.want)
		}
	}
}

// TestWatchLog: a watcher gets the first whole line with its text, also
// when the line comes in pieces, and only once.
func TestWatchLog(t *testing.T) {
	tl := &tail{max: 64}
	ch := tl.watch("handed over")
	for _, p := range []string{"one line\nresumable sessions han", "ded over sessions=3\n", "handed over again\n"} {
		_, _ = tl.Write([]byte(p))
	}
	select {
	case line := <-ch:
		if line != "resumable sessions handed over sessions=3" {
			t.Errorf("line %q", line)
		}
	default:
		t.Fatal("no line")
	}
	select {
	case line := <-ch:
		t.Errorf("second line %q", line)
	default:
	}
}
