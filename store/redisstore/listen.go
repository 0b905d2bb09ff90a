package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/queue"
)

const (
	// listenBlock is how long one XREAD waits for new events.
	listenBlock = 2 * time.Second
	// listenBatch is how many events one XREAD returns at most.
	listenBatch = 512
	// maxBackoff caps the wait between attempts while Redis is down.
	maxBackoff = time.Second
	// wakeKeyTTL bounds the life of the stream (Keys.ListenPrefix) a
	// Listen also reads, to be woken up when its context is done: go-redis
	// does not abort a blocked XREAD on cancellation, and a shutdown should
	// not wait for listenBlock.
	wakeKeyTTL = 10 * time.Second
)

// Listen implements queue.Store. Once Redis answers, it takes the id of the
// stream's last entry, calls ready, and reads on from the last id it has
// seen, so that it neither skips nor repeats events across XREAD calls and
// Redis outages. If Redis restarts empty, new entries get ids above the old
// ones (they are timestamps), so reading on from the last id seen picks them
// up.
func (s *Store) Listen(ctx context.Context, ready func(), handle func(queue.Event)) error {
	backoff := time.Duration(0)
	pause := func() bool {
		backoff = min(max(2*backoff, 50*time.Millisecond), maxBackoff)
		t := time.NewTimer(backoff)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}

	// "$" in XREAD would mean "the end at the time of this call" on every
	// call, losing what arrives between two calls: resolve it once, when
	// Redis can be reached, and only then report ready.
	var last string
	for {
		var err error
		if last, err = s.streamEnd(ctx); err == nil {
			break
		}
		if !pause() {
			return ctx.Err()
		}
	}
	backoff = 0
	ready()

	wake := s.keys.ListenPrefix + rand.Text()
	woken := make(chan struct{})
	stopWaker := context.AfterFunc(ctx, func() {
		defer close(woken)
		wctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		// Best effort: when Redis is down, XREAD is not blocked anyway.
		_, _ = s.client.Pipelined(wctx, func(p redis.Pipeliner) error {
			p.XAdd(wctx, &redis.XAddArgs{Stream: wake, Values: []any{"stop", "1"}})
			p.PExpire(wctx, wake, wakeKeyTTL)
			return nil
		})
	})
	defer func() {
		if !stopWaker() {
			<-woken // leave no goroutine behind
		}
	}()

	// A connection of its own: through the pool, every XREAD would queue
	// behind the script calls waiting for a connection, and a burst of joins
	// would hold back every announcement until the burst is through.
	conn, release := s.listenConn()
	defer func() { release() }()
	// failed: the last read failed; the next one starts by checking that
	// the read position survived (see position).
	failed := false
	for ctx.Err() == nil {
		if failed {
			pos, gap, err := s.position(ctx, last)
			if err != nil {
				if !pause() {
					break
				}
				continue
			}
			failed = false
			if gap {
				last = pos
				handle(queue.Event{Kind: queue.EventGap, ID: pos})
			}
		}
		streams, err := conn.XRead(ctx, &redis.XReadArgs{
			// The wake stream is read from its start: an entry added
			// before this XREAD must still end it at once.
			Streams: []string{s.keys.Events, wake, last, "0-0"},
			Count:   listenBatch,
			Block:   listenBlock,
		}).Result()
		if errors.Is(err, redis.Nil) {
			continue // nothing new within listenBlock
		}
		if err != nil {
			failed = true
			// The connection may be the broken part: take a new one.
			release()
			conn, release = s.listenConn()
			if ctx.Err() != nil || !pause() {
				break
			}
			continue
		}
		backoff = 0
		for _, st := range streams {
			if st.Stream != s.keys.Events {
				continue // woken: the loop condition ends it
			}
			for _, m := range st.Messages {
				last = m.ID
				if e, ok := decode(m.Values); ok {
					e.At = entryTime(m.ID)
					e.ID = m.ID
					handle(e)
				}
			}
		}
	}
	return ctx.Err()
}

// listenConn returns a connection of its own for the blocking reads of
// Listen, where the client can give one (a cluster client can't: it pools
// per node), and how to give it back.
func (s *Store) listenConn() (redis.Cmdable, func()) {
	if c, ok := s.client.(interface{ Conn() *redis.Conn }); ok {
		conn := c.Conn()
		return conn, func() { _ = conn.Close() }
	}
	return s.client, func() {}
}

// streamEnd is the id of the last event in the stream, "0-0" when empty.
func (s *Store) streamEnd(ctx context.Context) (string, error) {
	msgs, err := s.client.XRevRangeN(ctx, s.keys.Events, "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

// entryTime is when Redis added the stream entry id: the milliseconds
// before its dash, by Redis's clock. Zero when id is not of that form.
func entryTime(id string) time.Time {
	ms, _, ok := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// decode turns a stream entry back into an event; see the emit functions in
// lib.lua for the fields. Entries it does not understand are skipped, so
// that an older instance survives events a newer one adds.
func decode(v map[string]any) (queue.Event, bool) {
	str := func(k string) string {
		s, _ := v[k].(string)
		return s
	}
	e := queue.Event{User: str("u")}
	switch str("k") {
	case "m":
		e.Kind = queue.EventMatched
		e.Partner = str("p")
		e.PartnerName = str("n")
		e.Room = str("r")
		e.Initiator = str("i") == "1"
		e.PartnerAddr = str("a")
		e.PartnerRegion = str("g")
		e.TextOnly = str("t") == "1"
		if c := str("c"); c != "" {
			// Written by cjson.encode of a list of strings; anything else
			// is an older or foreign entry: no common interests.
			_ = json.Unmarshal([]byte(c), &e.Common)
		}
	case "l":
		e.Kind = queue.EventPartnerLeft
		e.Reason = queue.Reason(str("why"))
		e.Partner = str("p")
	case "d":
		e.Kind = queue.EventDone
	case "r":
		e.Kind = queue.EventResumed
		e.Partner = str("p")
		e.PartnerAddr = str("a")
		e.Reason = queue.Reason(str("why"))
	case "b":
		e.Kind = queue.EventBanned
		e.Addr = str("a")
		return e, e.Addr != ""
	default:
		return queue.Event{}, false
	}
	return e, e.User != ""
}
