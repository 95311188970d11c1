package archiver_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/archiver"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/docstore"
	"github.com/qyshook/qyshook/store/storetest"
)

// rig is a real ledger, a real document store and the fake 契约锁.
type rig struct {
	t      *testing.T
	ledger store.Ledger
	fake   *qystest.Server
	client *qys.Client
	dir    string
}

func newRig(t *testing.T, l store.Ledger) *rig {
	t.Helper()
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	client, err := fake.Client()
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, ledger: l, fake: fake, client: client, dir: t.TempDir()}
}

func (r *rig) options(ledger archiver.Ledger) archiver.Options {
	return archiver.Options{
		Ledger: ledger, Docs: docstore.New(r.dir), Names: events.Names{Namespace: "test"},
		APIs:    map[string]archiver.API{"default": r.client},
		Workers: 2, PollInterval: 10 * time.Millisecond, BackoffBase: 10 * time.Millisecond,
		BackoffMax: 20 * time.Millisecond, MaxAttempts: 3, Grace: 50 * time.Millisecond,
	}
}

// commit adds a signed contract with one document to the fake and
// commits it as the dispatcher does, its document queued; it returns the
// contract and document ids.
func (r *rig) commit(content string) (string, string) {
	r.t.Helper()
	id := r.fake.AddContract(qystest.ContractSpec{Subject: "s", Status: lifecycle.Complete,
		Documents: []qystest.DocumentSpec{{Title: "main", Content: []byte(content)}}})
	c, _ := r.fake.Contract(id)
	docID := string(c.Documents[0].ID)
	_, err := r.ledger.ApplyContract(context.Background(), store.ContractChange{
		Event: store.Event{ID: "ev-" + id, Tenant: "default", Kind: events.KindContract, Type: "COMPLETE", ContractID: id},
		Contract: store.Contract{Tenant: "default", ID: id, Status: lifecycle.Complete, Confirmed: true,
			Documents: []store.Document{{ID: docID, Title: "main"}}},
		ArchiveDocuments: true,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return id, docID
}

func (r *rig) document(contractID string) store.Document {
	r.t.Helper()
	c, err := r.ledger.Contract(context.Background(), "default", contractID)
	if err != nil || len(c.Documents) != 1 {
		r.t.Fatalf("contract %s: %v", contractID, err)
	}
	return c.Documents[0]
}

// start runs an archiver until the returned stop is called; stop
// returns once Run has.
func start(t *testing.T, o archiver.Options) (stop func()) {
	t.Helper()
	a, err := archiver.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(time.Minute): // a safety net, not a timing claim
				t.Fatal("archiver did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func fileSHA(t *testing.T, dir, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func TestArchivesQueuedDocuments(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			r := newRig(t, testdb.Open(t, kind))
			id, docID := r.commit("%PDF signed")
			reg := prometheus.NewRegistry()
			o := r.options(r.ledger)
			o.Registerer = reg
			start(t, o)
			eventually(t, "document archived", func() bool { return r.document(id).ArchiveState == store.ArchiveArchived })
			d := r.document(id)
			if d.SHA256 != r.fake.DocumentSHA256(docID) || fileSHA(t, r.dir, d.Path) != d.SHA256 || !strings.HasPrefix(d.Path, "documents/sha256/") {
				t.Fatalf("archived row %+v does not match its file", d)
			}
			// The index entry follows the row (the archiver links after recording).
			eventually(t, "the index entry showing the archived file", func() bool { return indexSHA(t, r.dir, id, docID) == d.SHA256 })
			facts, err := r.ledger.Outbox(context.Background(), 0)
			if err != nil || len(facts) != 1 || !strings.Contains(string(facts[0].Payload), `"contract_id":"`+id+`"`) ||
				!strings.HasSuffix(facts[0].Subject, ".documents.archived") {
				t.Fatalf("outbox %d facts, %v; want one documents.archived fact naming its contract", len(facts), err)
			}
			if got := gauge(t, reg, "qyshook_archive_documents", "pending"); got != 0 {
				t.Fatalf("pending gauge %v", got)
			}
		})
	}
}

