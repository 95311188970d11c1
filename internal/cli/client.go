package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/qyshook/qyshook/adminapi"
)

// DefaultAdminURL is where the CLI finds the admin API without
// QYSHOOK_ADMIN_URL: the default QYSHOOK_ADMIN_ADDR of qyshook serve.
const DefaultAdminURL = "http://127.0.0.1:8082"

// newAdminClient returns the CLI's only way to the deployment: the
// operator commands (contracts, certifications, dlq, replay, reconcile)
// talk to the admin API of the running service through package
// adminapi's client and never open a ledger or a stream themselves. It
// reads QYSHOOK_ADMIN_URL and the token (adminToken).
func newAdminClient(env *Env) (*adminapi.Client, error) {
	raw := strings.TrimSpace(env.Getenv("QYSHOOK_ADMIN_URL"))
	if raw == "" {
		raw = DefaultAdminURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErr("QYSHOOK_ADMIN_URL %q: want http(s)://host:port of the admin API (default %s)", raw, DefaultAdminURL)
	}
	token, err := adminToken(env)
	if err != nil {
		return nil, err
	}
	return adminapi.NewClient(adminapi.ClientOptions{URL: raw, Token: token,
		HTTPClient: &http.Client{Timeout: 2 * time.Minute}})
}

// adminToken reads QYSHOOK_ADMIN_TOKEN, or else the token `qyshook
// serve` generated for its loopback admin API.
func adminToken(env *Env) (string, error) {
	token := strings.TrimSpace(env.Getenv("QYSHOOK_ADMIN_TOKEN"))
	if token == "" {
		if b, err := os.ReadFile(filepath.Join(dataDir(env.Getenv), DevAdminTokenFile)); err == nil {
			token = strings.TrimSpace(string(b))
		}
	}
	if token == "" {
		return "", usageErr("set QYSHOOK_ADMIN_TOKEN to the admin token of the running qyshook (operator token for writes, " +
			"the viewer token reads with personal data masked; a `qyshook serve` without one writes its own to " +
			"$QYSHOOK_DATA_DIR/" + DevAdminTokenFile + ")")
	}
	return token, nil
}

// apiErr maps a failure of the admin API client to an exit code: 400
// usage, 404 not found, 503 and an unreachable API unavailable.
func apiErr(c *adminapi.Client, err error) error {
	if err == nil {
		return nil
	}
	var ae *adminapi.Error
	if errors.As(err, &ae) {
		return apiExit(ae)
	}
	var te *adminapi.TransportError
	if !errors.As(err, &te) {
		return err
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(te.Err, &ue) && (errors.As(ue, &ne) || errors.Is(ue, context.DeadlineExceeded) ||
		strings.Contains(ue.Error(), "connection refused")) {
		return unavailable(fmt.Errorf("admin API at %s unreachable (is qyshook serve running with QYSHOOK_ADMIN_TOKEN set? "+
			"point QYSHOOK_ADMIN_URL at it): %v", c.URL(), errors.Unwrap(ue)))
	}
	return unavailable(fmt.Errorf("admin API: %w", te.Err))
}

// apiMessage shows an API error by its message alone.
type apiMessage struct{ e *adminapi.Error }

func (m apiMessage) Error() string { return m.e.Message }
func (m apiMessage) Unwrap() error { return m.e }

// apiExit maps an API error to an exit code.
func apiExit(e *adminapi.Error) error {
	switch e.Status {
	case http.StatusBadRequest:
		return &ExitError{Code: ExitUsage, Err: apiMessage{e}}
	case http.StatusNotFound:
		return &ExitError{Code: ExitNotFound, Err: apiMessage{e}}
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		return &ExitError{Code: ExitUnavailable, Err: apiMessage{e}}
	case http.StatusUnauthorized:
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("the admin API refused the token (QYSHOOK_ADMIN_TOKEN, or when unset "+
			"$QYSHOOK_DATA_DIR/"+DevAdminTokenFile+", which serve writes): %s", e.Message)}
	case http.StatusForbidden:
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s (set QYSHOOK_ADMIN_TOKEN to the operator token)", e.Message)}
	}
	return &ExitError{Code: ExitFailure, Err: apiMessage{e}}
}

// collect reads a listing through list (a method of the client) until
// limit items (0: all), and reports whether more were left.
func collect[T any](ctx context.Context, c *adminapi.Client, list func(context.Context, url.Values) (*adminapi.Page[T], error),
	query url.Values, limit int) ([]T, bool, error) {
	out, more, err := adminapi.Collect(ctx, list, query, limit)
	return out, more, apiErr(c, err)
}
