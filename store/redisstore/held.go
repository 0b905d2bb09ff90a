package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/zivro/zivro/queue"
)

// heldMargin is how long past its window a held session, and its user's
// profile, live in Redis when no instance lapses it (see keys.go): longer
// than the service's sweep interval (queue.DefaultSweepEvery), so that a
// sweep lapses it first whenever an instance is alive.
const heldMargin = time.Minute

// Hold implements queue.HeldSessions with one call of hold.lua.
func (s *Store) Hold(ctx context.Context, id string, h queue.HeldSession, window time.Duration) error {
	if err := checkKept(h); err != nil {
		return fmt.Errorf("redisstore: hold %s: %w", id, err)
	}
	first := h.Next
	if len(h.Kept) > 0 {
		first = h.Kept[0].Offset
	}
	args := []any{id, h.PIDHash, h.Announced, h.Addr, h.Instance,
		strconv.FormatUint(h.Next, 10), strconv.FormatUint(first, 10), ms(window),
		s.opts.MaxHeldPerAddr, s.opts.MaxKeptFrames, s.opts.MaxKeptBytes}
	for _, f := range h.Kept {
		args = append(args, f.Frame)
	}
	return wrap(s.run(ctx, s.hold, args...), "hold "+id)
}

// checkKept checks that h's kept frames have consecutive offsets up to
// h.Next: Keep and Resume number frames by their place.
func checkKept(h queue.HeldSession) error {
	for i, f := range h.Kept {
		if f.Offset != h.Next-uint64(len(h.Kept)-i) {
			return fmt.Errorf("kept frame %d has offset %d: want consecutive offsets ending at next %d - 1", i, f.Offset, h.Next)
		}
	}
	return nil
}

// Keep implements queue.HeldSessions with one call of keep.lua.
func (s *Store) Keep(ctx context.Context, id string, frame []byte) (bool, error) {
	kept, err := s.keepOrPublish(ctx, id, "", frame)
	return kept, wrap(err, "keep for "+id)
}

// KeepOrPublish is Keep when id is held, and else publishes frame to the
// sharded pub/sub channel, in one atomic step: a frame relayed to a user
// whose connection drops meanwhile is either kept for its resume or
// published before the hold (to the instance that held the connection),
// never lost between the two. The relay between instances sends through
// it (see redisrelay.Relay.KeepHeld).
//
// On a Redis Cluster the held session lies in the state's slot and the
// channel in the socket's own, usually on another primary, so one script
// cannot do both. Instead the frame is published first (SPUBLISH, on the
// channel's shard), and kept (keep.lua, on the state's shard) only when
// no instance was subscribed: the common relay costs the state's shard
// nothing, so the relays spread over the shards. The instance that holds
// a connection stays subscribed until the session is held and the frames
// that reached it meanwhile are kept (socketio.recovery.release), so a
// frame published while it was subscribed is written to the live
// connection or kept by it, and one published after it left is kept here,
// after those: kept once and in order either way, which is what a resume
// replays (e2e/contract/resume). What stays open is the instant between
// that instance's release of the held session and its unsubscribe, where a
// frame delivered to it has nowhere to go, as on a single Redis a frame
// published just before the hold that arrives then.
//
// It reports whether the frame was kept or reached an instance (on one
// Redis, where the script publishes, true): on a cluster, a frame that did
// neither may be to a socket whose subscription is moving, which the relay
// waits for (redisrelay, waiting.go).
func (s *Store) KeepOrPublish(ctx context.Context, id, channel string, frame []byte) (delivered bool, err error) {
	op := "keep or publish for " + id
	if !s.cluster {
		_, err := s.keepOrPublish(ctx, id, channel, frame)
		return err == nil, wrap(err, op)
	}
	receivers, err := s.client.SPublish(ctx, channel, frame).Result()
	if err != nil || receivers > 0 {
		return err == nil, wrap(err, op)
	}
	kept, err := s.keepOrPublish(ctx, id, "", frame)
	return kept, wrap(err, op)
}

func (s *Store) keepOrPublish(ctx context.Context, id, channel string, frame []byte) (bool, error) {
	kept, err := s.keep.Run(ctx, s.client, []string{s.keys.HeldPrefix + id, s.keys.KeptPrefix + id},
		frame, s.opts.MaxKeptFrames, s.opts.MaxKeptBytes, channel).Int64()
	return kept == 1, err
}

// Resume implements queue.HeldSessions with one call of resume.lua.
func (s *Store) Resume(ctx context.Context, id, pidHash string, after uint64, instance string) (queue.Resumed, error) {
	op := "resume " + id
	v, err := s.resume.Run(ctx, s.client, s.libKeys, s.argv(id, pidHash, strconv.FormatUint(after, 10), instance)...).Slice()
	if err != nil {
		return queue.Resumed{}, wrap(err, op)
	}
	r, err := parseResumed(v)
	if err != nil {
		return queue.Resumed{}, wrap(err, op)
	}
	return r, nil
}

// parseResumed reads resume.lua's reply.
func parseResumed(v []any) (queue.Resumed, error) {
	if len(v) == 0 {
		return queue.Resumed{}, errors.New("empty reply")
	}
	status, ok := v[0].(int64)
	if !ok {
		return queue.Resumed{}, fmt.Errorf("status %v", v[0])
	}
	if status != statusOK {
		return queue.Resumed{}, statusErr(status)
	}
	if len(v) < 6 {
		return queue.Resumed{}, fmt.Errorf("%d values, want at least 6", len(v))
	}
	str := make([]string, len(v)-1)
	for i, x := range v[1:] {
		if str[i], ok = x.(string); !ok {
			return queue.Resumed{}, fmt.Errorf("value %d: %T, want a string", i+1, x)
		}
	}
	next, err := strconv.ParseUint(str[0], 10, 64)
	if err != nil {
		return queue.Resumed{}, fmt.Errorf("next offset: %w", err)
	}
	r := queue.Resumed{Next: next, Partner: str[2], PartnerAddr: str[3], Left: queue.Reason(str[4])}
	if str[1] != "" {
		var p queue.Profile
		if err := json.Unmarshal([]byte(str[1]), &p); err != nil {
			return queue.Resumed{}, fmt.Errorf("profile: %w", err)
		}
		r.Profile = &p
	}
	frames := str[5:]
	if uint64(len(frames)) > next {
		return queue.Resumed{}, fmt.Errorf("%d frames before offset %d", len(frames), next)
	}
	for i, f := range frames {
		r.Frames = append(r.Frames, queue.KeptFrame{Offset: next - uint64(len(frames)-i), Frame: []byte(f)})
	}
	return r, nil
}

// Lapse implements queue.HeldSessions with one call of lapse.lua.
func (s *Store) Lapse(ctx context.Context, id string) (bool, error) {
	ended, err := s.lapse.Run(ctx, s.client, s.libKeys, s.argv(id)...).Int64()
	if err != nil {
		return false, wrap(err, "lapse "+id)
	}
	return ended == 1, nil
}
