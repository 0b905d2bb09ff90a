package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// RefOptions tell StartReference how to run the reference server,
// bench/noderef/server.js: the relay path on the official socket.io
// package, on Node.
type RefOptions struct {
	Node string // the node binary; "" is node on PATH
	Dir  string // bench/noderef, with its node_modules installed (npm ci)
	// Origin, when set, is the CORS origin (CLIENT_URL), as for ours.
	Origin string
}

// CheckReference reports why the reference cannot run: node missing, or
// its npm packages not installed.
func CheckReference(o RefOptions) error {
	if _, err := exec.LookPath(o.nodeBin()); err != nil {
		return fmt.Errorf("reference server: %w", err)
	}
	if _, err := os.Stat(filepath.Join(o.Dir, "node_modules", "socket.io", "package.json")); err != nil {
		return fmt.Errorf("reference server: socket.io not installed in %s (cd %[1]s && npm ci): %w", o.Dir, err)
	}
	return nil
}

func (o RefOptions) nodeBin() string {
	if o.Node == "" {
		return "node"
	}
	return o.Node
}

// StartReference runs the reference server on a free port and waits until
// GET /health answers 200. Node runs with --expose-gc, so that ForceGC
// collects before a memory reading as it does for ours. Its environment
// holds only what the script reads: the same heartbeat as ours (the Go
// server's defaults, which the bench leaves alone).
func StartReference(ctx context.Context, o RefOptions) (*Server, error) {
	if err := CheckReference(o); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("reference server: %w", err)
	}
	for range 5 {
		port, perr := FreePort()
		if perr != nil {
			return nil, perr
		}
		cmd := exec.Command(o.nodeBin(), "--expose-gc", filepath.Join(dir, "server.js"))
		cmd.Dir = dir
		cmd.Env = []string{"PORT=" + strconv.Itoa(port), "NODE_ENV=production", "PING_INTERVAL_MS=10000", "PING_TIMEOUT_MS=10000"}
		if o.Origin != "" {
			cmd.Env = append(cmd.Env, "CLIENT_URL="+o.Origin)
		}
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		var s *Server
		if s, err = launch(ctx, cmd, port, base, base+"/debug/gc"); !inUse(err) {
			return s, err
		}
	}
	return nil, errors.Join(errors.New("reference server: no free port"), err)
}
