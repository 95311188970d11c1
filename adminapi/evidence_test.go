package adminapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/adminapi"
)

// TestEvidenceHashesWhatItGot: the export's SHA-256 is the hash of the
// bytes received, and an ETag naming other bytes (a proxy's, a cut or
// changed answer) is an error. Before the fix the ETag was passed on as
// the sha256 unchecked.
func TestEvidenceHashesWhatItGot(t *testing.T) {
	zip := []byte("PK\x03\x04 a bundle")
	sum := sha256.Sum256(zip)
	good := hex.EncodeToString(sum[:])
	etag := good
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("ETag", `"`+etag+`"`)
		w.Header().Set("X-Qyshook-Bundle-Version", "2")
		_, _ = w.Write(zip)
	}))
	defer srv.Close()
	c, err := adminapi.NewClient(adminapi.ClientOptions{URL: srv.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	got, err := c.Evidence(context.Background(), "default", "c1", 0, &out)
	if err != nil || got.SHA256 != good || got.Version != 2 || !bytes.Equal(out.Bytes(), zip) {
		t.Fatalf("export = %+v, %v", got, err)
	}
	etag = strings.Repeat("ab", 32)
	out.Reset()
	if got, err := c.Evidence(context.Background(), "default", "c1", 0, &out); err == nil ||
		!strings.Contains(err.Error(), good) || !strings.Contains(err.Error(), etag) {
		t.Fatalf("export with another ETag = %+v, %v; want an error naming both hashes", got, err)
	}
}
