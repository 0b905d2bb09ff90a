//go:build !race

package socketio

// raceEnabled: see race_test.go.
const raceEnabled = false
