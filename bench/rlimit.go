package bench

import (
	"fmt"
	"syscall"
)

// RaiseFileLimit lifts the soft RLIMIT_NOFILE to the hard limit, so that
// thousands of connections fit; child processes (the server) inherit it.
func RaiseFileLimit() error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if rl.Cur >= rl.Max {
		return nil
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("setrlimit: %w", err)
	}
	return nil
}
