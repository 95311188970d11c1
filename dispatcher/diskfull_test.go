package dispatcher_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
)

// TestLedgerDiskFullIsRetriedNotDeadLettered (issue 11): while the
// ledger's disk is full, every delivery fails with reason disk_full (never
// api_error) and is retried past MaxDeliver instead of dead-lettered; once
// the disk has room the event applies. The disk is really full: a child
// process runs the dispatcher on a SQLite ledger under RLIMIT_FSIZE 0, so
// every write fails with EFBIG, as in the fault drill. It needs an
// external NATS (QYSHOOK_TEST_NATS_URL), whose files the limit does not
// reach.
func TestLedgerDiskFullIsRetriedNotDeadLettered(t *testing.T) {
	if os.Getenv("QYSHOOK_TEST_DISKFULL_CHILD") == "1" {
		ledgerDiskFullChild(t)
		return
	}
	if natstest.ExternalURL() == "" {
		t.Skip("QYSHOOK_TEST_NATS_URL not set: the embedded server's files would be full too")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLedgerDiskFullIsRetriedNotDeadLettered$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "QYSHOOK_TEST_DISKFULL_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func ledgerDiskFullChild(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	h.Config.MaxDeliver = 2
	id := h.AddContract(lifecycle.Signing)
	full := lim
	full.Cur = 0
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full); err != nil {
		t.Fatal(err)
	}
	freed := false
	defer func() {
		if !freed {
			_ = syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim)
		}
	}()
	h.PublishContract(id, "SEAL", lifecycle.Signing)
	h.Start()
	stagetest.Eventually(t, "disk_full failures past MaxDeliver", func() bool {
		return failures(t, h.Registry)["disk_full"] >= float64(h.Config.MaxDeliver+3)
	})
	for reason, n := range failures(t, h.Registry) {
		if reason != "disk_full" {
			t.Fatalf("%v failures with reason %s: %v", n, reason, failures(t, h.Registry))
		}
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	freed = true
	stagetest.Eventually(t, "applied once the disk has room", func() bool { return h.Contract(id) != nil })
	if n := len(h.StreamMessages(h.NATS.Names.DLQStream())); n != 0 {
		t.Fatalf("%d dead letters: a full disk was dead-lettered", n)
	}
	if rows, err := h.Ledger.DeadLetters(context.Background(), 0); err != nil || len(rows) != 0 {
		t.Fatalf("dead letters: %d, %v", len(rows), err)
	}
}

// failures reads qyshook_dispatcher_events_failed_total by reason.
func failures(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "qyshook_dispatcher_events_failed_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "reason" {
					out[lp.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}
