package redisstore

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/zivro/zivro/queue"
)

//go:embed reconcile.lua
var reconcileLua string

// claim is a queue.Claim as reconcile.lua reads it.
type claim struct {
	ID      string `json:"id"`
	Profile string `json:"profile"`
	Partner string `json:"partner"`
}

// Reconcile implements queue.Reconciler with one call of reconcile.lua.
func (s *Store) Reconcile(ctx context.Context, b queue.Beliefs) (queue.Repairs, error) {
	claims := make([]claim, 0, len(b.Claims))
	for _, c := range b.Claims {
		p := c.Profile
		p.Instance = b.Instance
		raw, err := json.Marshal(p)
		if err != nil {
			return queue.Repairs{}, fmt.Errorf("redisstore: reconcile %s: %w", b.Instance, err)
		}
		claims = append(claims, claim{ID: c.ID, Profile: string(raw), Partner: c.Partner})
	}
	// Lists, never null: cjson decodes null to a value ipairs refuses.
	connected := append(make([]string, 0, len(b.Connected)), b.Connected...)
	claimsJSON, err := json.Marshal(claims)
	if err != nil {
		return queue.Repairs{}, fmt.Errorf("redisstore: reconcile %s: %w", b.Instance, err)
	}
	connectedJSON, err := json.Marshal(connected)
	if err != nil {
		return queue.Repairs{}, fmt.Errorf("redisstore: reconcile %s: %w", b.Instance, err)
	}
	v, err := s.reconcile.Run(ctx, s.client, keys, s.argv(b.Instance, b.After, string(connectedJSON), string(claimsJSON))...).Int64Slice()
	if err != nil {
		return queue.Repairs{}, wrap(err, "reconcile "+b.Instance)
	}
	if len(v) != 5 {
		return queue.Repairs{}, fmt.Errorf("redisstore: reconcile %s: %d figures, want 5", b.Instance, len(v))
	}
	return queue.Repairs{Restored: int(v[0]), Requeued: int(v[1]), Ended: int(v[2]), Ghosts: int(v[3]), Removed: int(v[4])}, nil
}
