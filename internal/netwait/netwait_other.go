//go:build !linux

package netwait

import "syscall"

// Poller is not supported here: New reports ErrUnsupported.
type Poller struct{}

// New reports ErrUnsupported.
func New() (*Poller, error) { return nil, ErrUnsupported }

// Close does nothing.
func (p *Poller) Close() error { return nil }

// Armed is 0.
func (p *Poller) Armed() int { return 0 }

// Watch reports ErrUnsupported.
func (p *Poller) Watch(syscall.Conn) (*Waiter, error) { return nil, ErrUnsupported }

// Waiter is not supported here.
type Waiter struct{}

// Await reports ErrUnsupported.
func (w *Waiter) Await(func()) error { return ErrUnsupported }

// Close does nothing.
func (w *Waiter) Close() {}

// WriteNow reports ErrUnsupported, having written nothing.
func (w *Waiter) WriteNow([]byte) (int, error) { return 0, ErrUnsupported }
