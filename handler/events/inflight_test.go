package events

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestInFlightWaitsForWhatRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f inFlight
		f.wait(t.Context()) // nothing in flight: at once

		f.add()
		f.add()
		returned := make(chan struct{})
		go func() { f.wait(t.Context()); close(returned) }()
		f.done()
		synctest.Wait()
		select {
		case <-returned:
			t.Fatal("wait returned with one still in flight")
		default:
		}
		f.done()
		synctest.Wait()
		select {
		case <-returned:
		default:
			t.Fatal("wait did not return once nothing was in flight")
		}

		f.add()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		f.wait(ctx) // gives up with its context
		if ctx.Err() == nil {
			t.Fatal("wait returned before its context was done")
		}
		f.done()
	})
}

// An add from zero while wait is waiting is what a socket closed during
// shutdown does; the race detector flagged it with a sync.WaitGroup.
func TestInFlightAddDuringWait(t *testing.T) {
	var f inFlight
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(2)
		go func() { defer wg.Done(); f.add(); f.done() }()
		go func() { defer wg.Done(); f.wait(context.Background()) }()
	}
	wg.Wait()
}
