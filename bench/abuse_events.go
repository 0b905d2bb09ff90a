package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// The attacks of issue 9 through Socket.IO events and sockets: acks asked
// for and never read, deeply nested data, many sockets from one address, and
// a flood of commands.

// attackAckFlood: a client that never reads sends tiny events, each asking
// for an ack, as fast as it can for 2 s (428,000 of them left 85 MB of acks
// behind, most of them refusals by the rate limit).
func attackAckFlood(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error {
	c, err := rawConn(ctx, t, "")
	if err != nil {
		return err
	}
	defer c.conn.Close()
	end := time.Now().Add(time.Duration(float64(2*time.Second) * o.Scale))
	_ = c.conn.SetWriteDeadline(end.Add(time.Second))
	sent := 0
	buf := make([]byte, 0, 64)
	for time.Now().Before(end) && ctx.Err() == nil {
		buf = strconv.AppendInt(append(buf[:0], "42"...), int64(sent+1), 10)
		buf = append(buf, `["next"]`...)
		if c.conn.WriteMessage(websocket.TextMessage, buf) != nil {
			break
		}
		sent++
	}
	extra["events_sent"] = float64(sent)
	return nil
}

// attackDeepJSON: 20 connections send signal data nested 23,000 levels
// deep (the recursive validation grew their stacks by 76 MB in all).
func attackDeepJSON(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error {
	const depth = 23000
	frame := []byte(`42["signal",{"to":"x","data":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}]`)
	var wg sync.WaitGroup
	var sent atomic.Int64
	for range o.n(20) {
		c, err := rawConn(ctx, t, "")
		if err != nil {
			return err
		}
		wg.Go(func() {
			defer c.conn.Close()
			go func() {
				// Read (and drop) what comes back, so that acks and
				// pings do not back up.
				for {
					if _, _, err := c.conn.ReadMessage(); err != nil {
						return
					}
				}
			}()
			for range o.n(20) {
				if c.conn.WriteMessage(websocket.TextMessage, frame) != nil {
					return
				}
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	extra["events_sent"] = float64(sent.Load())
	return nil
}

// attackManySockets: 300 websockets from one address, held open.
func attackManySockets(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error {
	var (
		mu    sync.Mutex
		conns []*Client
		wg    sync.WaitGroup
		sem   = make(chan struct{}, dialParallel)
	)
	for range o.n(300) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := Dial(ctx, t.URL, DialOptions{Origin: t.Origin})
			if err == nil {
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	defer closeAll(conns)
	extra["held"] = float64(len(conns))
	extra["held_cap"] = abuseMaxConns
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
	}
	return nil
}

// attackCommandFlood: 60 sockets in pairs press Next as fast as they may
// for 4 s (78,000 Nexts used 40 % of a Redis core).
func attackCommandFlood(ctx context.Context, t Target, o AbuseOptions, extra map[string]float64) error {
	cs, err := connectAll(ctx, t, 2*o.n(30), nil)
	if err != nil {
		return fmt.Errorf("command flood: %w", err)
	}
	defer closeAll(cs)
	for _, c := range cs {
		_ = c.Emit("join-queue", map[string]string{"name": "flood"})
	}
	end := time.Now().Add(time.Duration(float64(4*time.Second) * o.Scale))
	var wg sync.WaitGroup
	var sent atomic.Int64
	for _, c := range cs {
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				if c.Emit("next", nil) != nil {
					return
				}
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	extra["nexts_sent"] = float64(sent.Load())
	return nil
}
