package socketio

import (
	"reflect"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/zishang520/engine.io/v2/types"
)

// listeners is an event emitter (types.EventEmitter) for an object that
// lives as long as its connection and has a listener or two: a slice
// under a lock. The library's emitter is a sync.Map-like map of listener
// slices (two copies of it once a key is added after a lookup), 0.3 kB
// for the wall decoder's one listener, the library client's "decoded",
// in every connection for its whole life. The zero value is ready.
type listeners struct {
	mu  sync.Mutex
	all []listener
}

type listener struct {
	event types.EventName
	fn    types.Listener
	// ptr is the function as it was given, which RemoveListener is
	// given again (Once wraps it), as the library's emitter compares.
	ptr uintptr
}

func funcPointer(fn types.Listener) uintptr { return reflect.ValueOf(fn).Pointer() }

func (l *listeners) add(e listener) {
	l.mu.Lock()
	l.all = append(l.all, e)
	l.mu.Unlock()
}

func (l *listeners) AddListener(evt types.EventName, fns ...types.Listener) error {
	for _, fn := range fns {
		if fn != nil {
			l.add(listener{event: evt, fn: fn, ptr: funcPointer(fn)})
		}
	}
	return nil
}

func (l *listeners) On(evt types.EventName, fns ...types.Listener) error {
	return l.AddListener(evt, fns...)
}

// Once adds listeners that are removed before their first call.
func (l *listeners) Once(evt types.EventName, fns ...types.Listener) error {
	for _, fn := range fns {
		if fn == nil {
			continue
		}
		var fired atomic.Bool
		once := func(args ...any) {
			if fired.CompareAndSwap(false, true) {
				l.RemoveListener(evt, fn)
				fn(args...)
			}
		}
		l.add(listener{event: evt, fn: once, ptr: funcPointer(fn)})
	}
	return nil
}

// Emit calls evt's listeners in the order they were added, outside the
// lock (a listener may add or remove listeners).
func (l *listeners) Emit(evt types.EventName, args ...any) {
	var buf [2]types.Listener
	fns := buf[:0]
	l.mu.Lock()
	for _, e := range l.all {
		if e.event == evt {
			fns = append(fns, e.fn)
		}
	}
	l.mu.Unlock()
	for _, fn := range fns {
		fn(args...)
	}
}

func (l *listeners) EventNames() []types.EventName {
	l.mu.Lock()
	defer l.mu.Unlock()
	var names []types.EventName
	for _, e := range l.all {
		if !slices.Contains(names, e.event) {
			names = append(names, e.event)
		}
	}
	return names
}

func (l *listeners) ListenerCount(evt types.EventName) int {
	return len(l.Listeners(evt))
}

func (l *listeners) Listeners(evt types.EventName) []types.Listener {
	l.mu.Lock()
	defer l.mu.Unlock()
	var fns []types.Listener
	for _, e := range l.all {
		if e.event == evt {
			fns = append(fns, e.fn)
		}
	}
	return fns
}

// RemoveListener removes the first of evt's listeners that is fn.
func (l *listeners) RemoveListener(evt types.EventName, fn types.Listener) bool {
	if fn == nil {
		return false
	}
	ptr := funcPointer(fn)
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, e := range l.all {
		if e.event == evt && e.ptr == ptr {
			l.all = slices.Delete(l.all, i, i+1)
			return true
		}
	}
	return false
}

func (l *listeners) RemoveAllListeners(evt types.EventName) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.all)
	l.all = slices.DeleteFunc(l.all, func(e listener) bool { return e.event == evt })
	return len(l.all) < n
}

func (l *listeners) Clear() {
	l.mu.Lock()
	l.all = nil
	l.mu.Unlock()
}

// Len is the number of events that have listeners.
func (l *listeners) Len() int { return len(l.EventNames()) }

// SetMaxListeners does nothing: the library's emitter no longer limits
// listeners either.
func (l *listeners) SetMaxListeners(uint) {}

// GetMaxListeners is 0, no limit, as the library's emitter says.
func (l *listeners) GetMaxListeners() uint { return 0 }

var _ types.EventEmitter = (*listeners)(nil)
