package adminapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// EvidenceExport describes what GET /contracts/{tenant}/{id}/evidence
// answered.
type EvidenceExport struct {
	// ContentType is application/zip (the bundle: an operator) or
	// text/html (its masked report: a viewer).
	ContentType string
	// Version is the bundle's version; SHA256 the zip's (operator only).
	Version int
	SHA256  string
	// Bytes is how many bytes were written.
	Bytes int64
}

// Report reports whether the answer is the masked report, not the zip.
func (e EvidenceExport) Report() bool { return strings.HasPrefix(e.ContentType, "text/html") }

// Evidence streams GET /contracts/{tenant}/{id}/evidence (version 0: the
// latest) to w: the bundle zip for an operator token, its masked report
// for a viewer token. A refusal is an *Error (404: no bundle yet).
func (c *Client) Evidence(ctx context.Context, tenant, id string, version int, w io.Writer) (EvidenceExport, error) {
	path := "/contracts/" + seg(tenant) + "/" + seg(id) + "/evidence"
	u := c.base + path
	if version > 0 {
		u += "?" + url.Values{"version": {strconv.Itoa(version)}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return EvidenceExport{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return EvidenceExport{}, &TransportError{Method: http.MethodGet, Path: path, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e ErrorBody
		if json.Unmarshal(raw, &e) != nil || e.Error == nil {
			return EvidenceExport{}, fmt.Errorf("admin API: GET %s: HTTP %d", path, resp.StatusCode)
		}
		e.Error.Status = resp.StatusCode
		return EvidenceExport{}, e.Error
	}
	out := EvidenceExport{ContentType: resp.Header.Get("Content-Type"), SHA256: strings.Trim(resp.Header.Get("ETag"), `"`)}
	out.Version, _ = strconv.Atoi(resp.Header.Get("X-Qyshook-Bundle-Version"))
	if out.Report() {
		out.SHA256 = ""
	}
	n, err := io.Copy(w, resp.Body)
	out.Bytes = n
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("answer cut after %d of %d bytes", n, resp.ContentLength)
	}
	if err != nil {
		return out, &TransportError{Method: http.MethodGet, Path: path, Err: err}
	}
	return out, nil
}
