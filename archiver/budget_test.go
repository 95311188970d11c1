package archiver_test

import (
	"testing"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// TestRateLimitedNeverGivesUp: a download meeting "rate limited" on more
// attempts than MaxAttempts is not given up: the row stays pending and is
// archived once the platform lets it through. Before, the third
// rate-limited attempt failed the document for good.
func TestRateLimitedNeverGivesUp(t *testing.T) {
	r := newRig(t, testdb.Open(t, testdb.SQLite))
	id, docID := r.commit("%PDF rate limited")
	r.fake.RateLimitNext(5 * 4) // five attempts of 1+3 requests; MaxAttempts is 3
	start(t, r.options(r.ledger))
	eventually(t, "document archived", func() bool { return r.document(id).ArchiveState == store.ArchiveArchived })
	if d := r.document(id); d.SHA256 != r.fake.DocumentSHA256(docID) || d.Attempts < 3 {
		t.Fatalf("archived row %+v: want the fake's sha256 after at least 3 rate-limited attempts", d)
	}
}
