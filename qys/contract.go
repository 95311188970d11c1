package qys

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// API paths (public cloud; WithPrivateCloud drops the /v2 prefix).
const (
	PathContractDetail      = "/v2/contract/detail"
	PathContractList        = "/v2/contract/list"
	PathContractDownload    = "/v2/contract/download"
	PathDocumentDownload    = "/v2/document/download"
	PathContractDownloadURL = "/v2/contract/downloadurl"
)

// ShanghaiTime is the fixed UTC+8 zone (no DST) in which ListContracts
// formats publishTimeStart/End; the platform reads them as China time.
var ShanghaiTime = time.FixedZone("UTC+8", 8*60*60)

// listTimeLayout is the platform's yyyy-MM-dd HH:mm:ss.
const listTimeLayout = "2006-01-02 15:04:05"

// ContractDetail calls GET /v2/contract/detail. q needs ContractID or
// BizID (else the error wraps ErrInvalidOption). Contract.Raw holds the
// `result` object as sent (private cloud 4.0: the top-level `contract`).
// Failures are *APIError (errors.Is: ErrNotFound, ErrUnauthorized, …).
func (c *Client) ContractDetail(ctx context.Context, q ContractQuery) (*Contract, error) {
	v, err := q.values("contract detail")
	if err != nil {
		return nil, err
	}
	path := c.apiPath(PathContractDetail)
	env, err := c.getJSON(ctx, path, v)
	if err != nil {
		return nil, err
	}
	raw := env.Result
	if isJSONNull(raw) {
		raw = env.Contract
	}
	if isJSONNull(raw) {
		return nil, fmt.Errorf("qys: %s: response has no result", path)
	}
	var ct Contract
	if err := json.Unmarshal(raw, &ct); err != nil {
		return nil, fmt.Errorf("qys: %s: decode contract: %w", path, err)
	}
	ct.Raw = append(json.RawMessage(nil), raw...)
	return &ct, nil
}

// ListContracts calls GET /v2/contract/list. Times are sent as
// "2006-01-02 15:04:05" in ShanghaiTime (UTC+8); zero fields are left to
// the platform defaults. Negative Offset or Limit wraps ErrInvalidOption.
func (c *Client) ListContracts(ctx context.Context, q ListQuery) (*ContractPage, error) {
	if q.Offset < 0 || q.Limit < 0 {
		return nil, fmt.Errorf("%w: list contracts: negative offset or limit", ErrInvalidOption)
	}
	v := url.Values{}
	v.Set("selectOffset", strconv.Itoa(q.Offset))
	if q.Limit > 0 {
		v.Set("selectLimit", strconv.Itoa(q.Limit))
	}
	if !q.PublishStart.IsZero() {
		v.Set("publishTimeStart", q.PublishStart.In(ShanghaiTime).Format(listTimeLayout))
	}
	if !q.PublishEnd.IsZero() {
		v.Set("publishTimeEnd", q.PublishEnd.In(ShanghaiTime).Format(listTimeLayout))
	}
	setNonEmpty(v, "tenantName", q.TenantName)
	setNonEmpty(v, "status", q.Status)
	setNonEmpty(v, "createTimeOrder", q.Order)
	setNonEmpty(v, "signatoryType", q.SignatoryType)
	path := c.apiPath(PathContractList)
	env, err := c.getJSON(ctx, path, v)
	if err != nil {
		return nil, err
	}
	var page struct {
		TotalCount   flexInt           `json:"totalCount"`
		List         []ContractSummary `json:"list"`
		ContractList []ContractSummary `json:"contractList"` // private cloud 4.0
	}
	if !isJSONNull(env.Result) {
		if err := json.Unmarshal(env.Result, &page); err != nil {
			return nil, fmt.Errorf("qys: %s: decode page: %w", path, err)
		}
	}
	out := &ContractPage{TotalCount: page.TotalCount.v, List: page.List}
	if out.List == nil {
		out.List = page.ContractList
	}
	return out, nil
}

// DownloadURLs calls GET /v2/contract/downloadurl. items are
// downloadItems (CONTRACT, SIGNLOG, ATTACHMENT, …; none = the platform
// default). The links are valid for 60 minutes.
func (c *Client) DownloadURLs(ctx context.Context, q ContractQuery, compress bool, items ...string) ([]DownloadURL, error) {
	v, err := q.values("download urls")
	if err != nil {
		return nil, err
	}
	setNonEmpty(v, "downloadItems", joinItems(items))
	v.Set("compress", strconv.FormatBool(compress))
	path := c.apiPath(PathContractDownloadURL)
	env, err := c.getJSON(ctx, path, v)
	if err != nil {
		return nil, err
	}
	var res struct {
		DownloadURLs []DownloadURL `json:"downloadUrls"`
	}
	if !isJSONNull(env.Result) {
		if err := json.Unmarshal(env.Result, &res); err != nil {
			return nil, fmt.Errorf("qys: %s: decode download urls: %w", path, err)
		}
	}
	return res.DownloadURLs, nil
}

// getJSON performs a signed GET with retries and returns the envelope of
// a successful answer.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values) (*envelope, error) {
	ctx, cancel := c.withDefaultTimeout(ctx)
	defer cancel()
	var env *envelope
	err := c.withRetries(ctx, path, func(ctx context.Context, _ *permit) (bool, time.Duration, error) {
		req, err := c.newRequest(ctx, path, q, "application/json")
		if err != nil {
			return false, 0, err
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return retryable(ctx, err), 0, fmt.Errorf("qys: %s: %w", path, stripURL(err))
		}
		defer resp.Body.Close()
		e, retry, err := c.readJSON(path, resp)
		if err != nil {
			return retry, retryAfterOf(err), err
		}
		env = e
		return false, 0, nil
	})
	return env, err
}

// values encodes the query's selector; one of ContractID or BizID is
// required.
func (q ContractQuery) values(op string) (url.Values, error) {
	if strings.TrimSpace(q.ContractID) == "" && strings.TrimSpace(q.BizID) == "" {
		return nil, fmt.Errorf("%w: %s: ContractID or BizID is required", ErrInvalidOption, op)
	}
	v := url.Values{}
	setNonEmpty(v, "contractId", q.ContractID)
	setNonEmpty(v, "bizId", q.BizID)
	setNonEmpty(v, "tenantName", q.TenantName)
	return v, nil
}

func setNonEmpty(v url.Values, k, s string) {
	if s != "" {
		v.Set(k, s)
	}
}

func joinItems(items []string) string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return strings.Join(out, ",")
}

func isJSONNull(b json.RawMessage) bool {
	s := strings.TrimSpace(string(b))
	return s == "" || s == "null"
}
