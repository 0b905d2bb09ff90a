package events

import "sync"

// maxPendingCommands bounds the work waiting on one connection: its join,
// Next, leave, report and block requests and the relays queued behind them. A client
// sending faster than the store answers is refused beyond it.
const maxPendingCommands = 16

// commands is one connection's queue of work: run one at a time, in the
// order queued, on a goroutine of the connection's own while there is work
// (idle connections cost none), so that a slow store delays no reading and
// no other connection. The queue is bounded (push) except for the last
// command, the disconnect, queued by close.
type commands struct {
	// running counts the queues of every connection that have work.
	running *inFlight

	mu     sync.Mutex
	queue  []func()
	busy   bool // a goroutine is draining the queue
	closed bool // close was called: later pushes are dropped
}

func newCommands(running *inFlight) *commands { return &commands{running: running} }

// push queues cmd behind the earlier ones. It reports false, queuing
// nothing, when maxPendingCommands already wait. Once the queue is closed,
// cmd is dropped and push reports true: the last command, queued by close,
// ends everything.
func (q *commands) push(cmd func()) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return true
	}
	if len(q.queue) >= maxPendingCommands {
		q.mu.Unlock()
		return false
	}
	q.add(cmd)
	return true
}

// close queues last after every command already queued, never refused, and
// closes the queue: what is pushed later is dropped.
func (q *commands) close(last func()) {
	q.mu.Lock()
	q.closed = true
	q.add(last)
}

// add queues cmd, and starts a goroutine to run the queue unless one is
// running. q.mu is held, and add unlocks it.
func (q *commands) add(cmd func()) {
	q.queue = append(q.queue, cmd)
	if q.busy {
		q.mu.Unlock()
		return
	}
	q.busy = true
	q.running.add()
	q.mu.Unlock()
	go q.drain()
}

// idle reports whether nothing is queued or running in the open queue.
func (q *commands) idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.busy && !q.closed
}

func (q *commands) drain() {
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.busy = false
			q.mu.Unlock()
			q.running.done()
			return
		}
		cmd := q.queue[0]
		q.queue[0] = nil
		q.queue = q.queue[1:]
		q.mu.Unlock()
		cmd()
	}
}
