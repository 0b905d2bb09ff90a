package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/zivro/zivro/config"
)

// healthcheck is `zivro healthcheck`: the container's HEALTHCHECK, which
// has no curl in a distroless image. It asks this container's server for
// /livez on the port of the server's configuration (the environment and
// .env, as the server reads them), the check the platforms use, and fails
// unless it answers 200 within the timeout.
func healthcheck(ctx context.Context, getenv func(string) string) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	port := cfg.Port
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort("127.0.0.1", port) + "/livez"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", url, res.StatusCode)
	}
	return nil
}
