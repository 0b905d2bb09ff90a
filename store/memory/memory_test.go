package memory_test

import (
	"testing"

	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/memory"
	"github.com/zivro/zivro/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts queue.StoreOptions) queue.Store {
		return memory.New(opts)
	})
}
