package events

import (
	"context"
	"testing"
	"time"
)

// The queue runs its commands one at a time in order, refuses one beyond
// maxPendingCommands waiting, and after close runs only what was queued
// before close, then the last command; what is pushed later is dropped.
func TestCommands(t *testing.T) {
	var running inFlight
	q := newCommands(&running)
	if !q.idle() {
		t.Fatal("a new queue is not idle")
	}
	gate, started := make(chan struct{}), make(chan struct{})
	ran := make(chan int, 100)
	if !q.push(func() { close(started); <-gate; ran <- 0 }) {
		t.Fatal("the first command refused")
	}
	<-started
	if q.idle() {
		t.Fatal("idle while a command runs")
	}
	// The first runs (and waits on gate): maxPendingCommands more may wait.
	for i := 1; i <= maxPendingCommands; i++ {
		if !q.push(func() { ran <- i }) {
			t.Fatalf("command %d of %d waiting refused", i, maxPendingCommands)
		}
	}
	if q.push(func() { ran <- -1 }) {
		t.Fatalf("a command beyond %d waiting was queued", maxPendingCommands)
	}
	q.close(func() { ran <- 1000 })
	if !q.push(func() { ran <- -2 }) {
		t.Fatal("a push after close reported a refusal: it is dropped, not refused")
	}
	if q.idle() {
		t.Fatal("a closed queue reports idle")
	}
	close(gate)
	for want := 0; want <= maxPendingCommands; want++ {
		if got := <-ran; got != want {
			t.Fatalf("ran %d, want %d", got, want)
		}
	}
	if got := <-ran; got != 1000 {
		t.Fatalf("ran %d after the queued ones, want the last command", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	running.wait(ctx)
	if ctx.Err() != nil {
		t.Fatal("the queue still counted as running after its last command")
	}
	select {
	case got := <-ran:
		t.Fatalf("ran %d after the last command", got)
	case <-time.After(10 * time.Millisecond):
	}
}
