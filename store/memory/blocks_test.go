package memory

import (
	"fmt"
	"testing"

	"github.com/zivro/zivro/queue"
)

// One address blocking more users than MaxBlocks keeps MaxBlocks blocks.
func TestBlocksPerAddressBounded(t *testing.T) {
	s := New(queue.StoreOptions{})
	by := queue.Peer{ID: "blocker", Addr: "addr-blocker"}
	if err := s.Join(t.Context(), by.ID, queue.Profile{Name: "b", Addr: by.Addr}); err != nil {
		t.Fatal(err)
	}
	for i := range queue.MaxBlocks + 20 {
		if err := s.Block(t.Context(), by, queue.Peer{ID: fmt.Sprintf("t%d", i), Addr: fmt.Sprintf("addr-t%d", i)}); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
	}
	b := s.blocks[by.Addr]
	if n := len(b.members); n != queue.MaxBlocks {
		t.Fatalf("%d blocks kept, want %d", n, queue.MaxBlocks)
	}
	if _, ok := b.members[fmt.Sprintf("addr-t%d", queue.MaxBlocks+19)]; !ok {
		t.Fatal("the newest block was pushed out")
	}
}