func gauge(t *testing.T, reg *prometheus.Registry, name, state string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "state" && lp.GetValue() == state {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

// TestNotFoundFailsTheDocument: a 404 ends the document failed with its
// reason at once, without retries.
func TestNotFoundFailsTheDocument(t *testing.T) {
	r := newRig(t, testdb.Open(t, testdb.SQLite))
	id, docID := r.commit("x")
	r.fake.MissingDocument(docID, true)
	reg := prometheus.NewRegistry()
	o := r.options(r.ledger)
	o.Registerer = reg
	start(t, o)
	eventually(t, "document failed", func() bool { return r.document(id).ArchiveState == store.ArchiveFailed })
	d := r.document(id)
	if d.Attempts != 1 || !strings.Contains(d.LastError, "not found") || d.LeaseOwner != "" {
		t.Fatalf("failed row %+v", d)
	}
	if got := gauge(t, reg, "qyshook_archive_documents", "failed"); got != 1 {
		t.Fatalf("failed gauge %v, want 1", got)
	}
}

// TestShutdownWhileDownloadHangs: Run returns while a download is still
// hung; the row stays pending under its lease, which expires, and another
// archiver archives it.
func TestShutdownWhileDownloadHangs(t *testing.T) {
	r := newRig(t, testdb.Open(t, testdb.SQLite))
	id, docID := r.commit("%PDF slow")
	release := r.fake.HoldDownload(docID)
	defer release()
	o := r.options(r.ledger)
	o.Owner, o.Lease = "first", 2*time.Second
	stop := start(t, o)
	eventually(t, "the document claimed", func() bool { return r.document(id).LeaseOwner == "first" })
	stop() // returns although the download never answered
	if d := r.document(id); d.ArchiveState != store.ArchivePending {
		t.Fatalf("after shutdown: %+v; want still pending", d)
	}
	release()
	// Another instance takes the row once its lease expires.
	o2 := r.options(r.ledger)
	o2.Owner = "second"
	start(t, o2)
	eventually(t, "archived by the other archiver", func() bool { return r.document(id).ArchiveState == store.ArchiveArchived })
}

// TestTwoArchiversOfOneDocument: the first archiver's lease expires in
// the middle of its work (after storing its file, before recording it);
// a second archiver archives the document, whose content changed on the
// platform meanwhile; then the first records late. The row's sha256
// stays equal to the file it names.
func TestTwoArchiversOfOneDocument(t *testing.T) {
	r := newRig(t, testdb.Open(t, testdb.SQLite))
	id, docID := r.commit("version one")
	gated := &gatedLedger{Ledger: r.ledger, reached: make(chan struct{}), release: make(chan struct{})}
	o := r.options(gated)
	o.Owner, o.Lease = "first", 150*time.Millisecond
	start(t, o)
	<-gated.reached // the first stored version one and waits to record it
	if _, err := r.fake.SetDocument(id, qystest.DocumentSpec{ID: docID, Title: "main", Content: []byte("version two")}); err != nil {
		t.Fatal(err)
	}
	o2 := r.options(r.ledger)
	o2.Owner = "second"
	start(t, o2)
	eventually(t, "the second archiver recorded version two", func() bool {
		return r.document(id).SHA256 == r.fake.DocumentSHA256(docID)
	})
	close(gated.release)
	<-gated.recorded
	d := r.document(id)
	if got := fileSHA(t, r.dir, d.Path); got != d.SHA256 {
		t.Fatalf("row sha256 %s names %s, whose file hashes %s", d.SHA256, d.Path, got)
	}
	if d.SHA256 != r.fake.DocumentSHA256(docID) {
		t.Fatalf("the late first archiver overwrote the row: %+v", d)
	}
}

// gatedLedger holds the first ArchiveDocument until released: the
// archiver has stored its file and is about to record it.
type gatedLedger struct {
	store.Ledger
	once     sync.Once
	reached  chan struct{}
	release  chan struct{}
	recorded chan struct{}
}

// RenewDocumentLease fails once the first archiver is held: it lost its
// database for renewals, so its lease expires.
func (g *gatedLedger) RenewDocumentLease(ctx context.Context, owner, tenant, id string, lease time.Duration) (bool, error) {
	select {
	case <-g.reached:
		return false, errors.New("database unreachable")
	default:
		return g.Ledger.RenewDocumentLease(ctx, owner, tenant, id, lease)
	}
}

func (g *gatedLedger) ArchiveDocument(ctx context.Context, tenant string, doc store.Document, facts []store.Fact) (bool, error) {
	first := false
	g.once.Do(func() { first = true; g.recorded = make(chan struct{}); close(g.reached) })
	if !first {
		return g.Ledger.ArchiveDocument(ctx, tenant, doc, facts)
	}
	<-g.release
	defer close(g.recorded)
	return g.Ledger.ArchiveDocument(ctx, tenant, doc, facts)
}

// TestLeaseRenewedDuringLongDownload: a download outlasting the lease
// keeps its row (the lease is renewed), so a second archiver never takes
// it meanwhile.
//
// The ledger reads a test clock: the lease expires only when the test
// moves that clock, never because a renewal ran late on a loaded machine
// (a 90 ms lease on the wall clock was lost when one SQLite write took
// longer than the lease under -race). Each step moves the clock on by
// half a lease, then waits for a renewal made at the new time before the
// next step, so at no time the second archiver can read is the lease
// expired, and several lease lengths pass.
func TestLeaseRenewedDuringLongDownload(t *testing.T) {
	l := testdb.Open(t, testdb.SQLite)
	clock := storetest.NewClock(time.Now().UTC().Truncate(time.Second))
	storetest.SetClock(t, l, clock)
	r := newRig(t, l)
	id, docID := r.commit("%PDF long")
	release := r.fake.HoldDownload(docID)
	defer release()
	o := r.options(r.ledger)
	o.Owner, o.Lease = "first", 90*time.Millisecond
	start(t, o)
	eventually(t, "the document claimed", func() bool { return r.document(id).LeaseOwner == "first" })
	o2 := r.options(r.ledger)
	o2.Owner = "second"
	start(t, o2)
	for range 8 { // four lease lengths
		now := clock.Advance(o.Lease / 2)
		eventually(t, "the lease renewed at "+now.Format(time.RFC3339Nano), func() bool {
			d := r.document(id)
			if d.LeaseOwner != "first" {
				t.Fatalf("row taken while its download ran: %+v", d)
			}
			return d.LeaseUntil != nil && !d.LeaseUntil.Before(now.Add(o.Lease))
		})
	}
	release()
	eventually(t, "archived", func() bool { return r.document(id).ArchiveState == store.ArchiveArchived })
	if n := r.fake.Requests(); countDownloads(n, docID) != 1 {
		t.Fatalf("document downloaded %d times, want once", countDownloads(n, docID))
	}
}

func countDownloads(reqs []qystest.Request, docID string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasSuffix(r.Path, "/document/download") && r.Query.Get("documentId") == docID {
			n++
		}
	}
	return n
}

// TestLostLeaseIsNotAFailure: the first archiver's renewals fail while
// its download hangs, so its lease expires and a second archiver claims
// the row; when the first's next renewal finds the row taken, its
// download is cancelled. That is no download failure: the first's
// failures counter stays 0, its lost-lease counter moves, and the row is
// archived once, by the second.
func TestLostLeaseIsNotAFailure(t *testing.T) {
	r := newRig(t, testdb.Open(t, testdb.SQLite))
	id, docID := r.commit("%PDF contested")
	release := r.fake.HoldDownload(docID)
	defer release()
	lost := &lostLeaseLedger{Ledger: r.ledger, lost: make(chan struct{})}
	lost.unreachable.Store(true)
	reg1 := prometheus.NewRegistry()
	o := r.options(lost)
	o.Owner, o.Lease, o.Registerer = "first", 150*time.Millisecond, reg1
	o.Workers = 1 // so it cannot claim the expired row again itself
	stop1 := start(t, o)
	eventually(t, "the first archiver claimed", func() bool { return r.document(id).LeaseOwner == "first" })
	reg2 := prometheus.NewRegistry()
	o2 := r.options(r.ledger)
	o2.Owner, o2.Registerer = "second", reg2
	stop2 := start(t, o2)
	eventually(t, "the second archiver took the expired lease", func() bool { return r.document(id).LeaseOwner == "second" })
	lost.unreachable.Store(false) // the first renews again, and finds the row taken
	<-lost.lost
	release()
	eventually(t, "archived by the second", func() bool { return r.document(id).ArchiveState == store.ArchiveArchived })
	stop1() // each returns once its workers have: the counters are final
	stop2()
	if got := counter(t, reg1, "qyshook_archive_failures_total"); got != 0 {
		t.Errorf("first archiver counted %v download failures for a lost lease", got)
	}
	if got := counter(t, reg1, "qyshook_archive_leases_lost_total"); got != 1 {
		t.Errorf("first archiver lost-lease counter %v, want 1", got)
	}
	if a, b := counter(t, reg1, "qyshook_archive_documents_archived_total"), counter(t, reg2, "qyshook_archive_documents_archived_total"); a != 0 || b != 1 {
		t.Errorf("archived counters first %v second %v, want 0 and 1", a, b)
	}
	d := r.document(id)
	if d.Attempts != 0 || d.LastError != "" || d.SHA256 != r.fake.DocumentSHA256(docID) {
		t.Errorf("row %+v: want archived once, no failure recorded", d)
	}
	if facts, err := r.ledger.Outbox(context.Background(), 0); err != nil || len(facts) != 1 {
		t.Errorf("outbox %d facts, %v; want one documents.archived fact", len(facts), err)
	}
}

// lostLeaseLedger fails the first archiver's renewals while unreachable,
// and closes lost when a renewal finds the lease taken.
type lostLeaseLedger struct {
	store.Ledger
	unreachable atomic.Bool
	once        sync.Once
	lost        chan struct{}
}

func (l *lostLeaseLedger) RenewDocumentLease(ctx context.Context, owner, tenant, id string, lease time.Duration) (bool, error) {
	if l.unreachable.Load() {
		return false, errors.New("database unreachable")
	}
	ok, err := l.Ledger.RenewDocumentLease(ctx, owner, tenant, id, lease)
	if err == nil && !ok {
		l.once.Do(func() { close(l.lost) })
	}
	return ok, err
}

// counter sums a counter's series.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// indexSHA hashes the file the document's readable index entry resolves
// to; "" when there is no entry.
func indexSHA(t *testing.T, dir, contractID, docID string) string {
	t.Helper()
	rel, err := docstore.RelPath("default", contractID, docID, "pdf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(rel))); errors.Is(err, os.ErrNotExist) {
		return ""
	}
	return fileSHA(t, dir, rel)
}

// TestLateArchiverLeavesTheIndex: the first archiver downloads version
// one, then stalls (its renewals fail, its lease expires); the second
// archives version two. The first then stores version one and records
// it too late (the ledger refuses it): the readable index entry still
// shows the file the row names.
func TestLateArchiverLeavesTheIndex(t *testing.T) {
	r := newRig(t, testdb.Open(t, testdb.SQLite))
	id, docID := r.commit("version one")
	stalled := &stalledAPI{API: r.client, fetched: make(chan struct{}), release: make(chan struct{})}
	lost := &lostLeaseLedger{Ledger: r.ledger, lost: make(chan struct{})}
	lost.unreachable.Store(true) // the first never renews: its lease expires
	o := r.options(lost)
	o.Owner, o.Lease, o.Workers = "first", 150*time.Millisecond, 1
	o.APIs = map[string]archiver.API{"default": stalled}
	stop1 := start(t, o)
	<-stalled.fetched // the first holds version one
	if _, err := r.fake.SetDocument(id, qystest.DocumentSpec{ID: docID, Title: "main", Content: []byte("version two")}); err != nil {
		t.Fatal(err)
	}
	o2 := r.options(r.ledger)
	o2.Owner = "second"
	stop2 := start(t, o2)
	eventually(t, "the second archived version two", func() bool {
		d := r.document(id)
		return d.ArchiveState == store.ArchiveArchived && d.SHA256 == r.fake.DocumentSHA256(docID)
	})
	close(stalled.release)
	stop1() // returns once the first stored version one and tried to record it
	stop2() // and the second has linked version two
	d := r.document(id)
	if d.SHA256 != r.fake.DocumentSHA256(docID) {
		t.Fatalf("the late archiver changed the row: %+v", d)
	}
	if got := indexSHA(t, r.dir, id, docID); got != d.SHA256 {
		t.Fatalf("index entry shows content %s, the row names %s (%s)", got, d.SHA256, d.Path)
	}
}

// stalledAPI reads the whole first download, then holds it until
// release: a download whose storing is late.
type stalledAPI struct {
	archiver.API
	once             sync.Once
	fetched, release chan struct{}
}

func (s *stalledAPI) DownloadDocument(ctx context.Context, documentID string) (*qys.Download, error) {
	dl, err := s.API.DownloadDocument(ctx, documentID)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(dl.Body)
	dl.Body.Close()
	if err != nil {
		return nil, err
	}
	s.once.Do(func() { close(s.fetched); <-s.release })
	dl.Body = io.NopCloser(bytes.NewReader(body))
	return dl, nil
}

// TestTruncatedDownloadLeavesNoIndex: a download shorter than announced
// is stored (content-addressed) before the size check fails it; the
// readable index entry must not point at that file, which no row names.
func TestTruncatedDownloadLeavesNoIndex(t *testing.T) {
	r := newRig(t, testdb.Open(t, testdb.SQLite))
	id, docID := r.commit("%PDF whole")
	o := r.options(r.ledger)
	o.APIs = map[string]archiver.API{"default": shortAPI{r.client}}
	start(t, o)
	eventually(t, "the document failed", func() bool { return r.document(id).ArchiveState == store.ArchiveFailed })
	if d := r.document(id); !strings.Contains(d.LastError, "want") {
		t.Fatalf("failed row %+v; want a size mismatch", d)
	}
	if got := indexSHA(t, r.dir, id, docID); got != "" {
		t.Fatalf("index entry points at content %s of a failed download", got)
	}
}

// shortAPI announces one byte more than the platform sends: a
// truncation only the size check sees.
type shortAPI struct{ archiver.API }

func (s shortAPI) DownloadDocument(ctx context.Context, documentID string) (*qys.Download, error) {
	dl, err := s.API.DownloadDocument(ctx, documentID)
	if err == nil && dl.Size >= 0 {
		dl.Size++
	}
	return dl, err
}

// countingLedger records the states each DocumentCounts call asked for.
type countingLedger struct {
	store.Ledger
	mu    sync.Mutex
	asked [][]string
}

func (l *countingLedger) DocumentCounts(ctx context.Context, states ...string) (map[string]int64, error) {
	l.mu.Lock()
	l.asked = append(l.asked, states)
	l.mu.Unlock()
	return l.Ledger.DocumentCounts(ctx, states...)
}

// TestQueueGaugeCountsTheQueueOnly: a scrape counts the pending and
// failed documents alone, so its cost follows the queue, not every
// document the ledger ever archived.
func TestQueueGaugeCountsTheQueueOnly(t *testing.T) {
	r := newRig(t, testdb.Open(t, testdb.SQLite))
	l := &countingLedger{Ledger: r.ledger}
	reg := prometheus.NewRegistry()
	o := r.options(l)
	o.Registerer = reg
	if _, err := archiver.New(o); err != nil {
		t.Fatal(err)
	}
	if got := gauge(t, reg, "qyshook_archive_documents", "pending"); got != 0 {
		t.Fatalf("pending gauge %v, want 0", got)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.asked) != 1 || strings.Join(l.asked[0], ",") != store.ArchivePending+","+store.ArchiveFailed {
		t.Fatalf("DocumentCounts asked for %q, want [[pending failed]]", l.asked)
	}
}
