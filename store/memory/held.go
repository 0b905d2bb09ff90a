package memory

import (
	"context"
	"errors"
	"time"

	"github.com/zivro/zivro/queue"
)

// Placeholder until the held sessions are implemented.
var errHeldTODO = errors.New("held sessions: not implemented yet")

// Hold implements queue.HeldSessions.
func (s *Store) Hold(ctx context.Context, id string, h queue.HeldSession, window time.Duration) error {
	return errHeldTODO
}

// Keep implements queue.HeldSessions.
func (s *Store) Keep(ctx context.Context, id string, frame []byte) (bool, error) {
	return false, nil
}

// Resume implements queue.HeldSessions.
func (s *Store) Resume(ctx context.Context, id, pidHash string, after uint64, instance string) (queue.Resumed, error) {
	return queue.Resumed{}, queue.ErrNotHeld
}

// Lapse implements queue.HeldSessions.
func (s *Store) Lapse(ctx context.Context, id string) (bool, error) {
	return false, nil
}
