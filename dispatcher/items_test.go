package dispatcher_test

import (
	"testing"

	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/store"
)

// TestItemsQueuedAndArchived: a completed contract queues its attachments
// and 存证报告, a forced-end one its forced-end attachments (with its
// documents as they stand and its operation log); the archive stage ends
// each archived, as the platform's file or as its refusal.
func TestItemsQueuedAndArchived(t *testing.T) {
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	h.Config.ArchiveOperationLog = true
	h.Config.ArchiveItems = []string{dispatcher.ItemAttachment, dispatcher.ItemNotary, dispatcher.ItemEndSignAttachment}
	done := addPDFContract(h)
	if err := h.Fake.Send(done); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := h.Fake.Sign(done, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Fake.AddAttachment(done, "annex.txt", []byte("annex")); err != nil {
		t.Fatal(err)
	}
	ended := addPDFContract(h)
	if err := h.Fake.Send(ended); err != nil {
		t.Fatal(err)
	}
	if err := h.Fake.SetStatus(ended, lifecycle.ForceEnd); err != nil {
		t.Fatal(err)
	}
	if err := h.Fake.AddEndSignAttachment(ended, "终止说明.pdf", []byte("%PDF-1.4 reason\n%%EOF\n")); err != nil {
		t.Fatal(err)
	}
	h.PublishContract(done, "COMPLETE", lifecycle.Complete)
	h.PublishContract(ended, "FORCE_END", lifecycle.ForceEnd)
	h.Start()
	want := map[string][]string{
		done:  {done + ".item.ATTACHMENT", done + ".item.NOTARY", done + store.OplogSuffix},
		ended: {ended + ".item.ENDSIGN_ATTACHMENT", ended + store.OplogSuffix},
	}
	for id, ids := range want {
		stagetest.Eventually(t, "items of "+id+" archived", func() bool {
			c := h.Contract(id)
			if c == nil {
				return false
			}
			got := map[string]bool{}
			for _, d := range c.Documents {
				if d.ArchiveState != store.ArchiveArchived {
					return false
				}
				got[d.ID] = true
			}
			for _, w := range ids {
				if !got[w] {
					return false
				}
			}
			return true
		})
	}
	for _, d := range h.Contract(ended).Documents {
		if d.ID == ended+".item.NOTARY" || d.ID == ended+".item.ATTACHMENT" {
			t.Errorf("a forced-end contract queued %s", d.ID)
		}
	}
}
