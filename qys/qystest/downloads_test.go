package qystest_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestDownloadDocument(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, func(s *qystest.ContractSpec) {
		s.Documents = []qystest.DocumentSpec{{Title: "正文", Size: 3<<20 + 17}}
	})
	c, _ := srv.Contract(id)
	docID := string(c.Documents[0].ID)
	ctx := ctxTimeout(t, 10*time.Second)

	dl, err := MustClient(t, srv).DownloadDocument(ctx, docID)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, dl.Body)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3<<20+17 || dl.Size != n || dl.ContentType != "application/pdf" || dl.Filename != "正文.pdf" {
		t.Fatalf("n=%d size=%d type=%q name=%q", n, dl.Size, dl.ContentType, dl.Filename)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != srv.DocumentSHA256(docID) {
		t.Fatalf("sha256 = %s, want %s", got, srv.DocumentSHA256(docID))
	}

	t.Run("Deterministic", func(t *testing.T) {
		other := MustServer(t)
		other.AddContract(qystest.ContractSpec{Documents: []qystest.DocumentSpec{{ID: docID, Size: 3<<20 + 17}}})
		if other.DocumentSHA256(docID) != srv.DocumentSHA256(docID) {
			t.Fatal("generated content differs between servers")
		}
	})
	t.Run("WriteDocument", func(t *testing.T) {
		var buf bytes.Buffer
		if _, err := MustClient(t, srv).WriteDocument(ctx, docID, &buf); err != nil {
			t.Fatal(err)
		}
		if sha(buf.Bytes()) != srv.DocumentSHA256(docID) {
			t.Fatal("WriteDocument bytes differ")
		}
	})
}

func TestHostileFilename(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, func(s *qystest.ContractSpec) {
		s.Documents = []qystest.DocumentSpec{{Filename: "../../evil.pdf", Content: []byte("x")}}
	})
	c, _ := srv.Contract(id)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v2/document/download?documentId="+string(c.Documents[0].ID), nil)
	req.Header = signedHeaders(srv.AppToken, srv.AppSecret, time.Now(), "evil")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	if err != nil || params["filename"] != "../../evil.pdf" {
		t.Fatalf("Content-Disposition %q: %v", resp.Header.Get("Content-Disposition"), err)
	}
}

func TestTruncatedDownload(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, func(s *qystest.ContractSpec) {
		s.Documents = []qystest.DocumentSpec{{Size: 1 << 20}}
	})
	c, _ := srv.Contract(id)
	srv.TruncateNextDownloads(10) // enough to defeat any client retry
	ctx := ctxTimeout(t, 10*time.Second)
	dl, err := MustClient(t, srv).DownloadDocument(ctx, string(c.Documents[0].ID))
	if err == nil {
		_, err = io.Copy(io.Discard, dl.Body)
		dl.Body.Close()
	}
	if !errors.Is(err, qys.ErrTruncated) {
		t.Fatalf("err = %v, want ErrTruncated", err)
	}
}

func readZip(tb testing.TB, b []byte) map[string][]byte {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		out[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

func TestContractZip(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []qystest.Option
	}{{"InMemory", nil}, {"Streamed", []qystest.Option{qystest.WithZipBufferLimit(1)}}} {
		t.Run(tt.name, func(t *testing.T) {
			srv := MustServer(t, tt.opts...)
			id := MustContract(t, srv, func(s *qystest.ContractSpec) {
				s.Documents = []qystest.DocumentSpec{{Title: "a"}, {Title: "b", Size: 100 << 10}}
			})
			c, _ := srv.Contract(id)
			ctx := ctxTimeout(t, 10*time.Second)
			cl := MustClient(t, srv)
			dl, err := cl.DownloadContract(ctx, qys.ContractQuery{ContractID: id})
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(dl.Body)
			dl.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			files := readZip(t, b)
			if len(files) != 3 || sha(files["a.pdf"]) != srv.DocumentSHA256(string(c.Documents[0].ID)) ||
				sha(files["b.pdf"]) != srv.DocumentSHA256(string(c.Documents[1].ID)) || len(files[qystest.SignLogName]) == 0 {
				t.Fatalf("zip entries: %d", len(files))
			}

			dl, err = cl.DownloadContract(ctx, qys.ContractQuery{ContractID: id}, qystest.ItemContract)
			if err != nil {
				t.Fatal(err)
			}
			b, _ = io.ReadAll(dl.Body)
			dl.Body.Close()
			if files := readZip(t, b); len(files) != 2 {
				t.Fatalf("CONTRACT only: %d entries", len(files))
			}
		})
	}
}

func TestDownloadURLs(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	srv := MustServer(t, qystest.WithClock(clk.Now))
	id := MustContract(t, srv, nil)
	c, _ := srv.Contract(id)
	ctx := ctxTimeout(t, 10*time.Second)
	urls, err := MustClient(t, srv).DownloadURLs(ctx, qys.ContractQuery{ContractID: id}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(urls) != 2 || urls[0].DocumentID != c.Documents[0].ID || urls[1].ContractID != c.ID {
		t.Fatalf("urls = %+v", urls)
	}
	resp, err := http.Get(urls[0].DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || sha(b) != srv.DocumentSHA256(string(c.Documents[0].ID)) {
		t.Fatalf("link: HTTP %d", resp.StatusCode)
	}

	zipped, err := MustClient(t, srv).DownloadURLs(ctx, qys.ContractQuery{ContractID: id}, true)
	if err != nil || len(zipped) != 1 || zipped[0].ContractID != c.ID {
		t.Fatalf("compressed: %+v %v", zipped, err)
	}

	clk.Advance(qystest.LinkValidity + time.Second)
	resp, err = http.Get(zipped[0].DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("expired link: HTTP %d", resp.StatusCode)
	}
}

func TestTruncatedStreamedZip(t *testing.T) {
	srv := MustServer(t, qystest.WithZipBufferLimit(1))
	id := MustContract(t, srv, func(s *qystest.ContractSpec) {
		s.Documents = []qystest.DocumentSpec{{Size: 256 << 10}}
	})
	srv.TruncateNextDownloads(10)
	ctx := ctxTimeout(t, 10*time.Second)
	dl, err := MustClient(t, srv).DownloadContract(ctx, qys.ContractQuery{ContractID: id})
	if err == nil {
		_, err = io.Copy(io.Discard, dl.Body)
		dl.Body.Close()
	}
	if err == nil {
		t.Fatal("a cut chunked zip read without error")
	}
}
