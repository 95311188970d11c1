package dispatcher_test

import (
	"context"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

// documentIDs returns the fake's document ids of a contract.
func (h *harness) documentIDs(contractID string) []string {
	h.t.Helper()
	c, ok := h.fake.Contract(contractID)
	if !ok {
		h.t.Fatalf("fake has no contract %s", contractID)
	}
	var ids []string
	for _, d := range c.Documents {
		ids = append(ids, string(d.ID))
	}
	return ids
}

// settled reports whether the dispatcher's consumer has nothing pending
// and nothing waiting for an ack.
func (h *harness) settled() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*h.cfg.AckWait)
	defer cancel()
	cons, err := h.nats.JS.Consumer(ctx, h.nats.Names.CallbacksStream(), h.nats.Names.Durable(events.DurableLedger))
	if err != nil {
		return false
	}
	info, err := cons.Info(ctx)
	return err == nil && info.NumPending == 0 && info.NumAckPending == 0
}

func (h *harness) document(contractID, documentID string) store.Document {
	h.t.Helper()
	c := h.contract(contractID)
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
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	slow := h.addContract(qys.StatusSigning)
	h.completeInFake(slow)
	held := h.documentIDs(slow)[0]
	release := h.fake.HoldDownload(held)
	defer release()
	other := h.addContract(qys.StatusSigning)
	done := h.addContract(qys.StatusSigning)
	h.completeInFake(done)
	h.publishContract(slow, "COMPLETE", qys.StatusComplete)
	h.publishContract(other, "SEAL", qys.StatusSigning)
	h.publishContract(done, "COMPLETE", qys.StatusComplete)
	h.start()
	eventually(t, "every callback committed and acked while a download hangs", func() bool {
		a, b, c := h.contract(slow), h.contract(other), h.contract(done)
		return a != nil && b != nil && c != nil && a.Status == qys.StatusComplete &&
			c.Status == qys.StatusComplete && h.settled()
	})
	// Callbacks that arrive later are fetched and acked too.
	later := h.addContract(qys.StatusSigning)
	h.publishContract(later, "SEAL", qys.StatusSigning)
	eventually(t, "a later callback applied while the download still hangs", func() bool {
		return h.contract(later) != nil && h.settled()
	})
	if d := h.document(slow, held); d.SHA256 != "" {
		t.Fatalf("held document archived before its release: %+v", d)
	}
	release()
	eventually(t, "the held document archived after its release", func() bool {
		d := h.document(slow, held)
		return d.SHA256 == h.fake.DocumentSHA256(held)
	})
}

// TestMissingDocumentFailsTheDocumentNotTheContract: a document the
// platform answers 404 for ends failed with its reason; the contract stays
// committed and nothing is dead-lettered.
func TestMissingDocumentFailsTheDocumentNotTheContract(t *testing.T) {
	h := newHarness(t, testdb.Open(t, testdb.SQLite))
	id := h.addContract(qys.StatusSigning)
	h.completeInFake(id)
	docs := h.documentIDs(id)
	h.fake.MissingDocument(docs[0], true)
	h.publishContract(id, "COMPLETE", qys.StatusComplete)
	h.start()
	eventually(t, "the missing document failed and the other archived", func() bool {
		return h.document(id, docs[0]).ArchiveState == store.ArchiveFailed && h.document(id, docs[1]).SHA256 != ""
	})
	d := h.document(id, docs[0])
	if !strings.Contains(d.LastError, "not found") || d.SHA256 != "" {
		t.Fatalf("failed document %+v, want its not-found reason", d)
	}
	if c := h.contract(id); c.Status != qys.StatusComplete || !c.Confirmed {
		t.Fatalf("contract %s confirmed=%v, want COMPLETE", c.Status, c.Confirmed)
	}
	eventually(t, "the callback acked", h.settled)
	if dl, _ := h.ledger.DeadLetters(context.Background(), 10); len(dl) != 0 {
		t.Fatalf("a missing document dead-lettered its contract: %+v", dl)
	}
}
