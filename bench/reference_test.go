package bench

import (
	"context"
	"testing"
	"time"

	"github.com/zivro/zivro/internal/needbin"
)

// TestReference runs the reference scenario small, once each side: the
// reference server (bench/noderef) answers the relay path as the bench's
// client expects (the pairing's and the relay's checks: mutual pairs, one
// room, one initiator, the partner's name, data untouched, nothing lost or
// misrouted, no signal to a non-partner delivered), holds idle websocket
// and polling connections through the readings, and every figure of the
// ratio table is read on both sides.
func TestReference(t *testing.T) {
	node := needbin.Path(t, "node", "apt-get install nodejs")
	needbin.File(t, "noderef/node_modules/socket.io/package.json", "bash .ci/deps bench")
	bin := serverBin(t)
	if err := RaiseFileLimit(); err != nil {
		t.Logf("raise file limit: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ours := func(ctx context.Context) (*Server, error) {
		return StartServer(ctx, ServerOptions{Bin: bin, NodeEnv: "test", Pprof: true})
	}
	ref := func(ctx context.Context) (*Server, error) {
		return StartReference(ctx, RefOptions{Node: node, Dir: "noderef"})
	}
	rs, ratios := RunReference(ctx, ours, ref, ReferenceOptions{Rounds: 1, RelayPairs: 5, RelayDuration: 500 * time.Millisecond,
		IdleN: []int{50}, PollingN: 20, IdleSettle: 200 * time.Millisecond}, t.Logf)
	if len(rs) != 6 {
		t.Errorf("%d runs, want 6 (relay, idle websocket, idle polling; each side once)", len(rs))
	}
	for _, r := range rs {
		requireOK(t, r)
	}
	if len(ratios) != 6 {
		t.Fatalf("%d figures, want 6: %+v", len(ratios), ratios)
	}
	for _, q := range ratios {
		if q.RunsOurs != 1 || q.RunsRef != 1 {
			t.Errorf("%s: %d and %d runs, want 1 each", q.Figure, q.RunsOurs, q.RunsRef)
		}
	}
	// Relayed messages/s, CPU per message and the idle readings: both sides
	// measured.
	for _, i := range []int{0, 1, 4, 5} {
		if q := ratios[i]; q.Ours <= 0 || q.Ref <= 0 || q.Ratio <= 0 {
			t.Errorf("%s: ours %.2f, reference %.2f, ratio %.2f: a side was not measured", q.Figure, q.Ours, q.Ref, q.Ratio)
		}
	}
}

// TestReferenceStops: the reference server exits on SIGTERM, as the bench
// stops every server between readings.
func TestReferenceStops(t *testing.T) {
	node := needbin.Path(t, "node", "apt-get install nodejs")
	needbin.File(t, "noderef/node_modules/socket.io/package.json", "bash .ci/deps bench")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := StartReference(ctx, RefOptions{Node: node, Dir: "noderef"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Terminate(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Exited():
	case <-ctx.Done():
		s.Stop()
		t.Fatal("the reference server did not exit on SIGTERM")
	}
}

func TestCapConns(t *testing.T) {
	tests := []struct{ n, limit, want int }{
		{5000, 20000, 5000},
		{20000, 20000, 19000},
		{20000, 1048576, 20000},
		{19000, 20000, 19000},
		{19500, 20000, 19000},
		{5000, 0, 5000},
		{5000, 1500, 1000},
	}
	for _, tc := range tests {
		if got := capConns(tc.n, tc.limit); got != tc.want {
			t.Errorf("capConns(%d, %d) = %d, want %d", tc.n, tc.limit, got, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	res := func(v ...float64) []Result {
		var rs []Result
		for _, x := range v {
			rs = append(rs, Result{Throughput: x, OK: true})
		}
		return rs
	}
	failed := res(100)
	failed[0].OK = false
	tests := []struct {
		name string
		rs   []Result
		want float64
	}{
		{"odd", res(3, 1, 2), 2},
		{"even", res(4, 1, 2, 3), 2.5},
		{"none", nil, 0},
		{"a failed run is left out", append(res(1, 3), failed...), 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := median(tc.rs, throughput); got != tc.want {
				t.Errorf("median = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTrend(t *testing.T) {
	series := func(f func(min float64) float64) []SoakSample {
		var ss []SoakSample
		for s := 0.0; s <= 600; s += 5 {
			ss = append(ss, SoakSample{Seconds: s, RSSMiB: f(s / 60)})
		}
		return ss
	}
	rss := func(s SoakSample) float64 { return s.RSSMiB }
	tests := []struct {
		name     string
		ss       []SoakSample
		flat     bool
		growthNr float64 // the growth over the second half, roughly
	}{
		{"flat after a warm-up", series(func(m float64) float64 { return 100 + 50*min(m, 4) }), true, 0},
		{"sawtooth", series(func(m float64) float64 { return 200 + 10*float64(int(m*12)%2) }), true, 0},
		{"leak of 5 MiB a minute", series(func(m float64) float64 { return 100 + 5*m }), false, 25},
		{"shrinking", series(func(m float64) float64 { return 300 - 10*m }), true, -50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := trend("rss", tc.ss, rss, 8)
			if tr.Flat != tc.flat {
				t.Errorf("flat = %v, want %v (%+v)", tr.Flat, tc.flat, tr)
			}
			if d := tr.Growth - tc.growthNr; d > 1 || d < -1 {
				t.Errorf("growth %.2f, want about %.0f", tr.Growth, tc.growthNr)
			}
		})
	}
}

// TestFloorReference: the floor server (bench/floorref) passes the checks
// of the relay (mutual pairs, nothing lost or misrouted, data untouched, no
// signal to a non-partner delivered) and of the idle scenario held through
// a heartbeat, so that its CPU per relayed message is that of a working
// relay, and the bench reads that CPU.
func TestFloorReference(t *testing.T) {
	tg := startTarget(t, buildBin(t, "github.com/zivro/zivro/bench/floorref"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := RunRelay(ctx, tg, RelayOptions{Pairs: 5, Duration: 500 * time.Millisecond})
	requireOK(t, r)
	if r.Extra["relayed"] <= 0 || r.Extra["server_cpu_s"] <= 0 {
		t.Errorf("relayed %v, server CPU %v s: the floor's relay was not measured", r.Extra["relayed"], r.Extra["server_cpu_s"])
	}
	requireOK(t, RunIdle(ctx, tg, IdleOptions{N: 20, Settle: 200 * time.Millisecond, Hold: 12 * time.Second}))
}
