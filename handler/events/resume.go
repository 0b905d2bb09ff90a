package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/zivro/zivro/handler/socketio"
	"github.com/zivro/zivro/queue"
)

// Sockets is the wall's socketio.Resumer: the held sessions live in the
// matchmaking service's store, with the user's queue place and call.
var _ socketio.Resumer = (*Sockets)(nil)

// Resume implements socketio.Resumer.
func (h *Sockets) Resume(ctx context.Context, id, pidHash string, after uint64) ([]socketio.KeptFrame, uint64, error) {
	r, err := h.svc.Resume(ctx, id, pidHash, after)
	if errors.Is(err, queue.ErrNotHeld) {
		return nil, 0, fmt.Errorf("%w: %w", socketio.ErrNotHeld, err)
	}
	if err != nil {
		return nil, 0, err
	}
	frames := make([]socketio.KeptFrame, len(r.Frames))
	for i, f := range r.Frames {
		frames[i] = socketio.KeptFrame{Offset: f.Offset, Frame: f.Frame}
	}
	h.cfg.Observer.Resume("resumed")
	h.log.Info("session resumed", "socket", id, "missed", len(frames))
	return frames, r.Next, nil
}

// Keep implements socketio.Resumer.
func (h *Sockets) Keep(ctx context.Context, id string, frame []byte) (bool, error) {
	return h.svc.Keep(ctx, id, frame)
}

// Abandoned implements socketio.Resumer: the session is held again, as
// after a drop (or ended, when held is nil), on a goroutine counted by
// Wait.
func (h *Sockets) Abandoned(id string, held *socketio.Held) {
	h.running.add()
	go func() {
		defer h.running.done()
		ctx, cancel := context.WithTimeout(h.base, h.cfg.OpTimeout)
		defer cancel()
		h.holdOrDisconnect(ctx, id, held)
	}()
}

// keptFrames converts the wall's kept frames to the store's.
func keptFrames(in []socketio.KeptFrame) []queue.KeptFrame {
	out := make([]queue.KeptFrame, len(in))
	for i, f := range in {
		out[i] = queue.KeptFrame{Offset: f.Offset, Frame: f.Frame}
	}
	return out
}
