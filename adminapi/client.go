package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// URL is the admin API's address, http(s)://host:port, with or
	// without the /api/v1 prefix.
	URL string
	// Token is the bearer token: an operator token for the writes and
	// unmasked personal data, a viewer token reads masked.
	Token string
	// HTTPClient makes the requests (default: a client with a two-minute
	// timeout).
	HTTPClient *http.Client
}

// Client calls the admin API. Its methods return an *Error for an answer
// in the error shape, a *TransportError when no answer came, and a plain
// error for any other failure (an answer that is not the route's shape).
// A Client is safe for concurrent use.
type Client struct {
	base  string // e.g. http://127.0.0.1:8082/api/v1
	token string
	hc    *http.Client
}

// NewClient returns a client of the admin API at o.URL.
func NewClient(o ClientOptions) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(o.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("adminapi: URL %q: want http(s)://host:port of the admin API", o.URL)
	}
	if strings.TrimSpace(o.Token) == "" {
		return nil, errors.New("adminapi: a token is required")
	}
	base := strings.TrimSuffix(u.String(), "/")
	if !strings.HasSuffix(base, Prefix) {
		base += Prefix
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	return &Client{base: base, token: strings.TrimSpace(o.Token), hc: hc}, nil
}

// URL is the API's address without the /api/v1 prefix.
func (c *Client) URL() string { return strings.TrimSuffix(c.base, Prefix) }

