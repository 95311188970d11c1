package qys_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
)

var pdf = []byte("%PDF-1.7\n" + strings.Repeat("stream data\n", 4096) + "%%EOF\n")

func TestDownloadDocument(t *testing.T) {
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/document/download" || r.URL.Query().Get("documentId") != "77" || signedBy(r, "X-Qys-Open-") != "" {
			writeJSON(w, 400, `{"code":1000001}`)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `attachment; filename="fallback.pdf"; filename*=UTF-8''%E5%90%88%E5%90%8C.pdf`)
		w.Header().Set("Content-Length", fmt.Sprint(len(pdf)))
		_, _ = w.Write(pdf)
	})
	d, err := c.DownloadDocument(context.Background(), "77")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Body.Close()
	got, err := io.ReadAll(d.Body)
	if err != nil || !bytes.Equal(got, pdf) {
		t.Fatalf("body: %d bytes, %v", len(got), err)
	}
	if d.Filename != "合同.pdf" || d.ContentType != "application/pdf" || d.Size != int64(len(pdf)) {
		t.Fatalf("download = %+v", d)
	}
}

func TestWriteDocument(t *testing.T) {
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write(pdf) // chunked: no Content-Length
	})
	var buf bytes.Buffer
	n, err := c.WriteDocument(context.Background(), "77", &buf)
	if err != nil || n != int64(len(pdf)) || !bytes.Equal(buf.Bytes(), pdf) {
		t.Fatalf("n = %d, err = %v", n, err)
	}
}

func TestDownloadContractZip(t *testing.T) {
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/v2/contract/download" || q.Get("bizId") != "b1" || q.Get("downloadItems") != "CONTRACT,ATTACHMENT" {
			writeJSON(w, 400, `{"code":1000001}`)
			return
		}
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", `attachment; filename="../../etc/%E5%90%88.zip"`)
		_, _ = w.Write([]byte("PK\x03\x04"))
	})
	d, err := c.DownloadContract(context.Background(), qys.ContractQuery{BizID: "b1"}, "CONTRACT", "ATTACHMENT")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Body.Close()
	if d.Filename != "合.zip" {
		t.Fatalf("download = %+v", d)
	}
}

func TestDownloadTruncated(t *testing.T) {
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Length", fmt.Sprint(len(pdf)))
		_, _ = w.Write(pdf[:len(pdf)/2])
		hangUp(t, w)
	})
	var buf bytes.Buffer
	n, err := c.WriteDocument(context.Background(), "77", &buf)
	if !errors.Is(err, qys.ErrTruncated) {
		t.Fatalf("err = %v, want ErrTruncated", err)
	}
	if n >= int64(len(pdf)) {
		t.Fatalf("n = %d", n)
	}
}

func TestDownloadJSONInsteadOfFile(t *testing.T) {
	var calls atomic.Int32
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, 200, `{"code":1000001,"message":"文档不存在"}`)
	})
	_, err := c.DownloadDocument(context.Background(), "77")
	var apiErr *qys.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 1000001 || apiErr.Path != "/v2/document/download" {
		t.Fatalf("err = %v", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("calls = %d: a permanent error was retried", calls.Load())
	}
}

func TestDownloadRetriesBeforeStreaming(t *testing.T) {
	var calls atomic.Int32
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			writeJSON(w, 503, `{"code":1000000}`)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write(pdf)
	})
	var buf bytes.Buffer
	if _, err := c.WriteDocument(context.Background(), "77", &buf); err != nil || calls.Load() != 2 {
		t.Fatalf("err = %v, calls = %d", err, calls.Load())
	}
}

func TestDownloadTimeoutSparesTheBody(t *testing.T) {
	// The timeout bounds the wait for headers; a body that streams longer
	// than the timeout must still arrive whole.
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Length", fmt.Sprint(len(pdf)))
		_, _ = w.Write(pdf[:10])
		http.NewResponseController(w).Flush()
		time.Sleep(450 * time.Millisecond)
		_, _ = w.Write(pdf[10:])
	}, qys.WithTimeout(150*time.Millisecond))
	var buf bytes.Buffer
	if n, err := c.WriteDocument(context.Background(), "77", &buf); err != nil || n != int64(len(pdf)) {
		t.Fatalf("n = %d, err = %v", n, err)
	}
}

// countingTransport counts the attempts a client makes.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestDownloadHeaderTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var rt countingTransport
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, qys.WithTimeout(20*time.Millisecond), qys.WithRetries(1, time.Millisecond, time.Millisecond),
		qys.WithHTTPClient(&http.Client{Transport: &rt})) // no transport timeout: the client's own applies
	_, err := c.DownloadDocument(context.Background(), "77")
	if !errors.Is(err, context.DeadlineExceeded) || rt.n.Load() != 2 {
		t.Fatalf("err = %v, attempts = %d", err, rt.n.Load())
	}
}

func TestDownloadCancelStopsTheBody(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write(pdf[:10])
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	d, err := c.DownloadDocument(ctx, "77")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Body.Close()
	buf := make([]byte, 10)
	if _, err := io.ReadFull(d.Body, buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(d.Body); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
