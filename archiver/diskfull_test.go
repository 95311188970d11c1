package archiver_test

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/archiver"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// TestDiskFullIsNamedAndNeverEndsTheDocument (issue 11): a full disk used
// to be reported as api_error, and a long one ended documents failed
// after MaxAttempts. Here the disk is really full: a child process runs
// the archiver under RLIMIT_FSIZE (1 MiB; the document is 3 MiB), so its
// writes fail with EFBIG "file too large", as in the fault drill. The
// failures carry reason disk_full, the document stays pending well past
// MaxAttempts, and once the limit is lifted it is archived.
func TestDiskFullIsNamedAndNeverEndsTheDocument(t *testing.T) {
	if os.Getenv("QYSHOOK_TEST_DISKFULL_CHILD") == "1" {
		diskFullChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDiskFullIsNamedAndNeverEndsTheDocument$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "QYSHOOK_TEST_DISKFULL_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func diskFullChild(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	l := testdb.Open(t, testdb.SQLite)
	r := newRig(t, l)
	id, docID := r.commit(strings.Repeat("%PDF-1.7 ", 3<<20/9))
	full := lim
	full.Cur = 1 << 20
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full); err != nil {
		t.Fatal(err)
	}
	freed := false
	defer func() {
		if !freed {
			_ = syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim)
		}
	}()
	reg := prometheus.NewRegistry()
	o := r.options(l)
	o.Registerer = reg
	start(t, o)
	eventually(t, "failures past MaxAttempts", func() bool {
		return labelled(t, reg, "qyshook_archive_failures_total", "reason", archiver.ReasonDiskFull) >= float64(o.MaxAttempts+2)
	})
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil { // the disk has room again
		t.Fatal(err)
	}
	freed = true
	if n := labelled(t, reg, "qyshook_archive_failures_total", "kind", "permanent"); n != 0 {
		t.Fatalf("%v permanent failures: a full disk ended the document", n)
	}
	if n, disk := counter(t, reg, "qyshook_archive_failures_total"), labelled(t, reg, "qyshook_archive_failures_total", "reason", archiver.ReasonDiskFull); n != disk {
		t.Fatalf("%v failures, %v of them disk_full", n, disk)
	}
	if d := r.document(id); d.ArchiveState == store.ArchivePending && !strings.Contains(d.LastError, "file too large") {
		t.Fatalf("document %s: last error %q; want a file-too-large", docID, d.LastError)
	}
	// Still pending (never failed), due again after at most BackoffMax.
	eventually(t, "archived once the disk has room", func() bool { return r.document(id).ArchiveState == store.ArchiveArchived })
}

// labelled sums the series of name whose label has value.
func labelled(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}
