package bench

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSoakRedis runs the soak small and fast (20 users, 4 s, everything a
// hundred times quicker than people): users join, chat only with their
// partner, press Next, leave and are replaced; the samples reach the CSV
// and the plot.
func TestSoakRedis(t *testing.T) {
	ctx, rd, bin := redisScenario(t)
	tg := startTarget(t, bin, rd)
	dir := t.TempDir()
	o := SoakOptions{Users: 20, Duration: 4 * time.Second, Sample: 500 * time.Millisecond,
		ChatGap: 100 * time.Millisecond, NextMin: time.Second, NextMax: 1500 * time.Millisecond,
		LifeMin: 1500 * time.Millisecond, LifeMax: 2500 * time.Millisecond, Ramp: 200 * time.Millisecond, Look: 50 * time.Millisecond,
		CSV: filepath.Join(dir, "soak.csv"), PNG: filepath.Join(dir, "soak.png")}
	r, sum := RunSoak(ctx, tg, o)
	requireOK(t, r)
	for _, k := range []string{"matched", "chats_received", "nexts"} {
		if r.Extra[k] == 0 {
			t.Errorf("no %s in the soak", k)
		}
	}
	if r.Extra["arrivals"] <= float64(o.Users) {
		t.Errorf("%.0f arrivals for %d users: nobody left and was replaced", r.Extra["arrivals"], o.Users)
	}
	if sum.Samples < 6 || len(sum.Trends) != 3 {
		t.Errorf("%d samples, %d trends", sum.Samples, len(sum.Trends))
	}
	f, err := os.Open(o.CSV)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != sum.Samples+1 {
		t.Errorf("CSV: %d rows (%v), want %d and a header", len(rows), err, sum.Samples)
	}
	png, err := os.ReadFile(o.PNG)
	if err != nil || len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Errorf("plot: %d bytes, %v", len(png), err)
	}
}
