//go:build !unix

package redisproc

import "fmt"

// freeze and thaw need the stop and continue signals of Unix: elsewhere a
// test that detaches a replica fails, saying so.
func (s *Server) freeze() error {
	return fmt.Errorf("redis-server on port %d: stopping a process needs SIGSTOP (Unix)", s.port)
}

func (s *Server) thaw() error { return nil }
