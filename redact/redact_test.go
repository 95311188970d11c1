package redact_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/redact"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://erp.example.com/hook":                           "https://erp.example.com/hook",
		"https://erp.example.com/hook?token=x&a=b":               "https://erp.example.com/hook?token=REDACTED&a=REDACTED",
		"https://erp.example.com/hook?S3CRETS3CRET":              "https://erp.example.com/hook?REDACTED",
		"https://erp.example.com/a/b#frag":                       "https://erp.example.com/a/b",
		"https://user:pass@tsa.example:8443/ts?token=S3CRET#x":   "https://tsa.example:8443/ts?token=REDACTED",
		"https://TOKEN@tsa.example/":                             "https://tsa.example/",
		"postgres://qys:pw@db.internal:5432/qys?sslmode=disable": "postgres://db.internal:5432/qys?sslmode=REDACTED",
		"http://[::1]:8080/ts?":                                  "http://[::1]:8080/ts",
		"https://tsa.example/%zz":                                "(invalid URL)",
		"mailto:someone@example.com":                             "mailto:REDACTED",
		"":                                                       "",
	} {
		if got := redact.URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestErrorHidesEveryForm: the URL whole, as url.Error prints it, and its
// credentials alone, raw or escaped, are hidden; the error unwraps.
func TestErrorHidesEveryForm(t *testing.T) {
	raw := "https://alice:p%40ss-w0rd@tsa.example/ts?token=S3CRET%2Fx&mode=fast"
	base := errors.New("boom")
	ue := &url.Error{Op: "Post", URL: raw, Err: base}
	for _, err := range []error{
		ue,
		fmt.Errorf("tsa: %s: %w", raw, base),
		fmt.Errorf("login with p@ss-w0rd or %s failed: %w", url.QueryEscape("S3CRET/x"), base),
		fmt.Errorf("token S3CRET/x refused: %w", base),
	} {
		got := redact.Error(err, raw)
		msg := got.Error()
		for _, secret := range []string{"p@ss-w0rd", "p%40ss-w0rd", "S3CRET", "alice"} {
			if strings.Contains(msg, secret) {
				t.Errorf("%q shows %q", msg, secret)
			}
		}
		if !errors.Is(got, base) {
			t.Errorf("%v does not unwrap", got)
		}
	}
	if got := redact.Error(ue, raw).Error(); !strings.Contains(got, "https://tsa.example/ts?token=REDACTED&mode=REDACTED") {
		t.Errorf("the URL is not shown redacted: %s", got)
	}
	if err := redact.Error(base, raw); err != base {
		t.Errorf("an error naming nothing changed: %v", err)
	}
	if redact.Error(nil, raw) != nil {
		t.Error("nil became an error")
	}
}
