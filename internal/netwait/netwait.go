// Package netwait calls a function when a connection has bytes to read,
// with no goroutine waiting on it meanwhile.
//
// A Go server reads a connection on a goroutine that waits in Read: its
// stack (2 kB at least, often 4 or 8 once it has handled messages) and
// its descriptor (0.4 kB) for every connection, idle or not. A video
// chat's signalling connections are idle nearly all their life (the call
// itself goes peer to peer): with thousands open, those goroutines are a
// sixth of what each connection costs. A Poller watches idle connections
// in one epoll instance on one goroutine, and starts the reader again,
// on a goroutine of its own, once one has something to read.
//
// A Waiter also writes without waiting (WriteNow): what the connection
// takes at once, so that only a rest that would wait needs a goroutine.
//
// Only Linux has it (the servers run there); New reports
// ErrUnsupported elsewhere, and the caller keeps its reading goroutine.
package netwait

import "errors"

// ErrUnsupported: this platform has no Poller.
var ErrUnsupported = errors.New("netwait: not supported on this platform")

// ErrClosed: the Poller or the Waiter was closed.
var ErrClosed = errors.New("netwait: closed")
