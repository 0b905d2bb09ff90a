package redisstore

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zivro/zivro/queue"
)

// Status codes returned by the scripts; see lib.lua.
const (
	statusOK        = 0
	statusBusy      = 1
	statusNotJoined = 2
	statusGone      = 4
	statusTooMany   = 5
	statusNotHeld   = 6
	statusGap       = 7
)

var (
	//go:embed lib.lua
	libLua string
	//go:embed batch.lua
	batchLua string
	//go:embed match.lua
	matchLua string
	//go:embed sweep.lua
	sweepLua string
	//go:embed beat.lua
	beatLua string
	//go:embed retire.lua
	retireLua string
	//go:embed report.lua
	reportLua string
	//go:embed census.lua
	censusLua string
	//go:embed hold.lua
	holdLua string
	//go:embed keep.lua
	keepLua string
	//go:embed resume.lua
	resumeLua string
	//go:embed lapse.lua
	lapseLua string
	//go:embed ban.lua
	banLua string
)

// Each script starts with a shebang line declaring its flags (Redis 7). A
// script without one is checked command by command: under maxmemory with
// noeviction, Redis refuses its first write that may add memory when the
// script has written nothing yet, and lets everything through once it has
// (a leave's first write is a DEL), so whether a state change runs, and how
// far Redis grows past its limit, depends on its order of commands. A
// script that declares its flags and does not allow OOM is refused whole,
// before it runs, whenever Redis is over its limit: a state change is then
// applied whole or not at all, and its caller gets ErrStoreFull.
const (
	// mayWrite declares a script that writes and is refused when Redis is
	// out of memory.
	mayWrite = "#!lua\n"
	// mayWriteWhenFull declares a script that may also run when Redis is
	// out of memory.
	mayWriteWhenFull = "#!lua flags=allow-oom\n"
)

// argv is the arguments every script takes (see lib.lua), then args.
func (s *Store) argv(args ...any) []any {
	return append([]any{
		rand.Text(),
		ms(s.opts.ProfileTTL),
		ms(s.opts.RematchWindow),
		queue.ScanWindow,
		streamMaxLen,
		ms(s.opts.InterestWait),
		ms(s.opts.BlockTTL),
		queue.MaxBlocks,
		ms(heldMargin),
	}, args...)
}

// run runs one script: EVALSHA, or EVAL when Redis does not know it yet
// (after a restart), and maps its status to the queue package's errors.
func (s *Store) run(ctx context.Context, sc *redis.Script, args ...any) error {
	status, err := sc.Run(ctx, s.client, s.libKeys, s.argv(args...)...).Int64()
	if err != nil {
		return err
	}
	return statusErr(status)
}

// runBatch runs the batch script on ARGV triples (see batch.lua).
func (s *Store) runBatch(ctx context.Context, triples []any) ([]int64, error) {
	return s.batch.Run(ctx, s.client, s.libKeys, s.argv(triples...)...).Int64Slice()
}

// change applies one join, next, leave or block through the batcher.
func (s *Store) change(ctx context.Context, op, id, arg string) error {
	status, err := s.changes.do(ctx, op, id, arg)
	if err != nil {
		return err
	}
	return statusErr(status)
}

func statusErr(status int64) error {
	switch {
	case status < 0:
		return &queue.CoolDownError{Remaining: time.Duration(-status) * time.Millisecond}
	case status == statusOK:
		return nil
	case status == statusBusy:
		return queue.ErrBusy
	case status == statusNotJoined:
		return queue.ErrNotJoined
	case status == statusGone:
		return queue.ErrInstanceGone
	case status == statusTooMany:
		return queue.ErrTooManyHeld
	case status == statusNotHeld:
		return queue.ErrNotHeld
	case status == statusGap:
		return queue.ErrResumeGap
	default:
		return fmt.Errorf("script returned unknown status %d", status)
	}
}

// ms is d in whole milliseconds, at least 1: PX refuses 0.
func ms(d time.Duration) int64 {
	return max(1, d.Milliseconds())
}

// wrap adds context to Redis errors and passes the queue package's
// sentinel errors through as they are. Redis's refusal of a script for
// lack of memory becomes queue.ErrStoreFull.
func wrap(err error, op string) error {
	if err == nil {
		return nil
	}
	for _, sentinel := range []error{queue.ErrBusy, queue.ErrNotJoined, queue.ErrCoolDown, queue.ErrInstanceGone,
		queue.ErrTooManyHeld, queue.ErrNotHeld, queue.ErrResumeGap} {
		if errors.Is(err, sentinel) {
			return err
		}
	}
	if redis.HasErrorPrefix(err, "OOM") {
		return fmt.Errorf("redisstore: %s: %w (%w)", op, queue.ErrStoreFull, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}
