package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/qyshook/qyshook/internal/config"
)

func runHealthcheck(ctx context.Context, env *Env, args []string) error {
	def := healthURL(env.Getenv)
	fs := newFlags(env, "healthcheck", "[-url "+def+"]")
	url := fs.String("url", def, "URL to probe (default: /healthz on $QYSHOOK_HTTP_ADDR, or :8080)")
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

// healthURL is /healthz on the address serve listens on
// (QYSHOOK_HTTP_ADDR, default :8080): an address on every interface is
// probed on loopback.
func healthURL(getenv func(string) string) string {
	addr := getenv(config.Prefix + "HTTP_ADDR")
	if addr == "" {
		addr = config.DefaultReceiverAddr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/healthz"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz"
}
