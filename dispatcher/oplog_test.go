package dispatcher_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/archiver"
	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// oplogFile reads the archived operation log the ledger row names ("" and
// the row when not archived).
func oplogFile(h *stagetest.Harness, id string) (string, store.Document) {
	h.T.Helper()
	d := document(h, id, id+store.OplogSuffix)
	if d.ArchiveState != store.ArchiveArchived || d.Path == "" {
		return "", d
	}
	b, err := os.ReadFile(filepath.Join(h.DataDir, d.Path))
	if err != nil {
		h.T.Fatal(err)
	}
	return string(b), d
}

// TestOperationLogFollowsVoid: a contract completed and archived, then
// voided (作废) on the platform, gets its operation log fetched and
// archived again: the ledger row names the log with the void, the first
// version's file stays in the content-addressed archive, and a redelivery
// of the void callback fetches nothing more.
func TestOperationLogFollowsVoid(t *testing.T) {
	for _, db := range testdb.Kinds() {
		t.Run(string(db), func(t *testing.T) {
			h := stagetest.New(t, testdb.Open(t, db))
			h.Config.ArchiveOperationLog = true
			id := addPDFContract(h)
			if err := h.Fake.Send(id); err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				if err := h.Fake.Sign(id, i); err != nil {
					t.Fatal(err)
				}
			}
			h.PublishContract(id, "COMPLETE", lifecycle.Complete)
			h.Start()
			var first store.Document
			stagetest.Eventually(t, "operation log archived at completion", func() bool {
				var text string
				text, first = oplogFile(h, id)
				return strings.Contains(text, "合同完成")
			})
			if text, _ := oplogFile(h, id); strings.Contains(text, "作废") {
				t.Fatalf("log archived before the void already names it: %s", text)
			}

			if err := h.Fake.Invalidate(id); err != nil {
				t.Fatal(err)
			}
			void := h.PublishContract(id, "INVALIDED", lifecycle.Invalided)
			var latest store.Document
			stagetest.Eventually(t, "operation log archived again with the void", func() bool {
				var text string
				text, latest = oplogFile(h, id)
				return strings.Contains(text, "作废完成")
			})
			if latest.SHA256 == first.SHA256 || latest.Path == first.Path {
				t.Fatalf("latest version %+v is the first one %+v", latest, first)
			}
			// The earlier version is not destroyed: its content file is
			// still there, unchanged (content-addressed).
			b, err := os.ReadFile(filepath.Join(h.DataDir, first.Path))
			if err != nil || !strings.Contains(string(b), "合同完成") || strings.Contains(string(b), "作废") {
				t.Fatalf("first version %s: %q, %v", first.Path, b, err)
			}
			if c := h.Contract(id); c.Status != lifecycle.Invalided {
				t.Fatalf("contract %s, want INVALIDED", c.Status)
			}

			// The void callback again (a retry after the stream's
			// duplicate window: stored anew, same event id) is worked
			// (its detail fetched) but changes nothing and fetches no
			// operation log.
			stagetest.Eventually(t, "dispatcher settled", h.Settled)
			before, details := streamCalls(h, id), calls(h, "/v2/contract/detail", id)
			data, err := void.Encode()
			if err != nil {
				t.Fatal(err)
			}
			h.PublishRaw(h.NATS.Names.CallbackSubject(void.Tenant, void.Kind, void.Type), data, "")
			stagetest.Eventually(t, "redelivery worked", func() bool { return calls(h, "/v2/contract/detail", id) > details && h.Settled() })
			h.Stop() // the archiver has had its chance
			if n := streamCalls(h, id); n != before {
				t.Fatalf("a redelivered callback fetched the operation log again (%d calls, was %d)", n, before)
			}
			if _, d := oplogFile(h, id); d.SHA256 != latest.SHA256 || d.ArchiveState != store.ArchiveArchived {
				t.Fatalf("after the redelivery: %+v, want %+v", d, latest)
			}
		})
	}
}

// streamCalls counts the fake's operation-log calls for a contract.
func streamCalls(h *stagetest.Harness, id string) int {
	return calls(h, qys.PathContractStream, id) + calls(h, qys.PathOperationLog, id)
}

// calls counts the fake's requests to path about a contract.
func calls(h *stagetest.Harness, path, id string) int {
	n := 0
	for _, r := range h.Fake.Requests() {
		if r.Path == path && r.Query.Get("contractId") == id {
			n++
		}
	}
	return n
}

// TestPrivateOperationLogFollowsLaterOperations: a private-cloud tenant
// whose client calls /contract/operationlog archives the documented
// answer (a list of audit records) verbatim, and after a later state (the
// void) archives it again with what happened since: here a print in the
// console. The void itself is not in that log (it records downloads and
// prints only); the ledger's status says it.
func TestPrivateOperationLogFollowsLaterOperations(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite), func(h *stagetest.Harness) {
		h.Fake.Close()
		h.Fake = qystest.NewServer(qystest.WithPrivateCloud())
		h.T.Cleanup(h.Fake.Close)
		client, err := h.Fake.Client(qys.WithOperationLogPath(qys.PathOperationLog))
		if err != nil {
			h.T.Fatal(err)
		}
		h.Config.APIs = map[string]dispatcher.API{"default": client}
		h.Archive.APIs = map[string]archiver.API{"default": client}
	})
	h.Config.ArchiveOperationLog = true
	id := addPDFContract(h)
	if err := h.Fake.Send(id); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := h.Fake.Sign(id, i); err != nil {
			t.Fatal(err)
		}
	}
	h.PublishContract(id, "COMPLETE", lifecycle.Complete)
	h.Start()
	stagetest.Eventually(t, "operation log archived at completion", func() bool {
		c := h.Contract(id)
		if c == nil || len(c.Documents) != 3 {
			return false
		}
		for _, d := range c.Documents {
			if d.ArchiveState != store.ArchiveArchived {
				return false
			}
		}
		return true
	})
	if text, _ := oplogFile(h, id); strings.Contains(text, qys.OperationPrintContract) {
		t.Fatalf("log archived before the print names it: %s", text)
	}
	if err := h.Fake.PrintContract(id, qystest.Operator{ID: "2599505559033049496", Name: "张三", Mobile: "15000000000"}); err != nil {
		t.Fatal(err)
	}
	if err := h.Fake.Invalidate(id); err != nil {
		t.Fatal(err)
	}
	h.PublishContract(id, "INVALIDED", lifecycle.Invalided)
	var text string
	stagetest.Eventually(t, "operation log archived again with the print", func() bool {
		text, _ = oplogFile(h, id)
		return strings.Contains(text, qys.OperationPrintContract)
	})
	var records []map[string]any
	if err := json.Unmarshal([]byte(text), &records); err != nil || len(records) == 0 {
		t.Fatalf("archived log is not the documented list: %v: %s", err, text)
	}
	for _, r := range h.Fake.Requests() {
		if r.Path == "/contract/stream" {
			t.Fatal("the stream was called although the tenant's path is /contract/operationlog")
		}
	}
	if c := h.Contract(id); c.Status != lifecycle.Invalided {
		t.Fatalf("contract %s, want INVALIDED", c.Status)
	}
}
