package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zivro/zivro/internal/eventually"
)

// fakeRedis applies batches in a map, like batch.lua applies them in Redis:
// one change after the other, one status each.
type fakeRedis struct {
	mu       sync.Mutex
	applied  []string // "op id" in the order applied
	inFlight atomic.Int32
	maxSeen  atomic.Int32
	sizes    []int
	release  chan struct{} // when set, each batch waits for it
	fail     error
}

func (f *fakeRedis) run(ctx context.Context, triples []any) ([]int64, error) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	time.Sleep(100 * time.Microsecond) // a round trip: changes pile up meanwhile
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sizes = append(f.sizes, len(triples)/3)
	if f.fail != nil {
		return nil, f.fail
	}
	statuses := make([]int64, 0, len(triples)/3)
	for i := 0; i < len(triples); i += 3 {
		f.applied = append(f.applied, fmt.Sprint(triples[i], " ", triples[i+1]))
		statuses = append(statuses, int64(len(triples[i+1].(string)))) // a status the caller can check
	}
	return statuses, nil
}

func TestBatcherAppliesEveryChangeOnceAndAnswersEachCaller(t *testing.T) {
	f := &fakeRedis{}
	b := &batcher{run: f.run}
	const callers = 1000
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Go(func() {
			id := fmt.Sprint("user-", i)
			// Each caller sends two changes in order, as a connection does.
			for _, op := range []string{"j", "l"} {
				status, err := b.do(context.Background(), op, id, "")
				if err != nil || status != int64(len(id)) {
					errs <- fmt.Errorf("%s %s: status %d, err %v", op, id, status, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(f.applied) != 2*callers {
		t.Fatalf("%d changes applied, want %d", len(f.applied), 2*callers)
	}
	for i := range callers {
		id := fmt.Sprint("user-", i)
		j, l := slices.Index(f.applied, "j "+id), slices.Index(f.applied, "l "+id)
		if j < 0 || l < 0 || j > l {
			t.Fatalf("%s: join at %d, leave at %d", id, j, l)
		}
	}
	if m := f.maxSeen.Load(); m > maxInFlight {
		t.Fatalf("%d batches under way at once, at most %d allowed", m, maxInFlight)
	}
	if len(f.sizes) >= 2*callers {
		t.Fatalf("%d calls for %d changes: nothing was batched", len(f.sizes), 2*callers)
	}
	if slices.Max(f.sizes) > maxBatch {
		t.Fatalf("a batch of %d changes, at most %d allowed", slices.Max(f.sizes), maxBatch)
	}
}

func TestBatcherWithdrawsAChangeWhoseCallerGaveUpBeforeItWasSent(t *testing.T) {
	f := &fakeRedis{release: make(chan struct{})}
	b := &batcher{run: f.run}
	// Fill every batch slot with a change that waits for release, one after
	// the other so that each goes in a batch of its own.
	var wg sync.WaitGroup
	for i := range maxInFlight {
		wg.Go(func() { _, _ = b.do(context.Background(), "j", fmt.Sprint("busy-", i), "") })
		eventually.True(t, 5*time.Second, func() (bool, string) {
			return f.inFlight.Load() >= int32(i+1), fmt.Sprintf("batch %d never started", i+1)
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.do(ctx, "j", "late", ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the caller's deadline", err)
	}
	close(f.release)
	wg.Wait()
	// Another change goes through: the withdrawn one must not come with it.
	if _, err := b.do(context.Background(), "j", "after", ""); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if slices.Contains(f.applied, "j late") {
		t.Fatalf("a withdrawn change was applied: %v", f.applied)
	}
}

func TestBatcherReportsAFailedCallToEveryChangeInIt(t *testing.T) {
	boom := errors.New("boom")
	f := &fakeRedis{fail: boom}
	b := &batcher{run: f.run}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if _, err := b.do(context.Background(), "n", fmt.Sprint(i), ""); !errors.Is(err, boom) {
				t.Errorf("change %d: err %v, want boom", i, err)
			}
		})
	}
	wg.Wait()
}
