//go:build race

package socketio

// raceEnabled: the race detector makes every stack larger, and the
// tests that bound stack sizes skip that bound.
const raceEnabled = true
