package adminapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	// Version is the bundle's version; SHA256 the zip's (operator only),
	// hashed from the bytes received and checked against the server's
	// ETag (a mismatch is an error).
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
	out := EvidenceExport{ContentType: resp.Header.Get("Content-Type")}
	out.Version, _ = strconv.Atoi(resp.Header.Get("X-Qyshook-Bundle-Version"))
	etag := strings.TrimPrefix(strings.Trim(resp.Header.Get("ETag"), `"`), "W/")
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), resp.Body)
	out.Bytes = n
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("answer cut after %d of %d bytes", n, resp.ContentLength)
	}
	if err != nil {
		return out, &TransportError{Method: http.MethodGet, Path: path, Err: err}
	}
	if out.Report() {
		return out, nil
	}
	// The zip: its SHA-256 is the hash of the bytes received, which must
	// be the one the server recorded (its ETag).
	out.SHA256 = hex.EncodeToString(h.Sum(nil))
	if etag != "" && !strings.EqualFold(etag, out.SHA256) {
		return out, fmt.Errorf("admin API: GET %s: the %d bytes received hash to sha256 %s, the server's ETag says %s: "+
			"this is not the bundle it recorded", path, n, out.SHA256, etag)
	}
	return out, nil
}
