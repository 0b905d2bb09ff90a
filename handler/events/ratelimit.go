package events

import "golang.org/x/time/rate"

// reasonOverLimit is the refusal of an event over the connection's rate
// limit (dropped, no ack).
const reasonOverLimit = "too many events"

// maxOverLimit is how many events over its rate limit a connection may send
// before it is closed; one a second more is forgiven. A person never
// reaches the limit at all.
const maxOverLimit = 100

// rateLimits are one connection's budgets. Each rate.Limiter has its own
// lock; they are only ever used from the connection's event path.
type rateLimits struct {
	// events bounds every event the connection sends.
	events *rate.Limiter
	// overLimit counts the events dropped by events, see maxOverLimit.
	overLimit *rate.Limiter
	// commands bounds its state changes, within the events' budget.
	commands *rate.Limiter
}

func newRateLimits(cfg Config) rateLimits {
	return rateLimits{
		events:    rate.NewLimiter(rate.Limit(cfg.EventsPerSecond), cfg.EventBurst),
		overLimit: rate.NewLimiter(1, maxOverLimit),
		commands:  rate.NewLimiter(rate.Limit(cfg.CommandsPerSecond), cfg.CommandBurst),
	}
}

// allowEvent takes one event from the budget, if any is left.
func (l rateLimits) allowEvent() bool { return l.events.Allow() }

// forgive takes one event over the limit from its allowance, and reports
// false once the connection has sent too many of them: it is then closed.
func (l rateLimits) forgive() bool { return l.overLimit.Allow() }

// allowCommand takes one state change from the budget, if any is left.
func (l rateLimits) allowCommand() bool { return l.commands.Allow() }
