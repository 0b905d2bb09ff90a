package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

// Writes from many goroutines while another reads all arrive whole (run
// with -race: the reads and writes are ordered by the buffer).
func TestConcurrentWritesAndReads(t *testing.T) {
	const writers, lines = 8, 200
	var b Buffer
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range lines {
				_, _ = b.Write([]byte("line\n"))
			}
		})
	}
	wg.Go(func() {
		for range lines {
			_ = b.String()
		}
	})
	wg.Wait()
	if got := strings.Count(b.String(), "line\n"); got != writers*lines {
		t.Fatalf("%d lines, want %d", got, writers*lines)
	}
}
