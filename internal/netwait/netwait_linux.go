package netwait

import (
	"errors"
	"fmt"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Poller is one epoll instance and the goroutine that waits on it.
type Poller struct {
	epfd, wake int // the epoll instance; the eventfd that ends run

	mu    sync.Mutex
	armed map[uint64]func() // what to call, by the token of each armed wait
	next  uint64            // the last token given
	// closed refuses new waits: Close was called, or the wait on the
	// epoll instance failed.
	closed      bool
	closeCalled bool
	done        chan struct{} // closed when run returns
}

// wakeToken marks the eventfd's event.
const wakeToken = 0

// New starts a Poller; Close stops it.
func New() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	setToken(&ev, wakeToken)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(wake)
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll_ctl eventfd: %w", err)
	}
	p := &Poller{epfd: epfd, wake: wake, armed: make(map[uint64]func()), done: make(chan struct{})}
	go p.run()
	return p, nil
}

// Close stops the Poller: the functions of the waits still armed are
// never called. It returns once the Poller's goroutine has ended.
func (p *Poller) Close() error {
	p.mu.Lock()
	if p.closeCalled {
		p.mu.Unlock()
		<-p.done
		return nil
	}
	p.closeCalled, p.closed = true, true
	p.armed = nil
	p.mu.Unlock()
	var one [8]byte
	one[0] = 1 // an eventfd counter is a host-order uint64; any non-zero will do
	if _, err := unix.Write(p.wake, one[:]); err != nil {
		return fmt.Errorf("wake the poller: %w", err)
	}
	<-p.done
	unix.Close(p.wake)
	return unix.Close(p.epfd)
}

// Armed is the number of waits armed now.
func (p *Poller) Armed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.armed)
}

func (p *Poller) run() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			// Only an invalid instance fails, which should never be:
			// the waits armed are told (their readers read, and find
			// nothing or their bytes), and later ones refused (their
			// readers wait on goroutines of their own).
			p.mu.Lock()
			armed := p.armed
			p.armed, p.closed = nil, true
			p.mu.Unlock()
			for _, ready := range armed {
				ready()
			}
			return
		}
		for _, ev := range events[:n] {
			token := tokenOf(ev)
			if token == wakeToken {
				return
			}
			p.mu.Lock()
			ready := p.armed[token]
			delete(p.armed, token)
			p.mu.Unlock()
			if ready != nil {
				ready()
			}
		}
	}
}

// arm registers fn under a new token.
func (p *Poller) arm(fn func()) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, ErrClosed
	}
	p.next++
	p.armed[p.next] = fn
	return p.next, nil
}

// disarm forgets token's function; it reports whether it was armed.
func (p *Poller) disarm(token uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.armed[token]
	delete(p.armed, token)
	return ok
}

// The 64 bits of an event's data hold a wait's token (unix.EpollEvent
// spells them Fd and Pad).
func setToken(ev *unix.EpollEvent, token uint64) {
	ev.Fd, ev.Pad = int32(uint32(token)), int32(uint32(token>>32))
}

func tokenOf(ev unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// Watch makes a Waiter for conn, which must be a connection of the
// operating system's (a *net.TCPConn, say); it makes no system call.
func (p *Poller) Watch(conn syscall.Conn) (*Waiter, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	return &Waiter{p: p, rc: rc}, nil
}

// Waiter waits for one connection's bytes.
type Waiter struct {
	p  *Poller
	rc syscall.RawConn

	mu     sync.Mutex
	token  uint64 // of the armed wait, 0 when none
	closed bool
}

// Await arranges for ready to be called, once, when the connection has
// bytes to read, has reached its end or has failed; ready runs on the
// Poller's goroutine and must not block (it starts the reader, say). It
// returns an error, and ready is never called, when the Waiter or the
// connection is closed, or the connection cannot be watched. A Waiter has
// one wait armed at a time: Await again only once ready was called.
func (w *Waiter) Await(ready func()) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	token, err := w.p.arm(func() {
		w.mu.Lock()
		w.token = 0
		w.mu.Unlock()
		ready()
	})
	if err != nil {
		return err
	}
	// Level-triggered and one-shot: an event reports bytes there now
	// (those that came before the wait too), and disarms the
	// descriptor until the next Await arms it again. The descriptor is
	// used inside Control only, where it cannot be closed (and its
	// number given to another connection) meanwhile.
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT}
	setToken(&ev, token)
	var ctlErr error
	err = w.rc.Control(func(fd uintptr) {
		ctlErr = unix.EpollCtl(w.p.epfd, unix.EPOLL_CTL_MOD, int(fd), &ev)
		if errors.Is(ctlErr, unix.ENOENT) { // the connection's first wait
			ctlErr = unix.EpollCtl(w.p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
		}
	})
	if err == nil {
		err = ctlErr
	}
	if err != nil {
		w.p.disarm(token)
		return fmt.Errorf("watch the connection: %w", err)
	}
	w.token = token
	return nil
}

// Close forgets the armed wait, if any (its ready is then never called,
// unless it is being called), and refuses later ones. The connection's
// descriptor leaves the epoll instance when the connection closes.
func (w *Waiter) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.token != 0 {
		w.p.disarm(w.token)
		w.token = 0
	}
}

// WriteNow writes what of p the connection takes without waiting, and
// reports how much: less than len(p) with a nil error when its send buffer
// is full. It never blocks, so a writer can hand only a rest that would
// wait to a goroutine, not every write.
func (w *Waiter) WriteNow(p []byte) (int, error) {
	written := 0
	var werr error
	err := w.rc.Write(func(fd uintptr) bool {
		for written < len(p) {
			n, err := unix.Write(int(fd), p[written:])
			if n > 0 {
				written += n
			}
			if err != nil {
				if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
					werr = err
				}
				break
			}
			if n <= 0 {
				break
			}
		}
		return true // never wait: the caller does, elsewhere
	})
	if err != nil {
		return written, fmt.Errorf("write: %w", err)
	}
	if werr != nil {
		return written, fmt.Errorf("write: %w", werr)
	}
	return written, nil
}
