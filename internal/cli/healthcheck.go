package cli

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

func runHealthcheck(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "healthcheck", "[-url http://127.0.0.1:8080/healthz]")
	url := fs.String("url", "http://127.0.0.1:8080/healthz", "URL to probe")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return usageErr("url: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return unavailable(fmt.Errorf("%s: %w", *url, err))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return unavailable(fmt.Errorf("%s answered %s", *url, resp.Status))
	}
	fmt.Fprintln(env.Stdout, "ok")
	return nil
}
