package dispatcher_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/archiver"
	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// oplogFile reads the archived operation log the ledger row names ("" and
// the row when not archived).
func (h *harness) oplogFile(id string) (string, store.Document) {
	h.t.Helper()
	d := h.document(id, id+store.OplogSuffix)
	if d.ArchiveState != store.ArchiveArchived || d.Path == "" {
		return "", d
	}
	b, err := os.ReadFile(filepath.Join(h.dataDir, d.Path))
	if err != nil {
		h.t.Fatal(err)
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
			h := newHarness(t, testdb.Open(t, db))
			h.cfg.ArchiveOperationLog = true
			id := h.addPDFContract()
			if err := h.fake.Send(id); err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				if err := h.fake.Sign(id, i); err != nil {
					t.Fatal(err)
				}
			}
			h.publishContract(id, "COMPLETE", qys.StatusComplete)
			h.start()
			var first store.Document
			eventually(t, "operation log archived at completion", func() bool {
				var text string
				text, first = h.oplogFile(id)
				return strings.Contains(text, "合同完成")
			})
			if text, _ := h.oplogFile(id); strings.Contains(text, "作废") {
				t.Fatalf("log archived before the void already names it: %s", text)
			}

			if err := h.fake.Invalidate(id); err != nil {
				t.Fatal(err)
			}
			void := h.publishContract(id, "INVALIDED", qys.StatusInvalided)
			var latest store.Document
			eventually(t, "operation log archived again with the void", func() bool {
				var text string
				text, latest = h.oplogFile(id)
				return strings.Contains(text, "作废完成")
			})
			if latest.SHA256 == first.SHA256 || latest.Path == first.Path {
				t.Fatalf("latest version %+v is the first one %+v", latest, first)
			}
			// The earlier version is not destroyed: its content file is
			// still there, unchanged (content-addressed).
			b, err := os.ReadFile(filepath.Join(h.dataDir, first.Path))
			if err != nil || !strings.Contains(string(b), "合同完成") || strings.Contains(string(b), "作废") {
				t.Fatalf("first version %s: %q, %v", first.Path, b, err)
			}
			if c := h.contract(id); c.Status != qys.StatusInvalided {
				t.Fatalf("contract %s, want INVALIDED", c.Status)
			}

			// The void callback again (a retry after the stream's
			// duplicate window: stored anew, same event id) is worked
			// (its detail fetched) but changes nothing and fetches no
			// operation log.
			eventually(t, "dispatcher settled", h.settled)
			before, details := h.streamCalls(id), h.calls("/v2/contract/detail", id)
			data, err := void.Encode()
			if err != nil {
				t.Fatal(err)
			}
			h.publishRaw(h.nats.Names.CallbackSubject(void.Tenant, void.Kind, void.Type), data, "")
			eventually(t, "redelivery worked", func() bool { return h.calls("/v2/contract/detail", id) > details && h.settled() })
			h.stop() // the archiver has had its chance
			if n := h.streamCalls(id); n != before {
				t.Fatalf("a redelivered callback fetched the operation log again (%d calls, was %d)", n, before)
			}
			if _, d := h.oplogFile(id); d.SHA256 != latest.SHA256 || d.ArchiveState != store.ArchiveArchived {
				t.Fatalf("after the redelivery: %+v, want %+v", d, latest)
			}
		})
	}
}

// streamCalls counts the fake's operation-log calls for a contract.
func (h *harness) streamCalls(id string) int {
	return h.calls(qys.PathContractStream, id) + h.calls(qys.PathOperationLog, id)
}

// calls counts the fake's requests to path about a contract.
func (h *harness) calls(path, id string) int {
	n := 0
	for _, r := range h.fake.Requests() {
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
	h := newHarness(t, testdb.Open(t, testdb.SQLite), func(h *harness) {
		h.fake.Close()
		h.fake = qystest.NewServer(qystest.WithPrivateCloud())
		h.t.Cleanup(h.fake.Close)
		client, err := h.fake.Client(qys.WithOperationLogPath(qys.PathOperationLog))
		if err != nil {
			h.t.Fatal(err)
		}
		h.cfg.APIs = map[string]dispatcher.API{"default": client}
		h.arch.APIs = map[string]archiver.API{"default": client}
	})
	h.cfg.ArchiveOperationLog = true
	id := h.addPDFContract()
	if err := h.fake.Send(id); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := h.fake.Sign(id, i); err != nil {
			t.Fatal(err)
		}
	}
	h.publishContract(id, "COMPLETE", qys.StatusComplete)
	h.start()
	eventually(t, "operation log archived at completion", func() bool {
		c := h.contract(id)
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
	if text, _ := h.oplogFile(id); strings.Contains(text, qys.OperationPrintContract) {
		t.Fatalf("log archived before the print names it: %s", text)
	}
	if err := h.fake.PrintContract(id, qystest.Operator{ID: "2599505559033049496", Name: "张三", Mobile: "15000000000"}); err != nil {
		t.Fatal(err)
	}
	if err := h.fake.Invalidate(id); err != nil {
		t.Fatal(err)
	}
	h.publishContract(id, "INVALIDED", qys.StatusInvalided)
	var text string
	eventually(t, "operation log archived again with the print", func() bool {
		text, _ = h.oplogFile(id)
		return strings.Contains(text, qys.OperationPrintContract)
	})
	var records []map[string]any
	if err := json.Unmarshal([]byte(text), &records); err != nil || len(records) == 0 {
		t.Fatalf("archived log is not the documented list: %v: %s", err, text)
	}
	for _, r := range h.fake.Requests() {
		if r.Path == "/contract/stream" {
			t.Fatal("the stream was called although the tenant's path is /contract/operationlog")
		}
	}
	if c := h.contract(id); c.Status != qys.StatusInvalided {
		t.Fatalf("contract %s, want INVALIDED", c.Status)
	}
}
