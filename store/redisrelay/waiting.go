package redisrelay

import (
	"context"
	"sync"
	"time"
)

// On a Redis Cluster a socket's subscription moves when its channel's
// slot does (a resharding, a failover: see shards), and a frame published
// between the move and the new SSUBSCRIBE reaches no instance: SPUBLISH
// answers 0 receivers. On one Redis that answer means the socket is
// connected nowhere; on a cluster it may mean only that its subscription
// is moving, which takes at most the next resync (resyncEvery). So a frame
// that found nobody waits, and is published again until somebody gets it
// or waitFor has passed (the socket was gone after all); the frames sent
// to that socket meanwhile wait behind it, so that they arrive in the
// order they were sent (one sender's order: a frame another goroutine
// publishes between the first one's publish and its start of the wait
// may pass it, as it may on any pub/sub; a socket's relays come from its
// one partner). What waits is bounded: the sockets with waiting
// frames, the frames and the bytes of each; past a bound a frame is
// dropped, as a frame to a gone socket is.
const (
	// waitFor is how long a socket's frames wait for a subscriber: two
	// resyncs, and the SSUBSCRIBE after them.
	waitFor = 2*resyncEvery + time.Second
	// firstRetry is the wait before the first new publish; each next
	// one waits twice as long, up to lastRetry.
	firstRetry = 20 * time.Millisecond
	lastRetry  = 320 * time.Millisecond
	// maxWaitingSockets bounds the sockets with frames waiting (each has
	// a goroutine that publishes them again).
	maxWaitingSockets = 1024
	// maxWaitingFrames and maxWaitingBytes bound each socket's waiting
	// frames: a call's start is about 30 signals.
	maxWaitingFrames = 64
	maxWaitingBytes  = 256 << 10
)

// waiting holds, by socket, the frames that wait for the socket's
// subscription to move.
type waiting struct {
	mu     sync.Mutex
	queues map[string]*waitQueue
}

type waitQueue struct {
	frames [][]byte
	bytes  int
}

func newWaiting() *waiting {
	return &waiting{queues: map[string]*waitQueue{}}
}

// behind queues frame after to's waiting frames, if it has any, and
// reports whether it did (or dropped it at a bound): the caller publishes
// it otherwise.
func (w *waiting) behind(to string, frame []byte) (queued, dropped bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	q, ok := w.queues[to]
	if !ok {
		return false, false
	}
	return true, !q.push(frame)
}

// start makes frame, which found no subscriber, the first of to's waiting
// frames, and reports whether to's frames were not waiting yet (the
// caller then publishes them again: retry) and whether frame was dropped
// at a bound.
func (w *waiting) start(to string, frame []byte) (first, dropped bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if q, ok := w.queues[to]; ok { // another sender's frame found nobody too
		return false, !q.push(frame)
	}
	if len(w.queues) >= maxWaitingSockets {
		return false, true
	}
	q := &waitQueue{}
	q.push(frame)
	w.queues[to] = q
	return true, false
}

func (q *waitQueue) push(frame []byte) bool {
	if len(q.frames) >= maxWaitingFrames || q.bytes+len(frame) > maxWaitingBytes {
		return false
	}
	q.frames = append(q.frames, frame)
	q.bytes += len(frame)
	return true
}

// head is to's first waiting frame.
func (w *waiting) head(to string) []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.queues[to].frames[0]
}

// pop removes to's first waiting frame, and to's queue with it when it
// was the last (frames sent from then on are published at once); it
// reports whether frames are left.
func (w *waiting) pop(to string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queues[to]
	q.bytes -= len(q.frames[0])
	q.frames[0] = nil
	q.frames = q.frames[1:]
	if len(q.frames) == 0 {
		delete(w.queues, to)
		return false
	}
	return true
}

// drop removes to's waiting frames and reports how many there were.
func (w *waiting) drop(to string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(w.queues[to].frames)
	delete(w.queues, to)
	return n
}

// retry publishes to's waiting frames again, in order, until each has
// reached somebody, or drops what is left when waitFor has passed since
// the first found nobody, or ctx is done.
func (r *Relay) retry(ctx context.Context, to string) {
	deadline := time.Now().Add(waitFor)
	delay := firstRetry
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			r.waiting.drop(to)
			return
		case <-timer.C:
		}
		for {
			delivered, err := r.publish(ctx, to, r.waiting.head(to))
			if err != nil || !delivered {
				break
			}
			if !r.waiting.pop(to) {
				return
			}
		}
		if !time.Now().Before(deadline) {
			n := r.waiting.drop(to)
			r.every.Do(func() {
				r.log.Warn("relay frames dropped: no instance subscribed to the socket", "frames", n, "waited", waitFor)
			})
			return
		}
		delay = min(2*delay, lastRetry)
		timer.Reset(delay)
	}
}
