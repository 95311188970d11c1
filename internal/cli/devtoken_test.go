package cli

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// serve on loopback with no admin token generates one under the data dir
// (mode 0600, kept across starts), and the CLI finds it there: `qyshook
// serve` then `qyshook contracts list` work on one laptop with nothing set.
func TestDevAdminToken(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"QYSHOOK_DATA_DIR": dir}
	getenv := func(k string) string { return vars[k] }
	got, path, err := withDevAdminToken(getenv)
	if err != nil || path != filepath.Join(dir, DevAdminTokenFile) {
		t.Fatalf("path %q, %v", path, err)
	}
	token := got("QYSHOOK_ADMIN_TOKEN")
	if len(token) < 16 {
		t.Fatalf("generated token %q too short", token)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", st, err)
	}
	again, _, err := withDevAdminToken(getenv)
	if err != nil || again("QYSHOOK_ADMIN_TOKEN") != token {
		t.Fatalf("second start got another token (%v)", err)
	}
	tok, err := adminToken(&Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: getenv})
	if err != nil || tok != token {
		t.Fatalf("the CLI did not read the generated token: %v", err)
	}

	// A configured token, or an address beyond loopback, is left alone.
	for _, v := range []map[string]string{
		{"QYSHOOK_DATA_DIR": t.TempDir(), "QYSHOOK_ADMIN_TOKEN": "0123456789abcdef-mine"},
		{"QYSHOOK_DATA_DIR": t.TempDir(), "QYSHOOK_ADMIN_ADDR": "0.0.0.0:8082"},
		{"QYSHOOK_DATA_DIR": t.TempDir(), "QYSHOOK_ADMIN_ADDR": "off"},
	} {
		g, p, err := withDevAdminToken(func(k string) string { return v[k] })
		if err != nil || p != "" || g("QYSHOOK_ADMIN_TOKEN") != v["QYSHOOK_ADMIN_TOKEN"] {
			t.Errorf("%v: generated a token (%q, %v)", v, p, err)
		}
	}
}
