package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/e2e"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/ledgerdb"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binary builds a command of this module once per test binary.
func binary(t *testing.T, name string) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go toolchain not on PATH")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "qyshook-e2e-bin")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(os.PathSeparator),
			"github.com/qyshook/qyshook/cmd/dispatcher")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

const crashContracts = 300

// TestDispatcherSIGKILL kills a dispatcher process in the middle of its
// work, restarts it, and compares the ledger, the archived files and the
// facts with an uninterrupted run over the same events.
func TestDispatcherSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs processes")
	}
	bin := binary(t, "dispatcher")
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			fake := qystest.NewServer()
			t.Cleanup(fake.Close)
			fake.SetLatency(5 * time.Millisecond)
			ids := make([]string, crashContracts)
			for i := range ids {
				ids[i] = fake.AddContract(qystest.ContractSpec{
					Subject: fmt.Sprintf("合同 %d", i), Status: lifecycle.Complete,
					Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantCompany, TenantName: "甲方"}},
					Documents:   []qystest.DocumentSpec{{Title: "正文", Size: 32 << 10}, {Title: "附件", Size: 8 << 10}},
				})
			}
			began := time.Now()
			phase := func(name string) { t.Logf("%6.2fs %s", time.Since(began).Seconds(), name) }
			reference := newCrashRun(t, kind, fake, ids)
			phase("reference: events published")
			reference.start(t, bin)
			reference.waitDone(t)
			reference.stop(t)
			phase("reference: done")

			crashed := newCrashRun(t, kind, fake, ids)
			crashed.start(t, bin)
			crashed.waitPartial(t)
			crashed.kill(t)
			phase("crashed: killed mid-work")
			crashed.start(t, bin)
			crashed.waitDone(t)
			crashed.stop(t)
			phase("crashed: done after restart")

			a, b := reference.snapshot(t), crashed.snapshot(t)
			if diff := e2e.Diff(a, b); len(diff) > 0 {
				t.Fatalf("the crashed run differs from the uninterrupted one (%d differences), first: %v", len(diff), diff[:min(5, len(diff))])
			}
			for id, n := range b.Facts {
				if n != 1 {
					t.Fatalf("fact %s published %d times after the crash", id, n)
				}
			}
			if len(a.Files) != 2*crashContracts {
				t.Fatalf("%d files archived, want %d", len(a.Files), 2*crashContracts)
			}
		})
	}
}

// crashRun is one dispatcher deployment: its own namespace, ledger and data dir.
type crashRun struct {
	nats    *natstest.Env
	fake    *qystest.Server
	ids     []string
	dbURL   string
	dataDir string
	ledger  store.Ledger
	cmd     *exec.Cmd
	log     *os.File
}

