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
	Pending int    `json:"pending"`
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
		claims = append(claims, claim{ID: c.ID, Profile: string(raw), Partner: c.Partner, Pending: c.Pending})
	}
	// Lists, never null: cjson decodes null to a value ipairs refuses.
	keep := append(make([]string, 0, len(b.Keep)), b.Keep...)
	claimsJSON, err := json.Marshal(claims)
	if err != nil {
		return queue.Repairs{}, fmt.Errorf("redisstore: reconcile %s: %w", b.Instance, err)
	}
	keepJSON, err := json.Marshal(keep)
	if err != nil {
		return queue.Repairs{}, fmt.Errorf("redisstore: reconcile %s: %w", b.Instance, err)
	}
	v, err := s.reconcile.Run(ctx, s.client, s.libKeys, s.argv(b.Instance, b.After, string(keepJSON), string(claimsJSON))...).Slice()
	if err != nil {
		return queue.Repairs{}, wrap(err, "reconcile "+b.Instance)
	}
	bad := func(what string) (queue.Repairs, error) {
		return queue.Repairs{}, fmt.Errorf("redisstore: reconcile %s: unexpected reply: %s", b.Instance, what)
	}
	if len(v) != 6 {
		return bad(fmt.Sprintf("%d values, want 6", len(v)))
	}
	var n [5]int
	for i := range n {
		x, ok := v[i].(int64)
		if !ok {
			return bad(fmt.Sprintf("figure %d is a %T", i, v[i]))
		}
		n[i] = int(x)
	}
	r := queue.Repairs{Restored: n[0], Requeued: n[1], Ended: n[2], Ghosts: n[3], Removed: n[4]}
	coming, _ := v[5].([]any)
	for i := 0; i+1 < len(coming); i += 2 {
		id, ok1 := coming[i].(string)
		k, ok2 := coming[i+1].(int64)
		if !ok1 || !ok2 {
			return bad("EventDone still to come")
		}
		if r.Coming == nil {
			r.Coming = make(map[string]int)
		}
		r.Coming[id] = int(k)
	}
	return r, nil
}
