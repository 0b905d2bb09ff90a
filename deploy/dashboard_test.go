package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zivro/zivro/internal/eventually"
	"github.com/zivro/zivro/internal/needbin"
	"github.com/zivro/zivro/internal/rawsocket"
)

// The Grafana dashboard (deploy/grafana/zivro.json) is importable, and each
// of its queries runs without error on a real Prometheus (Debian's, which
// .ci/deps installs) scraping a server under traffic, and returns a value.

// dashboard is the part of Grafana's dashboard model the test reads.
type dashboard struct {
	Title  string `json:"title"`
	UID    string `json:"uid"`
	Inputs []struct {
		Name     string `json:"name"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource *struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
		GridPos struct{ H, W, X, Y int } `json:"gridPos"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile("grafana/zivro.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	return d
}

func TestDashboardIsImportable(t *testing.T) {
	d := loadDashboard(t)
	if d.Title == "" || d.UID == "" {
		t.Fatalf("title %q, uid %q", d.Title, d.UID)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	if !vars["datasource"] || !vars["job"] {
		t.Fatalf("variables %v: want datasource and job", vars)
	}
	ids := map[int]bool{}
	// Panels must not overlap on Grafana's 24-column grid.
	taken := map[[2]int]string{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v", p.Title, p.GridPos)
		}
		for x := p.GridPos.X; x < p.GridPos.X+p.GridPos.W; x++ {
			for y := p.GridPos.Y; y < p.GridPos.Y+p.GridPos.H; y++ {
				if other, ok := taken[[2]int{x, y}]; ok {
					t.Fatalf("panels %q and %q overlap at %d,%d", other, p.Title, x, y)
				}
				taken[[2]int{x, y}] = p.Title
			}
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			if q.RefID == "" || !strings.Contains(q.Expr, `job=~"$job"`) {
				t.Errorf("panel %q: query %q: want a refId and the $job selector", p.Title, q.Expr)
			}
		}
	}
}

// queries returns each panel query of the dashboard, Grafana's variables
// replaced as Grafana would for one job: $__rate_interval is four scrape
// intervals.
func queries(t *testing.T, rateInterval string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range loadDashboard(t).Panels {
		for _, q := range p.Targets {
			expr := strings.ReplaceAll(q.Expr, "$__rate_interval", rateInterval)
			expr = strings.ReplaceAll(expr, "$job", "zivro")
			out[p.Title+" "+q.RefID] = expr
		}
	}
	if len(out) < 20 {
		t.Fatalf("%d queries", len(out))
	}
	return out
}

// prometheusBin is Debian's prometheus; without it (go test -short) the
// test skips.
func prometheusBin(t *testing.T) string {
	t.Helper()
	return needbin.Path(t, "prometheus", "apt-get install prometheus; .ci/deps does")
}

// startPrometheus runs bin scraping target every second and returns its URL
// once it is ready. Prometheus takes an address, not a listener: the port
// found free can be taken before it binds, so a start that fails on the
// bind is tried again on another port (as internal/redisproc does).
func startPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: zivro\n    static_configs:\n      - targets: ['%s']\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		base, logs, ok := tryPrometheus(t, bin, dir)
		if ok {
			return base
		}
		if !strings.Contains(logs, "address already in use") || attempt == 5 {
			t.Fatalf("prometheus did not start (attempt %d):\n%s", attempt, logs)
		}
	}
}

// tryPrometheus starts bin on a port free at the time; it returns its URL
// once ready, or its logs when it exited first.
func tryPrometheus(t *testing.T, bin, dir string) (base, logs string, ok bool) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=warn")
	var out syncBuilder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() { cancel(); <-exited }
	base = "http://" + addr
	eventually.True(t, 30*time.Second, func() (bool, string) {
		select {
		case <-exited:
			return true, ""
		default:
		}
		res, err := readyClient.Get(base + "/-/ready")
		if err != nil {
			return false, fmt.Sprintf("prometheus not ready: %v\n%s", err, out.String())
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK, fmt.Sprintf("prometheus not ready: %d\n%s", res.StatusCode, out.String())
	})
	select {
	case <-exited:
		return "", out.String(), false
	default:
	}
	t.Cleanup(stop)
	return base, "", true
}

// readyClient asks Prometheus whether it is ready: what took its port may
// hold a request for ever.
var readyClient = &http.Client{Timeout: 2 * time.Second}

// syncBuilder is a strings.Builder that a process writes while the test
// reads it.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// promQuery runs expr now; it returns how many series answered with a
// number, or the query's error.
func promQuery(base, expr string) (int, error) {
	res, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return 0, err
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("%s", body.Error)
	}
	n := 0
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(v) {
			n++
		}
	}
	return n, nil
}

func TestDashboardQueriesOnPrometheus(t *testing.T) {
	exprs := queries(t, "10s")
	// Prometheus's binary first: without it (go test -short) the test
	// skips before building the server.
	bin := prometheusBin(t)
	url, listeners, stop := startServer(t, map[string]string{"METRICS_ADDR": "127.0.0.1:0",
		// one address, as fast as the test goes: the budgets of real users lifted
		"COMMANDS_PER_SECOND": "1000", "MAX_CONNS_PER_IP": "1000", "NEW_CONNS_PER_IP_PER_MINUTE": "100000"})
	defer stop()
	metricsAddr := listeners["metrics listening"]
	if metricsAddr == "" {
		t.Fatal("the server logged no metrics listener")
	}
	prom := startPrometheus(t, bin, metricsAddr)

	// Rounds of what people do, until every query has an answer: two
	// users pair, relay a signal and a chat message, one sends a signal
	// to a stranger (refused), presses Next, both leave and go.
	round := func() {
		a, res, err := rawsocket.Dial(t, url, nil)
		if err != nil {
			t.Fatal(err, res)
		}
		b, res, err := rawsocket.Dial(t, url, nil)
		if err != nil {
			t.Fatal(err, res)
		}
		for _, s := range []*rawsocket.Socket{a, b} {
			s.Join(`{"name":"x"}`)
		}
		var partner string
		for partner == "" {
			if rest, ok := strings.CutPrefix(a.Read(), `42["matched",`); ok {
				var m struct{ PartnerID string }
				_ = json.Unmarshal([]byte(strings.TrimSuffix(rest, "]")), &m)
				partner = m.PartnerID
			}
		}
		a.Call("signal", `{"to":"`+partner+`","data":{"type":"offer"}}`)
		b.Call("chat-message", `{"message":"hi"}`)
		a.Call("signal", `{"to":"nobody","data":{}}`)
		a.Call("next", "")
		a.Call("leave-queue", "")
		_ = a.Conn().Close()
		_ = b.Conn().Close()
	}

	eventually.True(t, 90*time.Second, func() (bool, string) {
		round()
		var empty []string
		for name, expr := range exprs {
			n, err := promQuery(prom, expr)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, expr, err)
			}
			if n == 0 {
				empty = append(empty, name+": "+expr)
			}
		}
		return len(empty) == 0, fmt.Sprintf("queries without a value after that much traffic:\n%s", strings.Join(empty, "\n"))
	})
}