func newCrashRun(t *testing.T, kind testdb.Kind, fake *qystest.Server, ids []string) *crashRun {
	r := &crashRun{nats: natstest.New(t), fake: fake, ids: ids, dbURL: testdb.URL(t, kind), dataDir: t.TempDir()}
	ctx := context.Background()
	for _, id := range ids {
		for _, cb := range []struct{ typ, status string }{{"SEAL", lifecycle.Signing}, {"COMPLETE", lifecycle.Complete}} {
			env := events.Envelope{
				Schema: events.SchemaCallbackV1, Tenant: "default", Kind: events.KindContract, Type: cb.typ,
				ContractID: id, ContractStatus: cb.status, ReceivedAt: time.Now().UTC(), Format: "A",
				Source: events.SourceCallback, Payload: json.RawMessage(`{}`),
			}
			env.ID = events.EventID("default", events.KindContract, id, cb.typ, cb.status, "")
			data, _ := env.Encode()
			if _, err := r.nats.JS.Publish(ctx, r.nats.Names.CallbackSubject("default", env.Kind, env.Type), data,
				jetstream.WithMsgID(env.ID)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return r
}

func (r *crashRun) start(t *testing.T, bin string) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(r.dataDir, "dispatcher.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"QYSHOOK_HTTP_ADDR=127.0.0.1:0",
		"QYSHOOK_NATS_URL="+r.nats.URL,
		"QYSHOOK_NATS_NAMESPACE="+r.nats.Names.Namespace,
		"QYSHOOK_DB="+r.dbURL,
		"QYSHOOK_DATA_DIR="+r.dataDir,
		"QYSHOOK_QYS_BASE_URL="+r.fake.URL,
		"QYSHOOK_QYS_APP_TOKEN="+r.fake.AppToken,
		"QYSHOOK_QYS_APP_SECRET="+r.fake.AppSecret,
		"QYSHOOK_RECONCILE_INTERVAL=0",
		"QYSHOOK_ARCHIVE_OPLOG=false", // counts the fake's PDFs only
		"QYSHOOK_ARCHIVE_ITEMS=none",  // and no attachments or 存证报告
		"QYSHOOK_ACK_WAIT=2s",         // redeliver what the killed process held quickly
		"QYSHOOK_DUPLICATE_WINDOW=10m",
		"QYSHOOK_STREAM_MAX_AGE=1h",
		"QYSHOOK_LOG_LEVEL=warn",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.cmd, r.log = cmd, logf
	t.Cleanup(func() {
		if r.cmd != nil && r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Kill()
			_, _ = r.cmd.Process.Wait()
		}
	})
}

// openLedger opens the run's ledger read-only (the dispatcher process
// holds a SQLite ledger for writing); nil until the dispatcher created it.
func (r *crashRun) openLedger(t *testing.T) store.Ledger {
	if r.ledger == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		l, err := ledgerdb.OpenReadOnly(ctx, r.dbURL, "")
		if err != nil {
			return nil
		}
		t.Cleanup(func() { _ = l.Close() })
		r.ledger = l
	}
	return r.ledger
}

// archived counts the documents archived so far.
func (r *crashRun) archived(t *testing.T) int {
	l := r.openLedger(t)
	if l == nil {
		return 0
	}
	rows, err := l.Contracts(context.Background(), store.ContractFilter{Tenant: "default", Limit: 100000})
	if err != nil {
		return 0
	}
	n := 0
	for _, row := range rows {
		c, err := l.Contract(context.Background(), "default", row.ID)
		if err != nil {
			continue
		}
		for _, d := range c.Documents {
			if d.SHA256 != "" {
				n++
			}
		}
	}
	return n
}

func (r *crashRun) waitPartial(t *testing.T) {
	t.Helper()
	err := e2e.Eventually(context.Background(), 2*time.Minute, func() string {
		if n := r.archived(t); n < 40 {
			return fmt.Sprintf("%d documents archived", n)
		}
		return ""
	})
	if err != nil {
		t.Fatal(r.logTail(err))
	}
}

func (r *crashRun) waitDone(t *testing.T) {
	t.Helper()
	want := 3 * len(r.ids) // one status fact and two archived-document facts per contract
	err := e2e.Eventually(context.Background(), 3*time.Minute, func() string {
		if n := r.archived(t); n != 2*len(r.ids) {
			return fmt.Sprintf("%d of %d documents archived", n, 2*len(r.ids))
		}
		facts, err := e2e.StreamFacts(context.Background(), r.nats.JS, r.nats.Names)
		if err != nil {
			return err.Error()
		}
		if len(facts) < want {
			return fmt.Sprintf("%d of %d facts published", len(facts), want)
		}
		return ""
	})
	if err != nil {
		t.Fatal(r.logTail(err))
	}
}

func (r *crashRun) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = r.cmd.Process.Wait()
	if n := r.archived(t); n >= 2*len(r.ids) {
		t.Fatalf("the dispatcher finished before the kill (%d documents): the crash did not interrupt work", n)
	}
}

func (r *crashRun) stop(t *testing.T) {
	t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(r.logTail(fmt.Errorf("dispatcher exit: %w", err)))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dispatcher did not stop on SIGTERM")
	}
}

func (r *crashRun) snapshot(t *testing.T) *e2e.Snapshot {
	t.Helper()
	l := r.openLedger(t)
	if l == nil {
		t.Fatalf("no ledger at %s", r.dbURL)
	}
	s, err := e2e.TakeSnapshot(context.Background(), l, "default", r.dataDir, r.nats.JS, r.nats.Names)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (r *crashRun) logTail(err error) error {
	b, _ := os.ReadFile(filepath.Join(r.dataDir, "dispatcher.log"))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return fmt.Errorf("%w\ndispatcher log:\n%s", err, b)
}
