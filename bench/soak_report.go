package bench

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// SoakSample is one reading of the soak.
type SoakSample struct {
	Seconds    float64 // since the soak started
	RSSMiB     float64 // the server's VmRSS
	Goroutines float64 // the server's, from pprof
	RedisMiB   float64 // Redis's used_memory
	Online     float64 // users connected (the bench's count)
	InCall     float64 // users in a call (as the server told them)
}

// SoakTrend is one series over the second half of the soak (after
// warm-up): its mean, its least-squares slope, and whether the growth that
// slope makes over the half stays within Bound.
type SoakTrend struct {
	Series      string  `json:"series"`
	Mean        float64 `json:"mean"`
	SlopePerMin float64 `json:"slope_per_min"`
	Growth      float64 `json:"growth_over_half"`
	Bound       float64 `json:"bound"`
	Flat        bool    `json:"flat"`
}

// SoakSummary is what the soak reports besides its samples.
type SoakSummary struct {
	Users     int         `json:"users"`
	DurationS float64     `json:"duration_s"`
	Samples   int         `json:"samples"`
	Trends    []SoakTrend `json:"trends"`
	CSV       string      `json:"csv,omitempty"`
	PNG       string      `json:"png,omitempty"`
}

// sample reads the server's RSS and goroutines and Redis's memory.
func (sr *soakRun) sample(ctx context.Context, start time.Time) {
	s := SoakSample{Seconds: time.Since(start).Seconds(), Online: float64(sr.online.Load()), InCall: float64(sr.inCall.Load())}
	if rss, err := sr.t.Server.RSS(); err == nil {
		s.RSSMiB = mb(rss)
	}
	if g, err := sr.t.Server.Goroutines(ctx); err == nil {
		s.Goroutines = float64(g)
	}
	if m, err := sr.t.Redis.Memory(ctx); err == nil {
		s.RedisMiB = mb(m.Used)
	}
	sr.mu.Lock()
	sr.samples = append(sr.samples, s)
	sr.mu.Unlock()
}

// soakSeries are the series checked for flatness: name, reading, and the
// growth over the second half allowed beyond 5 % of its mean (the noise
// of a quiet series: a GC cycle's heap, a burst of calls, Redis's
// allocator).
var soakSeries = []struct {
	name  string
	read  func(SoakSample) float64
	slack float64
}{
	{"rss_mib", func(s SoakSample) float64 { return s.RSSMiB }, 8},
	{"goroutines", func(s SoakSample) float64 { return s.Goroutines }, 100},
	{"redis_used_mib", func(s SoakSample) float64 { return s.RedisMiB }, 1},
}

