package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// SoakOptions tunes RunSoak.
type SoakOptions struct {
	Users    int           // users online at once; 0: 2,000
	Duration time.Duration // 0: 10 min
	Sample   time.Duration // between samples; 0: 5 s
	// A user in a call sends a chat message every ChatGap (uniformly
	// 0.5–1.5 times it), presses Next after NextMin–NextMax, and leaves
	// the site (closes its connection) after LifeMin–LifeMax, when a new
	// user arrives in its place. 0: 5 s, 30–60 s, 2–6 min.
	ChatGap          time.Duration
	NextMin, NextMax time.Duration
	LifeMin, LifeMax time.Duration
	// Ramp spreads the first arrivals (0: 20 s); Look is how often a user
	// looks at its call, with ±30 % jitter (0: 1 s).
	Ramp, Look time.Duration
	// CSV and PNG: where the samples and their plot go ("": not written).
	CSV, PNG string
	// Progress, when set, gets a line a minute.
	Progress func(format string, args ...any)
}

func (o *SoakOptions) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Users <= 0 {
		o.Users = 2000
	}
	def(&o.Duration, 10*time.Minute)
	def(&o.Sample, 5*time.Second)
	def(&o.ChatGap, 5*time.Second)
	def(&o.NextMin, 30*time.Second)
	def(&o.NextMax, 60*time.Second)
	def(&o.LifeMin, 2*time.Minute)
	def(&o.LifeMax, 6*time.Minute)
	def(&o.Ramp, 20*time.Second)
	def(&o.Look, time.Second)
}

// between is a uniformly random duration in [lo, hi].
func between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + rand.N(hi-lo+1)
}

type soakRun struct {
	o        SoakOptions
	t        Target
	ck       *Checks
	stop     atomic.Bool
	arrivals atomic.Int64 // users that came, the first Users included
	online   atomic.Int64
	inCall   atomic.Int64
	matched  atomic.Int64
	chats    atomic.Int64
	chatRecv atomic.Int64
	nexts    atomic.Int64
	refused  atomic.Int64
	dropped  atomic.Int64 // connections the server ended
	mu       sync.Mutex
	samples  []SoakSample
}

// soakUser is one user's connection: its call as the server announced it.
type soakUser struct {
	mu          sync.Mutex
	partner     string // "" in the queue
	lastPartner string // a chat sent before a Next may still come from it
	nextAt      time.Time
	chatAt      time.Time
}

// RunSoak holds Users users online for Duration at a human pace (joining,
// chatting, pressing Next, leaving and being replaced), and samples the
// server's RSS, its goroutines (pprof) and Redis's used_memory every
// Sample. It checks that each series is flat after warm-up (the first
// half; see trend), that chat only comes from the partner, that the
// server ends no connection and stays healthy. t needs a Server started
// with Pprof, and t.Redis.
func RunSoak(ctx context.Context, t Target, o SoakOptions) (Result, *SoakSummary) {
	o.defaults()
	ck := &Checks{}
	sr := &soakRun{o: o, t: t, ck: ck}
	err := sr.run(ctx)
	r := newResult("soak", t.Store, o.Users, "users", ck, err)
	sum := sr.summarize(&r)
	return r, sum
}

func (sr *soakRun) run(ctx context.Context) error {
	if sr.t.Server == nil || sr.t.Redis == nil {
		return errors.New("soak: needs the server process and the private redis")
	}
	for _, n := range []string{"chat only from the partner", "server ends no connection", "server healthy after"} {
		sr.ck.Pass(n)
	}
	start := time.Now()
	uctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range sr.o.Users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Arrivals spread over the ramp, not a thundering herd.
			if !sleepCtx(uctx, time.Duration(i)*sr.o.Ramp/time.Duration(sr.o.Users)) {
				return
			}
			for uctx.Err() == nil {
				sr.visit(uctx, int(sr.arrivals.Add(1)))
			}
		}()
	}
	tick := time.NewTicker(sr.o.Sample)
	defer tick.Stop()
	end := time.After(sr.o.Duration)
	sr.sample(ctx, start)
