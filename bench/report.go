package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Checks collects the outcome of a scenario's correctness checks; it is safe
// for concurrent use. A failed check keeps its first few messages.
type Checks struct {
	mu    sync.Mutex
	order []string
	fails map[string][]string
	nfail map[string]int
}

const keepFailures = 5

// Pass registers a check so that it is reported even when it never fails.
func (c *Checks) Pass(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	if _, ok := c.nfail[name]; !ok {
		c.order = append(c.order, name)
		c.nfail[name] = 0
	}
}

// Failf records a failure of the named check.
func (c *Checks) Failf(name, format string, args ...any) {
	c.Pass(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nfail[name]++
	if len(c.fails[name]) < keepFailures {
		c.fails[name] = append(c.fails[name], fmt.Sprintf(format, args...))
	}
}

func (c *Checks) init() {
	if c.nfail == nil {
		c.nfail = map[string]int{}
		c.fails = map[string][]string{}
	}
}

// Check is the outcome of one named check.
type Check struct {
	Name     string   `json:"name"`
	OK       bool     `json:"ok"`
	Failures int      `json:"failures,omitempty"`
	Examples []string `json:"examples,omitempty"`
}

// List returns the checks in the order they were registered.
func (c *Checks) List() []Check {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Check, 0, len(c.order))
	for _, n := range c.order {
		out = append(out, Check{Name: n, OK: c.nfail[n] == 0, Failures: c.nfail[n], Examples: c.fails[n]})
	}
	return out
}

// Result is one scenario run: one row of the table.
type Result struct {
	Scenario   string             `json:"scenario"`
	Store      string             `json:"store"`
	N          int                `json:"n"`
	Throughput float64            `json:"throughput"`
	Unit       string             `json:"unit"`
	Duration   float64            `json:"duration_s"`
	Latency    Summary            `json:"latency"`
	OK         bool               `json:"ok"`
	Error      string             `json:"error,omitempty"`
	Checks     []Check            `json:"checks"`
	Extra      map[string]float64 `json:"extra,omitempty"`
	Notes      []string           `json:"notes,omitempty"`
}

// Failed lists the failed checks and the run error, one per line.
func (r Result) Failed() []string {
	var out []string
	if r.Error != "" {
		out = append(out, "error: "+r.Error)
	}
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, fmt.Sprintf("%s: %d failure(s): %s", c.Name, c.Failures, strings.Join(c.Examples, "; ")))
		}
	}
	return out
}

func newResult(scenario, store string, n int, unit string, checks *Checks, err error) Result {
	r := Result{Scenario: scenario, Store: store, N: n, Unit: unit, Checks: checks.List(), Extra: map[string]float64{}}
	r.OK = err == nil
	if err != nil {
		r.Error = err.Error()
	}
	for _, c := range r.Checks {
		r.OK = r.OK && c.OK
	}
	return r
}

// Report is the whole run, as written to the JSON file.
type Report struct {
	Started  time.Time `json:"started"`
	Server   string    `json:"server"`
	Args     []string  `json:"args,omitempty"`
	GoMaxPro int       `json:"gomaxprocs"`
	Results  []Result  `json:"results"`
	// Reference: ours beside the reference server (bench/noderef), the
	// medians of the reference scenario's alternated rounds.
	Reference []Ratio `json:"reference,omitempty"`
	// Soak: the soak's summary, when it ran (its samples are in their
	// own CSV file).
	Soak *SoakSummary `json:"soak,omitempty"`
}

// OK reports whether every scenario passed its checks.
func (r *Report) OK() bool {
	for _, res := range r.Results {
		if !res.OK {
			return false
		}
	}
	return len(r.Results) > 0
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// WriteTable prints the results as an aligned table, then the failures.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tstore\tN\tthroughput\tp50 ms\tp95/p99 ms\tchecks")
	for _, res := range r.Results {
		checks := "OK"
		if !res.OK {
			checks = "FAIL"
		}
		lat := "-\t-"
		if res.Latency.Count > 0 {
			lat = fmt.Sprintf("%.2f\t%.2f/%.2f", res.Latency.P50, res.Latency.P95, res.Latency.P99)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s %s\t%s\t%s\n", res.Scenario, res.Store, res.N, num(res.Throughput), res.Unit, lat, checks)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	for _, res := range r.Results {
		for _, n := range res.Notes {
			if _, err := fmt.Fprintf(w, "note %s/%s/%d: %s\n", res.Scenario, res.Store, res.N, n); err != nil {
				return fmt.Errorf("write table: %w", err)
			}
		}
		for _, f := range res.Failed() {
			if _, err := fmt.Fprintf(w, "FAIL %s/%s/%d: %s\n", res.Scenario, res.Store, res.N, f); err != nil {
				return fmt.Errorf("write table: %w", err)
			}
		}
	}
	if err := writeRatios(w, r.Reference); err != nil {
		return err
	}
	return writeSoak(w, r.Soak)
}

// writeRatios prints the reference table in Markdown, to paste into the
// README as it is.
func writeRatios(w io.Writer, rs []Ratio) error {
	if len(rs) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("\nReference: ours beside socket.io 4.8 on Node (bench/noderef), alternated; medians of the runs that passed their checks\n\n")
	b.WriteString("| figure | ours | reference | ours / reference | target | runs (ours/ref) |\n|---|---|---|---|---|---|\n")
	for _, q := range rs {
		ratio := "-"
		if q.Ratio != 0 {
			ratio = fmt.Sprintf("%.2f", q.Ratio)
		}
		target := q.Target
		if target == "" {
			target = "-"
		}
		fmt.Fprintf(&b, "| %s | %s %s | %s %s | %s | %s | %d/%d |\n", q.Figure, num(q.Ours), q.Unit, num(q.Ref), q.Unit, ratio, target, q.RunsOurs, q.RunsRef)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write reference table: %w", err)
	}
	return nil
}

func num(f float64) string {
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f", f)
	case f >= 10:
		return fmt.Sprintf("%.1f", f)
	default:
		return fmt.Sprintf("%.2f", f)
	}
}
