package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RSS reads VmRSS of the server process from /proc, in bytes.
func (s *Server) RSS() (int64, error) {
	return readRSS(s.Pid())
}

func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read rss: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("read rss: no VmRSS line")
}

// CPU reads the user+system CPU time the server process has used so far,
// from /proc/<pid>/stat.
func (s *Server) CPU() (time.Duration, error) {
	return procCPU(s.Pid())
}

func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu: %w", err)
	}
	// The command name may hold spaces: fields count from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("read cpu: bad stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("read cpu: short stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("read cpu: %w", err)
	}
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// selfCPU is the bench process's own CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter measures CPU seconds of the bench and of the server over a window.
type cpuMeter struct {
	srv        *Server
	self0, sv0 time.Duration
}

func startCPU(srv *Server) *cpuMeter {
	m := &cpuMeter{srv: srv, self0: selfCPU()}
	if srv != nil {
		m.sv0, _ = srv.CPU()
	}
	return m
}

// record stores bench_cpu_s and server_cpu_s in extra.
func (m *cpuMeter) record(extra map[string]float64) {
	extra["bench_cpu_s"] = (selfCPU() - m.self0).Seconds()
	if m.srv != nil {
		if sv, err := m.srv.CPU(); err == nil {
			extra["server_cpu_s"] = (sv - m.sv0).Seconds()
		}
	}
}
