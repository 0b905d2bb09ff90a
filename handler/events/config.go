package events

import (
	"time"

	"github.com/zivro/zivro/handler/clientaddr"
)

// Config tunes the per-connection guards.
type Config struct {
	// OpTimeout bounds one store command (join, Next, leave, report, block)
	// and a disconnect's cleanup. Default DefaultOpTimeout.
	OpTimeout time.Duration
	// EventsPerSecond and EventBurst bound what one connection may send;
	// events beyond are dropped, unacknowledged (an error ack is a write
	// the client could make the server do as fast as it sends), and the
	// connection is closed once more than maxOverLimit of them have been
	// dropped (plus one a second). Defaults DefaultEventsPerSecond and
	// twice the rate.
	EventsPerSecond float64
	EventBurst      int
	// Addresses keys the client addresses that blocks and cool-downs use.
	Addresses clientaddr.AddressKeys
	// CommandsPerSecond and CommandBurst bound the state changes (join,
	// Next, leave, report, block) within those: each costs a store call,
	// and a person presses Next a few times a second at most. Defaults
	// DefaultCommandsPerSecond and twice the rate, at least
	// minCommandBurst.
	CommandsPerSecond float64
	CommandBurst      int
	// SignalDelay holds the signals and chat messages a user sends in a
	// new pairing until this long after its matched was sent (see
	// relayHold). 0: none.
	SignalDelay time.Duration
	// Observer counts relays, refusals and disconnects (metrics); nil:
	// nobody.
	Observer Observer
}

// Defaults of Config, which config's table also takes for the README.
const (
	// DefaultOpTimeout bounds one store operation; past it the user's
	// command is answered "temporarily unavailable".
	DefaultOpTimeout = 3 * time.Second
	// DefaultEventsPerSecond is the events of any kind one connection may
	// send per second (EVENTS_PER_SECOND).
	DefaultEventsPerSecond = 500
	// DefaultCommandsPerSecond is the state changes one connection may ask
	// for per second (COMMANDS_PER_SECOND).
	DefaultCommandsPerSecond = 5
)

// minCommandBurst lets a user's few quick presses through at any rate.
const minCommandBurst = 10

// Observer is told what the connections do (a *metrics.Metrics).
type Observer interface {
	SignalRelayed()
	ChatRelayed()
	// Refused: an event was refused for reason, one of the server's own
	// refusal messages (a bounded set).
	Refused(reason string)
	// Disconnected: a connection ended for reason (the library's).
	Disconnected(reason string)
	// Resume: a resumable session was "held" after a drop, "refused"
	// (not held), or "resumed".
	Resume(outcome string)
}

// noObserver is the Observer of handlers given none.
type noObserver struct{}

func (noObserver) SignalRelayed()      {}
func (noObserver) ChatRelayed()        {}
func (noObserver) Refused(string)      {}
func (noObserver) Disconnected(string) {}
func (noObserver) Resume(string)       {}

func (c Config) withDefaults() Config {
	if c.OpTimeout <= 0 {
		c.OpTimeout = DefaultOpTimeout
	}
	if c.EventsPerSecond <= 0 {
		c.EventsPerSecond = DefaultEventsPerSecond
	}
	if c.EventBurst <= 0 {
		c.EventBurst = int(2 * c.EventsPerSecond)
	}
	if c.CommandsPerSecond <= 0 {
		c.CommandsPerSecond = DefaultCommandsPerSecond
	}
	if c.CommandBurst <= 0 {
		c.CommandBurst = max(minCommandBurst, int(2*c.CommandsPerSecond))
	}
	if c.Observer == nil {
		c.Observer = noObserver{}
	}
	return c
}
