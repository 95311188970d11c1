package dispatcher_test

import (
	"context"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/store"
)

// documentIDs returns the fake's document ids of a contract.
func documentIDs(h *stagetest.Harness, contractID string) []string {
	h.T.Helper()
	c, ok := h.Fake.Contract(contractID)
	if !ok {
		h.T.Fatalf("fake has no contract %s", contractID)
	}
	var ids []string
	for _, d := range c.Documents {
		ids = append(ids, string(d.ID))
	}
	return ids
}

func document(h *stagetest.Harness, contractID, documentID string) store.Document {
	h.T.Helper()
	c := h.Contract(contractID)
	if c != nil {
		for _, d := range c.Documents {
			if d.ID == documentID {
				return d
			}
		}
	}
	return store.Document{}
}

// TestSlowDocumentDoesNotHoldTheBatch: a completed contract whose PDF
// download hangs does not delay the acks or the ledger state of the other
// contracts in flight, nor its own commit; its document is archived once
// the download goes through.
func TestSlowDocumentDoesNotHoldTheBatch(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	slow := h.AddContract(lifecycle.Signing)
	h.CompleteInFake(slow)
	held := documentIDs(h, slow)[0]
	release := h.Fake.HoldDownload(held)
	defer release()
	other := h.AddContract(lifecycle.Signing)
	done := h.AddContract(lifecycle.Signing)
	h.CompleteInFake(done)
	h.PublishContract(slow, "COMPLETE", lifecycle.Complete)
	h.PublishContract(other, "SEAL", lifecycle.Signing)
	h.PublishContract(done, "COMPLETE", lifecycle.Complete)
	h.Start()
	stagetest.Eventually(t, "every callback committed and acked while a download hangs", func() bool {
		a, b, c := h.Contract(slow), h.Contract(other), h.Contract(done)
		return a != nil && b != nil && c != nil && a.Status == lifecycle.Complete &&
			c.Status == lifecycle.Complete && h.Settled()
	})
	// Callbacks that arrive later are fetched and acked too.
	later := h.AddContract(lifecycle.Signing)
	h.PublishContract(later, "SEAL", lifecycle.Signing)
	stagetest.Eventually(t, "a later callback applied while the download still hangs", func() bool {
		return h.Contract(later) != nil && h.Settled()
	})
	if d := document(h, slow, held); d.SHA256 != "" {
		t.Fatalf("held document archived before its release: %+v", d)
	}
	release()
	stagetest.Eventually(t, "the held document archived after its release", func() bool {
		d := document(h, slow, held)
		return d.SHA256 == h.Fake.DocumentSHA256(held)
	})
}

// TestMissingDocumentFailsTheDocumentNotTheContract: a document the
// platform answers 404 for ends failed with its reason; the contract stays
// committed and nothing is dead-lettered.
func TestMissingDocumentFailsTheDocumentNotTheContract(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	id := h.AddContract(lifecycle.Signing)
	h.CompleteInFake(id)
	docs := documentIDs(h, id)
	h.Fake.MissingDocument(docs[0], true)
	h.PublishContract(id, "COMPLETE", lifecycle.Complete)
	h.Start()
	stagetest.Eventually(t, "the missing document failed and the other archived", func() bool {
		return document(h, id, docs[0]).ArchiveState == store.ArchiveFailed && document(h, id, docs[1]).SHA256 != ""
	})
	d := document(h, id, docs[0])
	if !strings.Contains(d.LastError, "not found") || d.SHA256 != "" {
		t.Fatalf("failed document %+v, want its not-found reason", d)
	}
	if c := h.Contract(id); c.Status != lifecycle.Complete || !c.Confirmed {
		t.Fatalf("contract %s confirmed=%v, want COMPLETE", c.Status, c.Confirmed)
	}
	stagetest.Eventually(t, "the callback acked", h.Settled)
	if dl, _ := h.Ledger.DeadLetters(context.Background(), 10); len(dl) != 0 {
		t.Fatalf("a missing document dead-lettered its contract: %+v", dl)
	}
}
