//go:build unix

package redisproc

import "syscall"

// freeze stops the running process where it is (SIGSTOP: it neither reads
// nor reconnects); thaw lets it go on (SIGCONT).
func (s *Server) freeze() error { return s.signal(syscall.SIGSTOP) }

func (s *Server) thaw() error { return s.signal(syscall.SIGCONT) }
