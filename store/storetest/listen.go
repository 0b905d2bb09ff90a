package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
)

func testListenOrder(t *testing.T, h *harness) {
	h.join("a", "b", "c")
	h.next("a") // queue c, a, b
	h.join("d")
	h.leave("c", queue.ReasonDisconnect)
	h.next("b") // queue a, b, d; a remembers c now, b remembers d
	h.leave("d", queue.ReasonLeave)
	h.expect("scenario", seq(
		matchedPair("a", "b"),
		done("a"), left("b", queue.ReasonNext), matchedPair("c", "a"),
		matchedPair("b", "d"),
		done("c"), left("a", queue.ReasonDisconnect),
		done("b"), left("d", queue.ReasonNext), matchedPair("a", "b"),
		done("d"),
	)...)
}

func testListenStops(t *testing.T, newStore NewStore) {
	s := newStore(t, queue.StoreOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- s.Listen(ctx, func() {}, func(queue.Event) {}) }()
	if err := s.Join(t.Context(), "a", profileOf("a")); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-stopped:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Listen = %v, want context.Canceled", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Listen still running %v after cancel", waitTimeout)
	}
}
