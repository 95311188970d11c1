package tsa_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/qyshook/qyshook/tsa"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

func mustResponder(tb testing.TB) (*tsatest.Responder, *httptest.Server) {
	tb.Helper()
	r, err := tsatest.New(tsatest.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(r)
	tb.Cleanup(func() { r.SetFault(tsatest.FaultNone); srv.Close() })
	return r, srv
}

func mustClient(tb testing.TB, o tsa.Options) *tsa.Client {
	tb.Helper()
	c, err := tsa.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestStampVerifies(t *testing.T) {
	r, srv := mustResponder(t)
	c := mustClient(t, tsa.Options{URLs: []string{srv.URL}, Roots: r.Roots()})
	data := []byte("origin\n3\nroot\n")
	st, err := c.Stamp(context.Background(), srv.URL, data)
	if err != nil {
		t.Fatal(err)
	}
	if st.URL != srv.URL || len(st.Token) == 0 || len(st.Certs) != 2 || st.Time.IsZero() || st.Serial == "" {
		t.Fatalf("stamp %+v", st)
	}
	v, err := tsa.Verify(st.Token, data, r.Roots(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Pinned || !v.Signer.Equal(r.Cert) || v.Serial != st.Serial {
		t.Fatalf("verified %+v", v)
	}
	// Without pinned roots the token's own root stands, and says so.
	if v, err := tsa.Verify(st.Token, data, nil, nil); err != nil || v.Pinned {
		t.Fatalf("unpinned: %+v, %v", v, err)
	}
	t.Run("ErrBadToken/OtherData", func(t *testing.T) {
		if _, err := tsa.Verify(st.Token, []byte("origin\n4\nroot\n"), r.Roots(), nil); !errors.Is(err, tsa.ErrBadToken) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("ErrBadToken/OtherRoot", func(t *testing.T) {
		other, _ := mustResponder(t)
		if _, err := tsa.Verify(st.Token, data, other.Roots(), nil); !errors.Is(err, tsa.ErrBadToken) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("ErrBadToken/FlippedByte", func(t *testing.T) {
		for i := 0; i < len(st.Token); i += 7 {
			tok := bytes.Clone(st.Token)
			tok[i] ^= 0x40
			if _, err := tsa.Verify(tok, data, r.Roots(), nil); err == nil {
				// a flip in an unsigned part (such as a certificate's
				// unused bits) may still parse; it must not verify as
				// another imprint or signer.
				if v, _ := tsa.Verify(tok, data, r.Roots(), nil); !v.Signer.Equal(r.Cert) {
					t.Fatalf("flip at %d verified with signer %v", i, v.Signer.Subject)
				}
			}
		}
	})
}

// TestStampVerifiesWithOpenSSL checks the token with an outside tool.
func TestStampVerifiesWithOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	r, srv := mustResponder(t)
	c := mustClient(t, tsa.Options{URLs: []string{srv.URL}})
	data := []byte("a checkpoint\n")
	st, err := c.Stamp(context.Background(), srv.URL, data)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dataPath, tokPath := write("data", data), write("token.der", st.Token)
	rootPath := write("root.pem", r.RootPEM())
	run := func(dataFile string) error {
		out, err := exec.Command(openssl, "ts", "-verify", "-token_in", "-in", tokPath, "-data", dataFile,
			"-CAfile", rootPath).CombinedOutput()
		if err != nil {
			return errors.New(string(out))
		}
		if !bytes.Contains(out, []byte("Verification: OK")) {
			return errors.New(string(out))
		}
		return nil
	}
	if err := run(dataPath); err != nil {
		t.Fatalf("openssl ts -verify: %v", err)
	}
	if err := run(write("other", []byte("another checkpoint\n"))); err == nil {
		t.Fatal("openssl verified the token over other data")
	}
}

func TestStampRefused(t *testing.T) {
	r, srv := mustResponder(t)
	c := mustClient(t, tsa.Options{URLs: []string{srv.URL}, Timeout: 300 * time.Millisecond})
	for _, tc := range []struct {
		fault tsatest.Fault
		want  error
	}{{tsatest.Fault500, tsa.ErrRefused}, {tsatest.FaultDown, nil}, {tsatest.FaultHang, context.DeadlineExceeded}} {
		t.Run(string(tc.fault), func(t *testing.T) {
			r.SetFault(tc.fault)
			defer r.SetFault(tsatest.FaultNone)
			_, err := c.Stamp(context.Background(), srv.URL, []byte("x"))
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := c.Stamp(context.Background(), srv.URL, []byte("x")); err != nil {
		t.Fatalf("after the faults: %v", err)
	}
	if _, err := c.Stamp(context.Background(), srv.URL+"/nowhere", []byte("x")); err != nil {
		t.Fatalf("the responder serves every path: %v", err)
	}
}

// TestResponderRefusesMalformed: a real authority answers a malformed
// query with a rejection status, not a token.
func TestResponderRefusesMalformed(t *testing.T) {
	_, srv := mustResponder(t)
	good, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: make([]byte, 32)}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	short, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: make([]byte, 7)}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		ctype string
		body  []byte
		want  timestamp.FailureInfo
	}{
		"ErrNotDER":       {"application/timestamp-query", []byte("hello"), timestamp.BadDataFormat},
		"ErrContentType":  {"text/plain", good, timestamp.BadRequest},
		"ErrImprintSize":  {"application/timestamp-query", short, timestamp.BadAlgorithm},
		"ErrTrailingData": {"application/timestamp-query", append(bytes.Clone(good), 0), timestamp.BadDataFormat},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := http.Post(srv.URL, tc.ctype, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("HTTP %d", resp.StatusCode)
			}
			_, err = timestamp.ParseResponse(buf.Bytes())
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want.String())) {
				t.Fatalf("err %v, want a rejection naming %v", err, tc.want)
			}
		})
	}
	// The well-formed query is granted.
	resp, err := http.Post(srv.URL, tsa.RequestType, bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if _, err := timestamp.ParseResponse(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for name, o := range map[string]tsa.Options{
		"ErrNoURL":   {},
		"ErrScheme":  {URLs: []string{"ftp://tsa.example"}},
		"ErrNoHost":  {URLs: []string{"http://"}},
		"ErrNotAURL": {URLs: []string{"::"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := tsa.New(o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestVerifyRefusesUncriticalSigner(t *testing.T) {
	_, srv := mustResponder(t)
	c := mustClient(t, tsa.Options{URLs: []string{srv.URL}})
	st, err := c.Stamp(context.Background(), srv.URL, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := tsa.ParseCerts(st.Certs)
	if err != nil {
		t.Fatal(err)
	}
	// The stored certificates verify the same token when it is given with them.
	if _, err := tsa.Verify(st.Token, []byte("x"), nil, certs); err != nil {
		t.Fatal(err)
	}
	if _, err := tsa.ParseCerts([][]byte{[]byte("junk")}); err == nil {
		t.Fatal("junk parsed as a certificate")
	}
	var pool *x509.CertPool
	if _, err := tsa.Verify([]byte("junk"), []byte("x"), pool, nil); !errors.Is(err, tsa.ErrBadToken) {
		t.Fatalf("err %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	r, err := tsatest.New(tsatest.Options{})
	if err != nil {
		f.Fatal(err)
	}
	// The seed token, answered without a listener.
	h := sha256.Sum256([]byte("seed"))
	q, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: h[:], Certificates: true}).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(q))
	req.Header.Set("Content-Type", tsa.RequestType)
	r.ServeHTTP(rec, req)
	ts, err := timestamp.ParseResponse(rec.Body.Bytes())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ts.RawToken, []byte("seed"))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00}, []byte(""))
	roots := r.Roots()
	f.Fuzz(func(t *testing.T, token, data []byte) {
		v, err := tsa.Verify(token, data, roots, nil)
		if err == nil && (v.Signer == nil || !v.Signer.Equal(r.Cert)) {
			t.Fatalf("verified with signer %v", v.Signer)
		}
		if err != nil && !errors.Is(err, tsa.ErrBadToken) {
			t.Fatalf("error %v does not wrap ErrBadToken", err)
		}
	})
}

// TestErrorsHideTheURLCredentials: whatever fails (the authority refuses,
// hangs, is down, answers junk), the error names the authority without its
// password or query token. Before, the query (and, through the HTTP
// client's own error, the password) showed.
func TestErrorsHideTheURLCredentials(t *testing.T) {
	r, srv := mustResponder(t)
	u := strings.Replace(srv.URL, "http://", "http://user:pw-S3CRET@", 1) + "/ts?token=T0KEN"
	c := mustClient(t, tsa.Options{URLs: []string{u}, Timeout: 300 * time.Millisecond})
	for _, fault := range []tsatest.Fault{tsatest.Fault500, tsatest.FaultDown, tsatest.FaultHang} {
		r.SetFault(fault)
		_, err := c.Stamp(context.Background(), u, []byte("x"))
		if err == nil || strings.Contains(err.Error(), "S3CRET") || strings.Contains(err.Error(), "T0KEN") ||
			!strings.Contains(err.Error(), "/ts?token=REDACTED") {
			t.Errorf("%s: %v", fault, err)
		}
	}
	r.SetFault(tsatest.FaultNone)
	closed := "http://user:pw-S3CRET@127.0.0.1:1/ts?token=T0KEN"
	if _, err := c.Stamp(context.Background(), closed, []byte("x")); err == nil || strings.Contains(err.Error(), "S3CRET") ||
		strings.Contains(err.Error(), "T0KEN") {
		t.Errorf("connection refused: %v", err)
	}
}
