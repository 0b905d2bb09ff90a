package redisstore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// The state changes users ask for (join, next, leave, block) go to Redis in
// batches: those asked for while earlier batches are under way wait, and go
// together in the next call of batch.lua, which applies them one after the
// other exactly as separate calls would. A lone change costs one round trip
// as before; a burst (two thousand users pressing Start at once) costs a
// handful, and Redis runs one script per batch instead of one per change.

const (
	// maxBatch bounds the changes in one call, so that one call never holds
	// Redis for long.
	maxBatch = 128
	// maxInFlight is how many batches may be under way at once: more than
	// one, so that Redis is not idle while a batch's reply travels.
	maxInFlight = 4
	// batchTimeout bounds one batch call. The callers' own deadlines apply
	// while they wait; this one ends a call whose callers have all given up.
	batchTimeout = 10 * time.Second
)

// change is one requested state change.
type change struct {
	op, id, arg string // see batch.lua
	done        chan changeResult
}

type changeResult struct {
	status int64
	err    error
}

// batcher collects changes and runs them in batches.
type batcher struct {
	// run applies a batch: ARGV triples in, one status per change out.
	run func(ctx context.Context, triples []any) ([]int64, error)

	mu      sync.Mutex
	waiting []*change
	running int // batch loops under way
}

// do applies one change and returns its status. When ctx ends before the
// change was sent, it is withdrawn and never applied; once sent, its outcome
// is unknown to the caller, as with any call whose reply is lost.
func (b *batcher) do(ctx context.Context, op, id, arg string) (int64, error) {
	c := &change{op: op, id: id, arg: arg, done: make(chan changeResult, 1)}
	b.mu.Lock()
	b.waiting = append(b.waiting, c)
	if b.running < maxInFlight {
		b.running++
		go b.loop()
	}
	b.mu.Unlock()
	select {
	case r := <-c.done:
		return r.status, r.err
	case <-ctx.Done():
		b.mu.Lock()
		if i := slices.Index(b.waiting, c); i >= 0 {
			b.waiting = slices.Delete(b.waiting, i, i+1)
		}
		b.mu.Unlock()
		return 0, ctx.Err()
	}
}

// loop runs batches until no change waits.
func (b *batcher) loop() {
	for {
		b.mu.Lock()
		n := min(len(b.waiting), maxBatch)
		if n == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		batch := slices.Clone(b.waiting[:n])
		b.waiting = slices.Delete(b.waiting, 0, n)
		b.mu.Unlock()
		b.send(batch)
	}
}

func (b *batcher) send(batch []*change) {
	triples := make([]any, 0, 3*len(batch))
	for _, c := range batch {
		triples = append(triples, c.op, c.id, c.arg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	statuses, err := b.run(ctx, triples)
	if err == nil && len(statuses) != len(batch) {
		err = fmt.Errorf("batch of %d changes: %d statuses", len(batch), len(statuses))
	}
	for i, c := range batch {
		if err != nil {
			c.done <- changeResult{err: err}
			continue
		}
		c.done <- changeResult{status: statuses[i]}
	}
}
