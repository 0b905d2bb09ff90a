package redisrelay

// The bounds of waiting.go, for the tests that reach them.
const (
	MaxWaitingFrames = maxWaitingFrames
	WaitFor          = waitFor
)
