package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		permanent bool
		reason    string
	}{
		{"Undecodable", fmt.Errorf("x: %w", events.ErrInvalidEnvelope), true, reasonUndecodable},
		{"ContractNotFound", &qys.APIError{Code: qys.CodeContractNotFound}, true, reasonUnknownContract},
		{"HTTP404", &qys.APIError{HTTPStatus: 404}, true, reasonUnknownContract},
		{"RateLimited", &qys.APIError{Code: qys.CodeRateLimited}, false, reasonRateLimited},
		{"HTTP429", &qys.APIError{HTTPStatus: 429}, false, reasonRateLimited},
		{"BudgetWait", fmt.Errorf("qys: x: %w: %w", qys.ErrBudgetWait, context.DeadlineExceeded), false, reasonRateLimited},
		{"Server5xx", &qys.APIError{HTTPStatus: 503}, false, reasonAPI},
		{"Truncated", fmt.Errorf("dl: %w", qys.ErrTruncated), false, reasonAPI},
		{"Timeout", fmt.Errorf("x: %w", context.DeadlineExceeded), false, reasonTimeout},
		{"DatabaseBusy", fmt.Errorf("x: %w", store.ErrTransient), false, reasonStore},
		{"Explicit", permanent("custom", errors.New("boom")), true, "custom"},
		{"Unknown", errors.New("something"), false, "error"},
		// issue 11: a full disk is named as such, never api_error (a bare
		// syscall.Errno is a net.Error too).
		{"FileTooLarge", fmt.Errorf("store document 1: %w", &fs.PathError{Op: "write", Path: "f", Err: syscall.EFBIG}), false, reasonDiskFull},
		{"NoSpace", &fs.PathError{Op: "write", Path: "f", Err: syscall.ENOSPC}, false, reasonDiskFull},
		{"Quota", &fs.PathError{Op: "write", Path: "f", Err: syscall.EDQUOT}, false, reasonDiskFull},
		{"ReadOnlyFS", &fs.PathError{Op: "open", Path: "f", Err: syscall.EROFS}, false, reasonDiskFull},
		{"LedgerDiskFull", fmt.Errorf("x: %w", errors.Join(store.ErrDiskFull, store.ErrTransient)), false, reasonDiskFull},
		{"OtherSyscallError", &fs.PathError{Op: "write", Path: "f", Err: syscall.EIO}, false, "error"},
		{"NetworkStillAPI", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, false, reasonAPI},
		{"Rejected", fmt.Errorf("apply: %w", store.ErrRejected), true, reasonRejected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, r := classify(tc.err)
			if p != tc.permanent || r != tc.reason {
				t.Fatalf("classify(%v) = %v, %q; want %v, %q", tc.err, p, r, tc.permanent, tc.reason)
			}
		})
	}
}

func TestBackoffBoundedAndGrowing(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: 2 * time.Second}
	for n := uint64(1); n <= 20; n++ {
		for i := 0; i < 50; i++ {
			d := b.Delay(n)
			if d < b.Base/2 || d > b.Max {
				t.Fatalf("Delay(%d) = %v outside [%v, %v]", n, d, b.Base/2, b.Max)
			}
		}
	}
	// Late attempts reach beyond the first attempt's ceiling: the
	// exponential part grows (checked on the maximum of many draws).
	var maxLate time.Duration
	for i := 0; i < 200; i++ {
		maxLate = max(maxLate, b.Delay(10))
	}
	if maxLate <= b.Base {
		t.Fatalf("max Delay(10) over 200 draws = %v, want > %v", maxLate, b.Base)
	}
}

func TestStorableText(t *testing.T) {
	cases := map[string]string{
		"plain":               "plain",
		"合同 with\ttab":        "合同 with\ttab",
		"nul\x00here":         `nul\x00here`,
		"bad\xffutf8":         `bad\xffutf8`,
		"cut\xe5\x90":         `cut\xe5\x90`,
		"line\r\nbreak":       `line\x0d\x0abreak`,
		`back\slash`:          `back\\slash`,
		"\x7f":                `\x7f`,
		"":                    "",
		"ERROR: 0x00 (22021)": "ERROR: 0x00 (22021)",
	}
	for in, want := range cases {
		if got := storableText(in); got != want {
			t.Errorf("storableText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTruncateStringKeepsUTF8(t *testing.T) {
	s := strings.Repeat("契", 200) // 3 bytes each
	for n := 1; n < len(s); n += 7 {
		if got := truncateString(s, n); !utf8.ValidString(got) || len(got) > n+len("…") {
			t.Fatalf("truncateString(_, %d) = %q", n, got)
		}
	}
}

// FuzzStorableText: the escaped text is valid UTF-8 without NUL or line
// breaks, and text that needs no escaping is left alone.
func FuzzStorableText(f *testing.F) {
	for _, s := range []string{"", "a\x00b", "\xff", "契约锁", "\\", "\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := storableText(s)
		if !utf8.ValidString(got) || strings.ContainsAny(got, "\x00\r\n") {
			t.Fatalf("storableText(%q) = %q", s, got)
		}
		if !strings.ContainsAny(s, "\\\x00\r\n\x7f") && utf8.ValidString(s) && !hasControl(s) && got != s {
			t.Fatalf("storableText(%q) = %q, want it unchanged", s, got)
		}
	})
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' {
			return true
		}
	}
	return false
}