loop:
	for {
		select {
		case <-tick.C:
			sr.sample(ctx, start)
			sr.progress()
		case <-end:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	sr.stop.Store(true)
	cancel()
	wg.Wait()
	if !sr.t.Server.Healthy(ctx) {
		sr.ck.Failf("server healthy after", "GET /health is not 200 after the soak")
	}
	if ctx.Err() != nil {
		return fmt.Errorf("soak: %w", ctx.Err())
	}
	return nil
}

// progress reports the last sample about once a minute.
func (sr *soakRun) progress() {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	if sr.o.Progress == nil || len(sr.samples)%max(int(time.Minute/sr.o.Sample), 1) != 0 {
		return
	}
	s := sr.samples[len(sr.samples)-1]
	sr.o.Progress("soak %.1f min: online %.0f, in a call %.0f, RSS %.1f MiB, goroutines %.0f, redis %.2f MiB; %d chats, %d nexts, %d arrivals",
		s.Seconds/60, s.Online, s.InCall, s.RSSMiB, s.Goroutines, s.RedisMiB, sr.chats.Load(), sr.nexts.Load(), sr.arrivals.Load())
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

// visit is one user's stay: connect, join, then calls (chat, Next) until
// its time is up; then it leaves, closing its connection.
func (sr *soakRun) visit(ctx context.Context, id int) {
	u := &soakUser{}
	c, err := Dial(ctx, sr.t.URL, DialOptions{Origin: sr.t.Origin, Handler: sr.handler(u), ConnectWait: connectWait, Attempts: 3})
	if err != nil {
		if ctx.Err() == nil {
			sr.ck.Failf("server ends no connection", "user %d: %v", id, err)
			sleepCtx(ctx, time.Second)
		}
		return
	}
	sr.online.Add(1)
	defer sr.online.Add(-1)
	defer func() {
		u.mu.Lock()
		if u.partner != "" {
			sr.inCall.Add(-1)
		}
		u.mu.Unlock()
		c.SetHandler(nil)
		_ = c.Close()
	}()
	ack := func(args json.RawMessage, ok bool) {
		if ok && !ackOK(args) {
			sr.refused.Add(1)
		}
	}
	if err := c.EmitCallback("join-queue", benchProfile(id), ack); err != nil {
		return
	}
	leaveAt := time.Now().Add(between(sr.o.LifeMin, sr.o.LifeMax))
	for time.Now().Before(leaveAt) {
		if !sleepCtx(ctx, between(sr.o.Look*7/10, sr.o.Look*13/10)) {
			return
		}
		select {
		case <-c.Done():
			if !sr.stop.Load() {
				sr.dropped.Add(1)
				sr.ck.Failf("server ends no connection", "user %d's connection ended: %v", id, c.Err())
			}
			return
		default:
		}
		now := time.Now()
		u.mu.Lock()
		partner, chat, next := u.partner, u.partner != "" && now.After(u.chatAt), u.partner != "" && now.After(u.nextAt)
		if chat {
			u.chatAt = now.Add(between(sr.o.ChatGap/2, sr.o.ChatGap*3/2))
		}
		if next {
			// The React client shows the queue at once; the server
			// requeues both.
			u.lastPartner, u.partner = u.partner, ""
			sr.inCall.Add(-1)
		}
		u.mu.Unlock()
		switch {
		case next:
			sr.nexts.Add(1)
			_ = c.EmitCallback("next", nil, ack)
		case chat:
			sr.chats.Add(1)
			_ = c.Emit("chat-message", chatOut{Message: "hi " + partner[:min(4, len(partner))]})
		}
	}
}

// ackOK reports whether an ack's arguments say {ok: true}.
func ackOK(args json.RawMessage) bool {
	var a []struct {
		OK bool `json:"ok"`
	}
	return json.Unmarshal(args, &a) == nil && len(a) > 0 && a[0].OK
}

func (sr *soakRun) handler(u *soakUser) Handler {
	return func(c *Client, ev Event) {
		switch ev.Name {
		case "matched":
			var m matchedMsg
			_ = json.Unmarshal(ev.Data, &m)
			sr.matched.Add(1)
			now := time.Now()
			u.mu.Lock()
			if u.partner == "" {
				sr.inCall.Add(1)
			}
			u.lastPartner, u.partner = u.partner, m.PartnerID
			u.chatAt = now.Add(between(0, sr.o.ChatGap))
			u.nextAt = now.Add(between(sr.o.NextMin, sr.o.NextMax))
			u.mu.Unlock()
		case "partner-left":
			u.mu.Lock()
			if u.partner != "" {
				sr.inCall.Add(-1)
			}
			u.lastPartner, u.partner = u.partner, ""
			u.mu.Unlock()
		case "chat-message":
			var m chatIn
			_ = json.Unmarshal(ev.Data, &m)
			sr.chatRecv.Add(1)
			u.mu.Lock()
			from := m.From == u.partner || m.From == u.lastPartner
			u.mu.Unlock()
			if !from || m.From == "" {
				sr.ck.Failf("chat only from the partner", "%s got a chat-message from %s", c.SID, m.From)
			}
		}
	}
}
