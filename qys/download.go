package qys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// errHeaderTimeout ends a download attempt whose headers took longer than
// the client timeout.
var errHeaderTimeout = fmt.Errorf("qys: no response headers in time: %w", context.DeadlineExceeded)

// DownloadDocument calls GET /v2/document/download and streams the PDF.
// The caller must Close Download.Body. Reading it fails with an error
// wrapping ErrTruncated if the body ends before its Content-Length. If the
// platform answers JSON instead of a file, the error is an *APIError.
func (c *Client) DownloadDocument(ctx context.Context, documentID string) (*Download, error) {
	if strings.TrimSpace(documentID) == "" {
		return nil, fmt.Errorf("%w: download document: empty document id", ErrInvalidOption)
	}
	return c.download(ctx, c.apiPath(PathDocumentDownload), url.Values{"documentId": {documentID}})
}

// DownloadContract calls GET /v2/contract/download and streams the bundle
// (a zip by default). items are downloadItems, sent comma-separated
// (CONTRACT, SIGNLOG, ATTACHMENT, NOTARY, ENDSIGN_ATTACHMENT; none = the
// platform default, contract + sign log). See DownloadDocument for errors.
func (c *Client) DownloadContract(ctx context.Context, q ContractQuery, items ...string) (*Download, error) {
	v, err := q.values("download contract")
	if err != nil {
		return nil, err
	}
	setNonEmpty(v, "downloadItems", joinItems(items))
	return c.download(ctx, c.apiPath(PathContractDownload), v)
}

// WriteDocument streams a document into w and returns the bytes written.
// Nothing is buffered whole; a short body yields an error wrapping
// ErrTruncated (w may then hold a partial file).
func (c *Client) WriteDocument(ctx context.Context, documentID string, w io.Writer) (int64, error) {
	d, err := c.DownloadDocument(ctx, documentID)
	if err != nil {
		return 0, err
	}
	defer d.Body.Close()
	n, err := io.Copy(w, d.Body)
	if err != nil {
		return n, fmt.Errorf("qys: write document: %w", err)
	}
	return n, nil
}

// download performs a signed GET with retries until the body starts to
// stream; from then on the body is the caller's and nothing is retried.
func (c *Client) download(ctx context.Context, path string, q url.Values) (*Download, error) {
	var d *Download
	err := c.withRetries(ctx, path, func(ctx context.Context, p *permit) (bool, time.Duration, error) {
		var retry bool
		var err error
		d, retry, err = c.downloadOnce(ctx, path, q)
		if err == nil {
			d.Body.(*body).release = p.keep()
		}
		return retry, retryAfterOf(err), err
	})
	return d, err
}

// downloadOnce is one attempt. Without a ctx deadline, c.timeout bounds
// the wait for the response headers only.
func (c *Client) downloadOnce(ctx context.Context, path string, q url.Values) (*Download, bool, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	var timer *time.Timer
	if _, ok := ctx.Deadline(); !ok {
		timer = time.AfterFunc(c.timeout, func() { cancel(errHeaderTimeout) })
	}
	req, err := c.newRequest(ctx, path, q, "*/*")
	if err != nil {
		cancel(nil)
		return nil, false, err
	}
	resp, err := c.hc.Do(req)
	if timer != nil && !timer.Stop() {
		if err == nil {
			resp.Body.Close()
		}
		err = errHeaderTimeout
	}
	if err != nil {
		cancel(nil)
		return nil, retryable(ctx, err) || errors.Is(err, errHeaderTimeout), fmt.Errorf("qys: %s: %w", path, stripURL(err))
	}
	if resp.StatusCode >= 300 || isJSONType(resp.Header) {
		defer cancel(nil)
		defer resp.Body.Close()
		_, retry, err := c.readJSON(path, resp)
		if err == nil {
			err = fmt.Errorf("qys: %s: expected a file, got a JSON success envelope", path)
		}
		return nil, retry, err
	}
	return &Download{
		Body:        &body{rc: resp.Body, path: path, want: resp.ContentLength, cancel: cancel},
		ContentType: resp.Header.Get("Content-Type"),
		Filename:    filename(resp.Header.Get("Content-Disposition")),
		Size:        resp.ContentLength,
	}, false, nil
}

func isJSONType(h http.Header) bool {
	mt := mediaType(h)
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// body counts what it streams and turns a short body into ErrTruncated.
type body struct {
	rc     io.ReadCloser
	path   string
	want   int64 // Content-Length, -1 if unknown
	got    int64
	cancel context.CancelCauseFunc
	// release gives back the download's place in the budget: at the end
	// of the body (or its first error) or at Close, whichever comes
	// first, so a caller that makes another call before closing cannot
	// wait on itself.
	release func()
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.got += int64(n)
	if err != nil && b.release != nil {
		b.release()
	}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		if b.want >= 0 && b.got < b.want {
			return n, fmt.Errorf("qys: %s: %w: got %d of %d bytes", b.path, ErrTruncated, b.got, b.want)
		}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return n, fmt.Errorf("qys: %s: %w: got %d of %d bytes: %w", b.path, ErrTruncated, b.got, b.want, err)
	default:
		return n, fmt.Errorf("qys: %s: read body after %d bytes: %w", b.path, b.got, err)
	}
	return n, err
}

func (b *body) Close() error {
	err := b.rc.Close()
	b.cancel(nil)
	if b.release != nil {
		b.release()
	}
	return err
}

// filename extracts the file name from Content-Disposition (filename*
// per RFC 5987 preferred; percent-encoded names are decoded). The result
// is informational only: path separators and control characters are
// removed, but it must still never be used as a path.
func filename(cd string) string {
	if cd == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(cd)
	if err != nil {
		return ""
	}
	name := params["filename"] // mime decodes filename* into filename
	if strings.Contains(name, "%") {
		if dec, err := url.PathUnescape(name); err == nil {
			name = dec
		}
	}
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, name)
	if name == "." || name == ".." {
		return ""
	}
	return name
}

// stripURL removes the query (which holds ids) from a transport error.
func stripURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil {
		return ue.Err
	}
	u.RawQuery, u.Fragment = "", ""
	return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
}

// retryAfterOf returns the Retry-After carried by an *APIError.
func retryAfterOf(err error) time.Duration {
	var e *APIError
	if errors.As(err, &e) {
		return e.retryAfter
	}
	return 0
}
