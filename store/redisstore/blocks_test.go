package redisstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/zivro/zivro/queue"
	"github.com/zivro/zivro/store/redisstore"
)

// One address blocking more users than MaxBlocks keeps MaxBlocks blocks,
// under a TTL: what a blocker can make Redis hold is bounded.
func TestBlocksPerAddressBounded(t *testing.T) {
	_, client := newClient(t)
	s := redisstore.New(client, queue.StoreOptions{BlockTTL: time.Hour})
	by := queue.Peer{ID: "blocker", Addr: "addr-blocker"}
	if err := s.Join(t.Context(), by.ID, queue.Profile{Name: "b", Addr: by.Addr}); err != nil {
		t.Fatal(err)
	}
	for i := range queue.MaxBlocks + 20 {
		target := queue.Peer{ID: fmt.Sprintf("t%d", i), Addr: fmt.Sprintf("addr-t%d", i)}
		if err := s.Block(t.Context(), by, target); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
	}
	key := redisstore.SingleKeys().BlockPrefix + by.Addr
	if n := client.SCard(t.Context(), key).Val(); n != queue.MaxBlocks {
		t.Fatalf("%s holds %d blocks, want %d", key, n, queue.MaxBlocks)
	}
	if ttl := client.PTTL(t.Context(), key).Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("%s TTL %v, want within the block TTL", key, ttl)
	}
	// The newest block is always kept.
	last := fmt.Sprintf("addr-t%d", queue.MaxBlocks+19)
	if !client.SIsMember(t.Context(), key, last).Val() {
		t.Fatalf("the newest block %s was pushed out", last)
	}
}
