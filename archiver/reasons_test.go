package archiver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"syscall"
	"testing"

	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/docstore"
)

func TestFailureReason(t *testing.T) {
	cases := map[string]struct {
		err  error
		want string
	}{
		// issue 11: the bare Errno of a file write is a net.Error too; it
		// was counted as the API's.
		"FileTooLarge":  {fmt.Errorf("store document 1: docstore: write: %w", &fs.PathError{Op: "write", Path: "f", Err: syscall.EFBIG}), ReasonDiskFull},
		"NoSpace":       {&fs.PathError{Op: "write", Path: "f", Err: syscall.ENOSPC}, ReasonDiskFull},
		"LedgerFull":    {fmt.Errorf("record: %w", store.ErrDiskFull), ReasonDiskFull},
		"NotFound":      {&qys.APIError{HTTPStatus: 404}, ReasonNotFound},
		"TooLarge":      {fmt.Errorf("x: %w", docstore.ErrTooLarge), ReasonTooLarge},
		"NoAPI":         {fmt.Errorf("x: %w", errNoAPI), ReasonNoAPI},
		"Server":        {&qys.APIError{HTTPStatus: 503}, ReasonAPI},
		"Truncated":     {fmt.Errorf("x: %w", qys.ErrTruncated), ReasonAPI},
		"Network":       {&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, ReasonAPI},
		"Timeout":       {fmt.Errorf("x: %w", context.DeadlineExceeded), ReasonTimeout},
		"LedgerBusy":    {fmt.Errorf("x: %w", store.ErrTransient), ReasonStore},
		"OtherSyscall":  {&fs.PathError{Op: "write", Path: "f", Err: syscall.EIO}, ReasonOther},
		"SomethingElse": {errors.New("boom"), ReasonOther},
	}
	for name, tc := range cases {
		if got := failureReason(tc.err); got != tc.want {
			t.Errorf("%s: failureReason(%v) = %q, want %q", name, tc.err, got, tc.want)
		}
	}
}
