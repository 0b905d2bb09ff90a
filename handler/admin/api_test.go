package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zivro/zivro/handler/admin"
	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/memory"
)

const token = "0123456789abcdef0123456789abcdef-test"

// Address keys as clientaddr makes them.
const (
	badKey   = "0123456789abcdef0123456789abcdef"
	otherKey = "fedcba9876543210fedcba9876543210"
)

type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) Moderated(action string) {
	c.mu.Lock()
	c.n[action]++
	c.mu.Unlock()
}

type fixture struct {
	t     *testing.T
	srv   *httptest.Server
	store *memory.Store
	count *counter
	logs  *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	st := memory.New(queue.StoreOptions{})
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	c := &counter{n: map[string]int{}}
	srv := httptest.NewServer(admin.Handler(admin.Config{Store: st, Label: "alice", Observer: c, Log: log}, token, log))
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, store: st, count: c, logs: logs}
}

// do sends a request with bearer (none when ""), and decodes the JSON
// answer into out (when not nil).
func (f *fixture) do(method, path, bearer string, body any, out any) int {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			f.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

func (f *fixture) report(reporter, reported string, ev *queue.Evidence) {
	f.t.Helper()
	_, err := f.store.Report(context.Background(), queue.Report{
		Reporter: queue.Peer{ID: "s-" + reporter, Addr: reporter},
		Reported: queue.Peer{ID: "s-" + reported, Addr: reported},
		Reason:   "nudity", At: time.Now(), Evidence: ev,
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func TestToken(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name, bearer string
		want         int
	}{
		{"none", "", http.StatusUnauthorized},
		{"wrong", "not-the-token-0123456789abcdef0123", http.StatusUnauthorized},
		{"right", token, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/admin/api/reports", "/admin/api/bans", "/admin/api/audit", "/admin/api/reports/" + badKey} {
				if got := f.do("GET", path, tt.bearer, nil, nil); got != tt.want {
					t.Fatalf("GET %s = %d, want %d", path, got, tt.want)
				}
			}
		})
	}
	// The console asks for the token itself.
	if got := f.do("GET", "/admin", "", nil, nil); got != http.StatusOK {
		t.Fatalf("GET /admin = %d", got)
	}
	if strings.Contains(f.logs.String(), "not-the-token") {
		t.Fatal("a token was logged")
	}
}

func TestReportsWithEvidence(t *testing.T) {
	f := newFixture(t)
	ev := &queue.Evidence{Lines: []queue.EvidenceLine{{Mine: true, Text: "hello"}, {Mine: false, Text: "secret chat line"}}, Still: []byte("\xff\xd8jpeg")}
	f.report("r1", badKey, nil)
	f.report("r2", badKey, ev)
	f.report("r2", badKey, nil) // the same reporter again
	f.report("r3", otherKey, nil)

	var list struct {
		Reports []struct {
			Key           string
			Reports       int
			Reporters     int
			Reasons       map[string]int
			First, Last   int64
			Evidence      int
			CoolDownUntil int64
			Banned        bool
		}
		Total int
	}
	if got := f.do("GET", "/admin/api/reports", token, nil, &list); got != http.StatusOK {
		t.Fatalf("GET reports = %d", got)
	}
	if list.Total != 2 || len(list.Reports) != 2 || list.Reports[0].Key != otherKey {
		t.Fatalf("list %+v, want two addresses, the newest report's first", list)
	}
	bad := list.Reports[1]
	if bad.Reports != 3 || bad.Reporters != 2 || bad.Reasons["nudity"] != 3 || bad.Evidence != 1 || bad.First == 0 || bad.First > bad.Last || bad.CoolDownUntil != 0 || bad.Banned {
		t.Fatalf("summary %+v", bad)
	}
	var page struct{ Reports []struct{ Key string } }
	f.do("GET", "/admin/api/reports?limit=1&offset=1", token, nil, &page)
	if len(page.Reports) != 1 || page.Reports[0].Key != badKey {
		t.Fatalf("page 2 of 1: %+v", page)
	}
	if got := f.do("GET", "/admin/api/reports?limit=1000", token, nil, nil); got != http.StatusBadRequest {
		t.Fatalf("limit 1000 = %d, want 400", got)
	}

	var one struct {
		Key     string
		Reports []struct {
			Reason, Reporter string
			Evidence         *struct {
				Lines []queue.EvidenceLine
				Still string
			}
		}
	}
	if got := f.do("GET", "/admin/api/reports/"+badKey, token, nil, &one); got != http.StatusOK {
		t.Fatalf("GET one = %d", got)
	}
	if len(one.Reports) != 3 || one.Reports[1].Evidence == nil || one.Reports[0].Evidence != nil {
		t.Fatalf("reports about %s: %+v", badKey, one)
	}
	e := one.Reports[1].Evidence
	if e.Still != "data:image/jpeg;base64,/9hqcGVn" || len(e.Lines) != 2 || e.Lines[1].Text != "secret chat line" || e.Lines[1].Mine {
		t.Fatalf("evidence %+v", e)
	}
	if got := f.do("GET", "/admin/api/reports/not-a-key", token, nil, nil); got != http.StatusBadRequest {
		t.Fatalf("bad key = %d, want 400", got)
	}

	// Dismissed: gone from the list, unless all is asked for.
	if got := f.do("POST", "/admin/api/reports/"+badKey+"/dismiss", token, nil, nil); got != http.StatusOK {
		t.Fatalf("dismiss = %d", got)
	}
	f.do("GET", "/admin/api/reports", token, nil, &list)
	if list.Total != 1 || list.Reports[0].Key != otherKey {
		t.Fatalf("after dismissal: %+v", list)
	}
	f.do("GET", "/admin/api/reports?all=1", token, nil, &list)
	if list.Total != 2 || list.Reports[1].Reports != 0 {
		t.Fatalf("all after dismissal: %+v", list)
	}
	// A new report brings it back.
	f.report("r4", badKey, nil)
	f.do("GET", "/admin/api/reports", token, nil, &list)
	if list.Total != 2 || list.Reports[0].Key != badKey || list.Reports[0].Reports != 1 {
		t.Fatalf("after a new report: %+v", list)
	}
	if strings.Contains(f.logs.String(), "secret chat line") {
		t.Fatal("evidence was logged")
	}
}

func TestBanLiftAudit(t *testing.T) {
	f := newFixture(t)
	var ban struct {
		Key   string
		Until int64
		Note  string
		By    string
	}
	before := time.Now()
	if got := f.do("POST", "/admin/api/bans", token, map[string]any{"key": badKey, "durationMs": 3600000, "note": "private note"}, &ban); got != http.StatusCreated {
		t.Fatalf("POST bans = %d", got)
	}
	if ban.Key != badKey || ban.By != "alice" || ban.Until < before.Add(time.Hour).UnixMilli() {
		t.Fatalf("ban %+v", ban)
	}
	if _, ok, _ := f.store.Banned(context.Background(), badKey); !ok {
		t.Fatal("store has no ban")
	}
	var bans struct{ Bans []struct{ Key string } }
	f.do("GET", "/admin/api/bans", token, nil, &bans)
	if len(bans.Bans) != 1 || bans.Bans[0].Key != badKey {
		t.Fatalf("bans %+v", bans)
	}
	for _, body := range []any{
		map[string]any{"key": "nope"},
		map[string]any{"key": badKey, "durationMs": -1},
		map[string]any{"key": badKey, "durationMs": 9e15}, // would overflow a Duration
		map[string]any{"key": badKey, "durationMs": 11 * 365 * 86400e3},
		map[string]any{"key": badKey, "note": strings.Repeat("x", 501)},
		map[string]any{"key": badKey, "extra": 1},
		"not an object",
	} {
		if got := f.do("POST", "/admin/api/bans", token, body, nil); got != http.StatusBadRequest {
			t.Fatalf("POST bans %v = %d, want 400", body, got)
		}
	}
	if got := f.do("DELETE", "/admin/api/bans/"+badKey, token, nil, nil); got != http.StatusOK {
		t.Fatalf("DELETE ban = %d", got)
	}
	if got := f.do("DELETE", "/admin/api/bans/"+badKey, token, nil, nil); got != http.StatusNotFound {
		t.Fatalf("DELETE ban again = %d, want 404", got)
	}
	if _, ok, _ := f.store.Banned(context.Background(), badKey); ok {
		t.Fatal("still banned after the lift")
	}
	// A cool-down (three reporters) lifted.
	for _, r := range []string{"r1", "r2", "r3"} {
		f.report(r, otherKey, nil)
	}
	if got := f.do("DELETE", "/admin/api/cooldowns/"+otherKey, token, nil, nil); got != http.StatusOK {
		t.Fatalf("DELETE cool-down = %d", got)
	}
	if got := f.do("DELETE", "/admin/api/cooldowns/"+otherKey, token, nil, nil); got != http.StatusNotFound {
		t.Fatalf("DELETE cool-down again = %d, want 404", got)
	}

	var audit struct {
		Entries []struct {
			At              int64
			By, Action, Key string
			Note            string
			DurationMs      int64
		}
	}
	f.do("GET", "/admin/api/audit", token, nil, &audit)
	var actions []string
	for _, e := range audit.Entries {
		actions = append(actions, e.Action)
		if e.By != "alice" || e.At < before.UnixMilli() {
			t.Fatalf("audit entry %+v", e)
		}
	}
	if strings.Join(actions, ",") != "lift-cool-down,lift,ban" {
		t.Fatalf("audit actions %q, want newest first lift-cool-down, lift, ban", actions)
	}
	if last := audit.Entries[2]; last.Key != badKey || last.Note != "private note" || last.DurationMs != 3600000 {
		t.Fatalf("ban's audit entry %+v", last)
	}
	if f.count.n["ban"] != 1 || f.count.n["lift"] != 1 || f.count.n["lift-cool-down"] != 1 {
		t.Fatalf("counted %v", f.count.n)
	}
	logs := f.logs.String()
	if n := strings.Count(logs, "moderator action"); n != 3 {
		t.Fatalf("%d log lines of moderator actions, want 3:\n%s", n, logs)
	}
	if strings.Contains(logs, "private note") || strings.Contains(logs, token) {
		t.Fatalf("a note or the token was logged:\n%s", logs)
	}
}
