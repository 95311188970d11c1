package archiver_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
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

// TestStopWhileThrottledGivesUpWaits: an archiver stopped while the
// platform refuses every request (429, Retry-After 30) gives up the
// downloads waiting for the tenant's budget at once: no request reaches
// the platform after the stop but a probe already under way, and nothing
// is left for Grace to cancel; the document stays pending and is archived
// once the platform answers. Before, the download kept waiting out
// windows and probing through its retries after the stop.
func TestStopWhileThrottledGivesUpWaits(t *testing.T) {
	r := newRig(t, testdb.Open(t, testdb.SQLite))
	b, err := qys.NewBudget(qys.BudgetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.client, err = r.fake.Client(qys.WithBudget(b)); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var mu sync.Mutex
	o := r.options(r.ledger)
	o.Grace = time.Minute
	o.Logger = zerolog.New(writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logs.Write(p) }))
	id, _ := r.commit("%PDF throttled")
	r.fake.Throttle(true, 30*time.Second)
	stop := start(t, o)
	eventually(t, "the platform refusing and the budget in a spell", func() bool { return r.fake.Throttled() > 0 && b.Stats().Limited })
	before := r.fake.Throttled()
	stop()
	if after := r.fake.Throttled(); after-before > 1 {
		t.Fatalf("%d requests refused after the stop, want at most the probe under way", after-before)
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if strings.Contains(out, "cancelling downloads") {
		t.Fatalf("the downloads were cancelled at the end of Grace instead of giving up their waits:\n%s", out)
	}
	if d := r.document(id); d.ArchiveState != store.ArchivePending {
		t.Fatalf("after shutdown: %+v; want pending", d)
	}
	r.fake.Throttle(false, 0)
	start(t, r.options(r.ledger))
	eventually(t, "document archived once the platform answers", func() bool { return r.document(id).ArchiveState == store.ArchiveArchived })
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