// TransportError is a request that got no complete answer: the API was
// unreachable, timed out, or the answer was cut.
type TransportError struct {
	Method, Path string
	Err          error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("adminapi: %s %s: %v", e.Method, e.Path, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// maxAnswer bounds an answer read into memory.
const maxAnswer = 64 << 20

// Do calls method path (below /api/v1) with query and body (encoded as
// JSON; nil for none) and decodes a 2xx answer into out (nil: ignore it).
// The typed methods call it; it is exported for routes they lack.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, out any) error {
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
		return &TransportError{Method: method, Path: path, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return &TransportError{Method: method, Path: path, Err: fmt.Errorf("read answer: %w", err)}
	}
	if resp.StatusCode/100 != 2 {
		var e ErrorBody
		if json.Unmarshal(raw, &e) != nil || e.Error == nil {
			return fmt.Errorf("admin API: %s %s: HTTP %d", method, path, resp.StatusCode)
		}
		e.Error.Status = resp.StatusCode
		return e.Error
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("admin API: %s %s: unexpected answer: %v", method, path, err)
	}
	return nil
}

func get[T any](ctx context.Context, c *Client, path string, query url.Values) (*T, error) {
	v := new(T)
	if err := c.Do(ctx, http.MethodGet, path, query, nil, v); err != nil {
		return nil, err
	}
	return v, nil
}

func post[T any](ctx context.Context, c *Client, path string, body any) (*T, error) {
	v := new(T)
	if err := c.Do(ctx, http.MethodPost, path, nil, body, v); err != nil {
		return nil, err
	}
	return v, nil
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// Contracts reads one page of GET /contracts; query holds the filters
// (tenant, status, subject, id, biz_id, updated_since, updated_before),
// limit and cursor.
func (c *Client) Contracts(ctx context.Context, query url.Values) (*Page[Contract], error) {
	return get[Page[Contract]](ctx, c, "/contracts", query)
}

// Contract reads GET /contracts/{tenant}/{id}.
func (c *Client) Contract(ctx context.Context, tenant, id string) (*ContractDetail, error) {
	return get[ContractDetail](ctx, c, "/contracts/"+seg(tenant)+"/"+seg(id), nil)
}

// Facts reads GET /contracts/{tenant}/{id}/facts (one page).
func (c *Client) Facts(ctx context.Context, tenant, id string) (*Page[Fact], error) {
	return get[Page[Fact]](ctx, c, "/contracts/"+seg(tenant)+"/"+seg(id)+"/facts", nil)
}

// Certifications reads one page of GET /certifications; query holds
// tenant (required), kind, status, state, confirmed, pending, limit and
// cursor.
func (c *Client) Certifications(ctx context.Context, query url.Values) (*Page[Certification], error) {
	return get[Page[Certification]](ctx, c, "/certifications", query)
}

// Certification reads GET /certifications/{tenant}/{request_id}.
func (c *Client) Certification(ctx context.Context, tenant, requestID string) (*Certification, error) {
	return get[Certification](ctx, c, "/certifications/"+seg(tenant)+"/"+seg(requestID), nil)
}

// Events reads one page of GET /events; query holds tenant and
// contract_id (both required), limit and cursor.
func (c *Client) Events(ctx context.Context, query url.Values) (*Page[Event], error) {
	return get[Page[Event]](ctx, c, "/events", query)
}

// Documents reads one page of GET /documents (the archive queue); query
// holds state, tenant, contract_id, limit and cursor.
func (c *Client) Documents(ctx context.Context, query url.Values) (*Page[QueuedDocument], error) {
	return get[Page[QueuedDocument]](ctx, c, "/documents", query)
}

// DeadLetters reads one page of GET /dead-letters; query holds tenant,
// consumer, limit and cursor.
func (c *Client) DeadLetters(ctx context.Context, query url.Values) (*Page[DeadLetter], error) {
	return get[Page[DeadLetter]](ctx, c, "/dead-letters", query)
}

// DeadLetter reads GET /dead-letters/{id}, with its payload.
func (c *Client) DeadLetter(ctx context.Context, id int64) (*DeadLetter, error) {
	return get[DeadLetter](ctx, c, "/dead-letters/"+strconv.FormatInt(id, 10), nil)
}

// RetryDeadLetter calls POST /dead-letters/{id}/retry.
func (c *Client) RetryDeadLetter(ctx context.Context, id int64) (*RetryResult, error) {
	return post[RetryResult](ctx, c, "/dead-letters/"+strconv.FormatInt(id, 10)+"/retry", nil)
}

// RetryDeadLetters calls POST /dead-letters/retry.
func (c *Client) RetryDeadLetters(ctx context.Context, req RetryRequest) (*RetryResult, error) {
	return post[RetryResult](ctx, c, "/dead-letters/retry", req)
}

// PurgeDeadLetter calls POST /dead-letters/{id}/purge with reason.
func (c *Client) PurgeDeadLetter(ctx context.Context, id int64, reason string) (*PurgeResult, error) {
	return post[PurgeResult](ctx, c, "/dead-letters/"+strconv.FormatInt(id, 10)+"/purge", PurgeRequest{Reason: reason})
}

// ReplayDryRun calls POST /replays with dry_run: what sel would
// republish, and the token that confirms it.
func (c *Client) ReplayDryRun(ctx context.Context, sel ReplaySelector) (*DryRun, error) {
	return post[DryRun](ctx, c, "/replays", ReplayRequest{Selector: &sel, DryRun: true})
}

// StartReplay calls POST /replays with the confirm token of a dry run of
// the same selector; the job runs in the service (follow it with
// ReplayJob).
func (c *Client) StartReplay(ctx context.Context, sel ReplaySelector, confirm string) (*Job, error) {
	return post[Job](ctx, c, "/replays", ReplayRequest{Selector: &sel, Confirm: confirm})
}

// Replays reads GET /replays, the replay jobs of the service's process.
func (c *Client) Replays(ctx context.Context) (*Page[Job], error) {
	return get[Page[Job]](ctx, c, "/replays", nil)
}

// ReplayJob reads GET /replays/{id}.
func (c *Client) ReplayJob(ctx context.Context, id string) (*Job, error) {
	return get[Job](ctx, c, "/replays/"+seg(id), nil)
}

// Reconcile calls POST /reconcile: one pass as a background job (follow
// it in ReconcileRuns).
func (c *Client) Reconcile(ctx context.Context, req ReconcileRequest) (*Job, error) {
	return post[Job](ctx, c, "/reconcile", req)
}

// ReconcileRuns reads one page of GET /reconcile-runs (limit, cursor).
func (c *Client) ReconcileRuns(ctx context.Context, query url.Values) (*Page[ReconcileRun], error) {
	return get[Page[ReconcileRun]](ctx, c, "/reconcile-runs", query)
}

// Overview reads GET /overview.
func (c *Client) Overview(ctx context.Context) (*Overview, error) {
	return get[Overview](ctx, c, "/overview", nil)
}

// Streams reads GET /streams.
func (c *Client) Streams(ctx context.Context) (*Page[Stream], error) {
	return get[Page[Stream]](ctx, c, "/streams", nil)
}

// Audit reads one page of GET /audit (limit, cursor), newest first.
func (c *Client) Audit(ctx context.Context, query url.Values) (*Page[AuditEntry], error) {
	return get[Page[AuditEntry]](ctx, c, "/audit", query)
}

// Collect reads pages of a listing through list (a Client method such as
// Contracts) until limit items (0: all), and reports whether more were
// left. query (may be nil) holds the filters; Collect sets limit and
// cursor.
func Collect[T any](ctx context.Context, list func(context.Context, url.Values) (*Page[T], error),
	query url.Values, limit int) ([]T, bool, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	var out []T
	for {
		per := MaxLimit
		if limit > 0 {
			per = min(per, limit-len(out)+1)
		}
		q.Set("limit", strconv.Itoa(max(1, per)))
		p, err := list(ctx, q)
		if err != nil {
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
		q.Set("cursor", p.NextCursor)
	}
}