// trend fits a line to the samples after warm-up (the second half).
func trend(name string, ss []SoakSample, read func(SoakSample) float64, slack float64) SoakTrend {
	tr := SoakTrend{Series: name}
	half := ss[len(ss)/2:]
	if len(half) < 2 {
		return tr
	}
	var sx, sy, sxx, sxy float64
	for _, s := range half {
		x, y := s.Seconds/60, read(s)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	n := float64(len(half))
	tr.Mean = sy / n
	if d := n*sxx - sx*sx; d != 0 {
		tr.SlopePerMin = (n*sxy - sx*sy) / d
	}
	tr.Growth = tr.SlopePerMin * (half[len(half)-1].Seconds - half[0].Seconds) / 60
	tr.Bound = 0.05*math.Abs(tr.Mean) + slack
	tr.Flat = tr.Growth <= tr.Bound
	return tr
}

// summarize fills r from the samples, checks the trends, and writes the
// CSV and the plot.
func (sr *soakRun) summarize(r *Result) *SoakSummary {
	sr.mu.Lock()
	ss := sr.samples
	sr.mu.Unlock()
	sum := &SoakSummary{Users: sr.o.Users, Samples: len(ss)}
	r.Throughput = float64(sr.o.Users)
	for k, v := range map[string]int64{"arrivals": sr.arrivals.Load(), "matched": sr.matched.Load(), "chats_sent": sr.chats.Load(),
		"chats_received": sr.chatRecv.Load(), "nexts": sr.nexts.Load(), "acks_refused": sr.refused.Load(), "dropped": sr.dropped.Load()} {
		r.Extra[k] = float64(v)
	}
	if len(ss) == 0 {
		return sum
	}
	sum.DurationS = ss[len(ss)-1].Seconds
	r.Duration = sum.DurationS
	const ckFlat = "flat after warm-up (second half)"
	if len(ss) >= 8 {
		r.Checks = append(r.Checks, Check{Name: ckFlat, OK: true})
	}
	for _, s := range soakSeries {
		tr := trend(s.name, ss, s.read, s.slack)
		sum.Trends = append(sum.Trends, tr)
		r.Extra[s.name+"_mean"] = tr.Mean
		r.Extra[s.name+"_growth"] = tr.Growth
		if len(ss) >= 8 && !tr.Flat {
			c := &r.Checks[len(r.Checks)-1]
			c.OK, r.OK = false, false
			c.Failures++
			c.Examples = append(c.Examples, fmt.Sprintf("%s grew by %.1f over the second half (mean %.1f, bound %.1f)", s.name, tr.Growth, tr.Mean, tr.Bound))
		}
	}
	if sr.o.CSV != "" {
		if err := writeSoakCSV(sr.o.CSV, ss); err != nil {
			r.Notes = append(r.Notes, err.Error())
		} else {
			sum.CSV = sr.o.CSV
		}
	}
	if sr.o.PNG != "" {
		if err := plotSoak(sr.o.PNG, ss, sr.o.Users); err != nil {
			r.Notes = append(r.Notes, err.Error())
		} else {
			sum.PNG = sr.o.PNG
		}
	}
	return sum
}

func writeSoakCSV(path string, ss []SoakSample) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("soak csv: %w", err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	w := csv.NewWriter(f)
	_ = w.Write([]string{"seconds", "rss_mib", "goroutines", "redis_used_mib", "online", "in_call"})
	for _, s := range ss {
		_ = w.Write([]string{ff(s.Seconds), ff(s.RSSMiB), ff(s.Goroutines), ff(s.RedisMiB), ff(s.Online), ff(s.InCall)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("soak csv: %w", err)
	}
	return nil
}

func ff(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// plotColors: blue, then orange.
var plotColors = []color.Color{color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}}

// plotSoak draws the samples as three panels over time: the server's RSS,
// its goroutines with the users in a call, and Redis's used_memory.
func plotSoak(path string, ss []SoakSample, users int) error {
	panel := func(title, ylabel string, lines ...func(SoakSample) float64) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "minutes"
		p.Y.Label.Text = ylabel
		p.Y.Min = 0
		for i, read := range lines {
			pts := make(plotter.XYs, len(ss))
			for j, s := range ss {
				pts[j] = plotter.XY{X: s.Seconds / 60, Y: read(s)}
			}
			l, err := plotter.NewLine(pts)
			if err != nil {
				return nil, fmt.Errorf("soak plot: %w", err)
			}
			l.Color = plotColors[i%len(plotColors)]
			l.Width = vg.Points(1.5)
			p.Add(l)
		}
		return p, nil
	}
	rss, err1 := panel(fmt.Sprintf("server RSS (%d users)", users), "MiB", func(s SoakSample) float64 { return s.RSSMiB })
	gor, err2 := panel("server goroutines (blue), users in a call (orange)", "count",
		func(s SoakSample) float64 { return s.Goroutines }, func(s SoakSample) float64 { return s.InCall })
	red, err3 := panel("Redis used_memory", "MiB", func(s SoakSample) float64 { return s.RedisMiB })
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	img := vgimg.New(8*vg.Inch, 9*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 3, Cols: 1, PadX: vg.Millimeter, PadY: 3 * vg.Millimeter, PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	plots := [][]*plot.Plot{{rss}, {gor}, {red}}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("soak plot: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("soak plot: %w", err)
	}
	return f.Close()
}

// writeSoak prints the soak's trends.
func writeSoak(w io.Writer, s *SoakSummary) error {
	if s == nil {
		return nil
	}
	if _, err := fmt.Fprintf(w, "\nSoak: %d users for %.1f min, %d samples (CSV %s, plot %s); second half (after warm-up):\n", s.Users, s.DurationS/60, s.Samples, s.CSV, s.PNG); err != nil {
		return fmt.Errorf("write soak: %w", err)
	}
	for _, t := range s.Trends {
		flat := "flat"
		if !t.Flat {
			flat = "GROWING"
		}
		if _, err := fmt.Fprintf(w, "  %-15s mean %8.1f  slope %+7.2f/min  growth %+7.1f (bound %.1f)  %s\n", t.Series, t.Mean, t.SlopePerMin, t.Growth, t.Bound, flat); err != nil {
			return fmt.Errorf("write soak: %w", err)
		}
	}
	return nil
}
