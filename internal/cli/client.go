package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultAdminURL is where the CLI finds the admin API without
// QYSHOOK_ADMIN_URL: the default QYSHOOK_ADMIN_ADDR of qyshook serve.
const DefaultAdminURL = "http://127.0.0.1:8082"

// adminClient is the CLI's only way to the deployment: the operator
// commands (contracts, dlq, replay, reconcile) talk to the admin API of
// the running service and never open a ledger or a stream themselves.
type adminClient struct {
	base  string // e.g. http://127.0.0.1:8082/api/v1
	token string
	hc    *http.Client
}

// newAdminClient reads QYSHOOK_ADMIN_URL and QYSHOOK_ADMIN_TOKEN.
func newAdminClient(env *Env) (*adminClient, error) {
	raw := strings.TrimSpace(env.Getenv("QYSHOOK_ADMIN_URL"))
	if raw == "" {
		raw = DefaultAdminURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErr("QYSHOOK_ADMIN_URL %q: want http(s)://host:port of the admin API (default %s)", raw, DefaultAdminURL)
	}
	token := strings.TrimSpace(env.Getenv("QYSHOOK_ADMIN_TOKEN"))
	if token == "" {
		// The token `qyshook serve` generated for its loopback admin API.
		if b, err := os.ReadFile(filepath.Join(dataDir(env.Getenv), DevAdminTokenFile)); err == nil {
			token = strings.TrimSpace(string(b))
		}
	}
	if token == "" {
		return nil, usageErr("set QYSHOOK_ADMIN_TOKEN to the admin token of the running qyshook (operator token for writes, " +
			"the viewer token reads with personal data masked; a `qyshook serve` without one writes its own to " +
			"$QYSHOOK_DATA_DIR/" + DevAdminTokenFile + ")")
	}
	base := strings.TrimSuffix(u.String(), "/")
	if !strings.HasSuffix(base, "/api/v1") {
		base += "/api/v1"
	}
	return &adminClient{base: base, token: token, hc: &http.Client{Timeout: 2 * time.Minute}}, nil
}

// apiError is the admin API's error shape.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Message }

// do calls method path (below /api/v1) with query and body (JSON; nil for
// none) and decodes a 2xx answer into out. Failures map to exit codes:
// 400 usage, 404 not found, 503 and an unreachable API unavailable.
func (c *adminClient) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "connection refused") {
			return unavailable(fmt.Errorf("admin API at %s unreachable (is qyshook serve running with QYSHOOK_ADMIN_TOKEN set? "+
				"point QYSHOOK_ADMIN_URL at it): %v", strings.TrimSuffix(c.base, "/api/v1"), errors.Unwrap(err)))
		}
		return unavailable(fmt.Errorf("admin API: %w", err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return unavailable(fmt.Errorf("admin API: read answer: %w", err))
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error *apiError `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error == nil {
			return fmt.Errorf("admin API: %s %s: HTTP %d", method, path, resp.StatusCode)
		}
		e.Error.Status = resp.StatusCode
		return apiExit(e.Error)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("admin API: %s %s: unexpected answer: %v", method, path, err)
	}
	return nil
}

// apiExit maps an API error to an exit code.
func apiExit(e *apiError) error {
	switch e.Status {
	case http.StatusBadRequest:
		return &ExitError{Code: ExitUsage, Err: e}
	case http.StatusNotFound:
		return &ExitError{Code: ExitNotFound, Err: e}
	case http.StatusServiceUnavailable:
		return &ExitError{Code: ExitUnavailable, Err: e}
	case http.StatusUnauthorized:
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("the admin API refused QYSHOOK_ADMIN_TOKEN: %s", e.Message)}
	case http.StatusForbidden:
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s (set QYSHOOK_ADMIN_TOKEN to the operator token)", e.Message)}
	}
	return &ExitError{Code: ExitFailure, Err: e}
}

// page is one page of an API listing.
type apiPage[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// list reads pages of path until limit items (0: all) and reports
// whether more were left.
func list[T any](ctx context.Context, c *adminClient, path string, query url.Values, limit int) ([]T, bool, error) {
	if query == nil {
		query = url.Values{}
	}
	var out []T
	for {
		per := 500
		if limit > 0 {
			per = min(per, limit-len(out)+1)
		}
		query.Set("limit", fmt.Sprint(max(1, per)))
		var p apiPage[T]
		if err := c.do(ctx, http.MethodGet, path, query, nil, &p); err != nil {
			return nil, false, err
		}
		out = append(out, p.Items...)
		if limit > 0 && len(out) > limit {
			return out[:limit], true, nil
		}
		if p.NextCursor == "" {
			return out, false, nil
		}
		if limit > 0 && len(out) == limit {
			return out, true, nil
		}
		query.Set("cursor", p.NextCursor)
	}
}
