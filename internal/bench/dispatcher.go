package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/archiver"
	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/ledgerfill"
	"github.com/qyshook/qyshook/internal/natsconn"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/relay"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/docstore"
	"github.com/qyshook/qyshook/store/ledgerdb"
)

// DispatcherOptions configures RunDispatcher.
type DispatcherOptions struct {
	// DB is the ledger: "" or "sqlite" for a fresh SQLite file, or a
	// postgres:// URL, in which a fresh schema is created and dropped.
	DB string
	// Events is how many callback events to pre-fill (default 20,000).
	Events int
	// PerContract is how many events each contract gets (default 4), the
	// shape of a real lifecycle: they share one detail fetch when they
	// fall in the same batch.
	PerContract int
	// Workers and Batch tune the dispatcher (its defaults when zero).
	Workers, Batch int
	// Dir holds JetStream and SQLite (default: a temporary directory).
	Dir string
	// Documents makes every contract COMPLETE in the fake, so each commit
	// queues its document and the archive stage runs beside the
	// dispatcher, downloading them.
	Documents bool
	// SlowEvery > 0 (with Documents) holds the download of one document in
	// SlowEvery until the run ends: a hung PDF.
	SlowEvery int
	// LedgerRows > 0 grows the ledger before the run with a year of
	// history (internal/ledgerfill: that many events and outbox facts,
	// half as many contracts and documents), so the run shows the pace of
	// a big ledger. Filling is not timed.
	LedgerRows int
	// LedgerTemplate (SQLite) names a grown ledger file to start from: it
	// is created with LedgerRows once, when missing, and copied for each
	// run, so repeated runs skip the filling.
	LedgerTemplate string
	// NoReceiptLog runs without the receipt log (ledgerdb.Options), the
	// baseline its cost is measured against.
	NoReceiptLog bool
}

// DispatcherResult is the outcome of RunDispatcher.
type DispatcherResult struct {
	DB          string
	Events      int
	Contracts   int
	Elapsed     time.Duration
	PerSec      float64
	DetailCalls int
	Documents   bool // documents were archived beside the dispatcher
	SlowDocs    int  // downloads held for the whole run
	NoLog       bool // ran without the receipt log
	// CPU is the process's CPU time (user and system) while the events
	// were applied: the dispatcher, relay, fake 契约锁, embedded NATS and
	// SQLite together; not a PostgreSQL server's.
	CPU time.Duration
}

// CPUPerEvent is the process's CPU per event applied, in µs.
func (r *DispatcherResult) CPUPerEvent() float64 {
	if r.Events == 0 {
		return 0
	}
	return float64(r.CPU.Microseconds()) / float64(r.Events)
}

// String formats the result for a terminal.
func (r *DispatcherResult) String() string {
	docs := ""
	switch {
	case r.SlowDocs > 0:
		docs = fmt.Sprintf(", archiving beside it with %d downloads hung", r.SlowDocs)
	case r.Documents:
		docs = ", archiving beside it"
	}
	db := r.DB
	if r.NoLog {
		db += ", no receipt log"
	}
	return fmt.Sprintf("dispatcher (%s): %d events over %d contracts applied in %v: %.0f events/s, %.0f µs CPU/event, %d detail fetches%s",
		db, r.Events, r.Contracts, r.Elapsed.Round(time.Millisecond), r.PerSec, r.CPUPerEvent(), r.DetailCalls, docs)
}

// RunDispatcher pre-fills QYS_CALLBACKS (embedded JetStream, file
// storage) with contract events, then times a dispatcher confirming every
// event through an in-process fake 契约锁 into the ledger.
func RunDispatcher(ctx context.Context, o DispatcherOptions) (*DispatcherResult, error) {
	if o.Events <= 0 {
		o.Events = 20000
	}
	if o.PerContract <= 0 {
		o.PerContract = 4
	}
	r, err := newRig(ctx, o.Dir, o.DB, o)
	if err != nil {
		return nil, err
	}
	defer r.close()
	conn, names, ledger, fake, client, dir := r.conn, r.names, r.ledger, r.fake, r.client, r.dir
	contracts := (o.Events + o.PerContract - 1) / o.PerContract
	releases, err := prefill(ctx, conn.JS, names, fake, o)
	defer func() {
		for _, release := range releases {
			release()
		}
	}()
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	// The relay publishes the facts, as in the service.
	rel, err := relay.New(relay.Options{JS: conn.JS, Ledger: ledger, Registerer: reg})
	if err != nil {
		return nil, err
	}
	d, err := dispatcher.New(dispatcher.Options{
		JS: conn.JS, Names: names, Ledger: ledger, Registerer: reg,
		APIs: map[string]dispatcher.API{"default": client}, Workers: o.Workers, Batch: o.Batch,
		Committed: rel.Kick,
	})
	if err != nil {
		return nil, err
	}
	runners := []func(context.Context) error{d.Run, rel.Run}
	if o.Documents {
		a, err := archiver.New(archiver.Options{Ledger: ledger, Docs: docstore.New(dir), Names: names,
			APIs: map[string]archiver.API{"default": client}, PollInterval: 50 * time.Millisecond, Grace: time.Second})
		if err != nil {
			return nil, err
		}
		runners = append(runners, a.Run)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, len(runners))
	start, cpu := time.Now(), ProcessCPU()
	for _, run := range runners {
		go func() { done <- run(runCtx) }()
	}
	err = waitApplied(ctx, reg, o.Events)
	elapsed := time.Since(start)
	cpu = ProcessCPU() - cpu
	stop()
	for range runners {
		if rerr := <-done; err == nil {
			err = rerr
		}
	}
	if err != nil {
		return nil, err
	}
	res := &DispatcherResult{DB: r.dbName, Events: o.Events, Contracts: contracts, Elapsed: elapsed,
		PerSec: float64(o.Events) / elapsed.Seconds(), Documents: o.Documents, SlowDocs: len(releases),
		NoLog: o.NoReceiptLog, CPU: cpu}
	for _, r := range fake.Requests() {
		if strings.HasSuffix(r.Path, "/contract/detail") {
			res.DetailCalls++
		}
	}
	return res, nil
}

// rig is what both dispatcher benchmarks run on: a directory, an
// embedded JetStream, a fresh ledger and an in-process fake 契约锁.
type rig struct {
	dir    string
	conn   *natsconn.Conn
	names  events.Names
	ledger store.Ledger
	dbName string
	fake   *qystest.Server
	client *qys.Client
	undo   []func()
}

func newRig(ctx context.Context, dir, db string, grow DispatcherOptions) (_ *rig, err error) {
	r := &rig{}
	defer func() {
		if err != nil {
			r.close() // r, not the nil result an error returns
		}
	}()
	var cleanup func()
	if r.dir, cleanup, err = benchDir(dir); err != nil {
		return nil, err
	}
	r.undo = append(r.undo, cleanup)
	if r.conn, r.names, err = benchNATS(ctx, r.dir); err != nil {
		return nil, err
	}
	r.undo = append(r.undo, func() { r.conn.Close() })
	if err := fromTemplate(ctx, db, r.dir, grow); err != nil {
		return nil, err
	}
	var closeDB func()
	var fill func(context.Context, int) error
	if r.ledger, r.dbName, closeDB, fill, err = benchLedger(ctx, db, r.dir, ledgerdb.Options{NoReceiptLog: grow.NoReceiptLog}); err != nil {
		return nil, err
	}
	r.undo = append(r.undo, closeDB)
	if grow.LedgerRows > 0 && grow.LedgerTemplate == "" {
		if err := fill(ctx, grow.LedgerRows); err != nil {
			return nil, err
		}
	}
	r.fake = qystest.NewServer()
	r.undo = append(r.undo, r.fake.Close)
	if r.client, err = r.fake.Client(); err != nil {
		return nil, err
	}
	return r, nil
}

// close releases the rig in reverse order.
func (r *rig) close() {
	for i := len(r.undo) - 1; i >= 0; i-- {
		r.undo[i]()
	}
}

func benchDir(dir string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, os.MkdirAll(dir, 0o750)
	}
	tmp, err := os.MkdirTemp("", "qyshook-bench-")
	if err != nil {
		return "", nil, fmt.Errorf("bench: %w", err)
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}

func benchNATS(ctx context.Context, dir string) (*natsconn.Conn, events.Names, error) {
	conn, err := natsconn.Connect(ctx, natsconn.Options{EmbeddedStoreDir: filepath.Join(dir, "nats"), Name: "qyshook-bench"})
	if err != nil {
		return nil, events.Names{}, err
	}
	names := events.Names{Namespace: "bench"}
	err = names.Provision(ctx, conn.JS, events.StreamSettings{MaxAge: time.Hour, DuplicateWindow: 10 * time.Minute})
	if err != nil {
		conn.Close()
		return nil, names, err
	}
	return conn, names, nil
}

// benchLedger opens a fresh ledger: SQLite under dir, or a new schema in
// the PostgreSQL database at db (dropped by the returned close). fill grows
// it with ledgerfill.
func benchLedger(ctx context.Context, db, dir string, lo ledgerdb.Options) (store.Ledger, string, func(), func(context.Context, int) error, error) {
	if db == "" || db == "sqlite" {
		path := filepath.Join(dir, "ledger.db")
		l, err := ledgerdb.OpenWith(ctx, "sqlite://"+path, dir, lo)
		if err != nil {
			return nil, "", nil, nil, err
		}
		return l, "sqlite", func() { l.Close() }, func(ctx context.Context, n int) error { return fillSQLite(ctx, path, n) }, nil
	}
	u, drop, err := pgScratch(ctx, db)
	if err != nil {
		return nil, "", nil, nil, err
	}
	l, err := ledgerdb.OpenWith(ctx, u, dir, lo)
	if err != nil {
		drop()
		return nil, "", nil, nil, err
	}
	fill := func(ctx context.Context, n int) error {
		pg, err := sql.Open("pgx", u)
		if err != nil {
			return err
		}
		defer pg.Close()
		if err := ledgerfill.Fill(ctx, pg, ledgerfill.Postgres, n, ledgerfill.Options{Prefix: "hist-"}); err != nil {
			return err
		}
		_, err = pg.ExecContext(ctx, "VACUUM ANALYZE")
		return err
	}
	return l, "postgres", func() { l.Close(); drop() }, fill, nil
}

// pgScratch creates a fresh schema in the PostgreSQL database at db and
// returns db's URL with that schema as its search_path, and drop, which
// drops the schema.
func pgScratch(ctx context.Context, db string) (string, func(), error) {
	raw, err := sql.Open("pgx", db)
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "qyshook_bench_" + hex.EncodeToString(b)
	if _, err := raw.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		raw.Close()
		return "", nil, fmt.Errorf("bench: create schema: %w", err)
	}
	drop := func() {
		_, _ = raw.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		raw.Close()
	}
	u, err := url.Parse(db)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// pgSchemaBytes is the on-disk size of the tables (with their indexes
// and TOAST) of the schema named in the search_path of the URL db.
func pgSchemaBytes(ctx context.Context, db string) (int64, error) {
	u, err := url.Parse(db)
	if err != nil {
		return 0, err
	}
	schema := u.Query().Get("search_path")
	raw, err := sql.Open("pgx", db)
	if err != nil {
		return 0, err
	}
	defer raw.Close()
	var n sql.NullInt64
	err = raw.QueryRowContext(ctx, `SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
		JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relkind IN ('r', 'm')`, schema).Scan(&n)
	return n.Int64, err
}

// fillSQLite grows the SQLite ledger at path (open in this process).
func fillSQLite(ctx context.Context, path string, n int) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := ledgerfill.Fill(ctx, db, ledgerfill.SQLite, n, ledgerfill.Options{Prefix: "hist-"}); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// fromTemplate puts a copy of the grown SQLite ledger o.LedgerTemplate in
// dir, creating the template first when it is missing.
func fromTemplate(ctx context.Context, db, dir string, o DispatcherOptions) error {
	if o.LedgerTemplate == "" {
		return nil
	}
	if db != "" && db != "sqlite" {
		return fmt.Errorf("bench: a ledger template is a SQLite file; use -ledger-rows alone with PostgreSQL")
	}
	if _, err := os.Stat(o.LedgerTemplate); errors.Is(err, os.ErrNotExist) {
		if o.LedgerRows <= 0 {
			return fmt.Errorf("bench: ledger template %s does not exist; give -ledger-rows to create it", o.LedgerTemplate)
		}
		l, err := ledgerdb.Open(ctx, "sqlite://"+o.LedgerTemplate, filepath.Dir(o.LedgerTemplate))
		if err != nil {
			return err
		}
		err = fillSQLite(ctx, o.LedgerTemplate, o.LedgerRows)
		if cerr := l.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(o.LedgerTemplate)
			return fmt.Errorf("bench: grow ledger template: %w", err)
		}
	}
	in, err := os.Open(o.LedgerTemplate)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer in.Close()
	out, err := os.Create(filepath.Join(dir, "ledger.db"))
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("bench: copy ledger template: %w", err)
	}
	return out.Close()
}

// prefill adds the contracts to the fake and their events to the stream,
// published asynchronously and then awaited. It returns the releases of
// the downloads it held (SlowEvery).
func prefill(ctx context.Context, js jetstream.JetStream, names events.Names, fake *qystest.Server, o DispatcherOptions) ([]func(), error) {
	n, per := o.Events, o.PerContract
	status := lifecycle.Signing
	if o.Documents {
		status = lifecycle.Complete // the detail says signed: its document is queued
	}
	var contract string
	var futures []jetstream.PubAckFuture
	var releases []func()
	for i := 0; i < n; i++ {
		if i%per == 0 {
			contract = fake.AddContract(qystest.ContractSpec{
				Subject: "bench", Status: status,
				Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantCompany, TenantName: "bench"}},
			})
			if o.Documents && o.SlowEvery > 0 && (i/per)%o.SlowEvery == 0 {
				c, _ := fake.Contract(contract)
				for _, d := range c.Documents {
					releases = append(releases, fake.HoldDownload(string(d.ID)))
				}
			}
		}
		typ := fmt.Sprintf("STEP_%d", i%per)
		env := events.Envelope{
			Schema: events.SchemaCallbackV1, Tenant: "default", Kind: events.KindContract, Type: typ,
			ContractID: contract, ContractStatus: lifecycle.Signing, ReceivedAt: time.Now().UTC(), Format: "A",
			Source: events.SourceCallback, Payload: json.RawMessage(`{}`),
		}
		env.ID = events.EventID("default", events.KindContract, contract, typ, lifecycle.Signing, "")
		data, err := env.Encode()
		if err != nil {
			return releases, err
		}
		f, err := js.PublishAsync(names.CallbackSubject("default", env.Kind, typ), data, jetstream.WithMsgID(env.ID))
		if err != nil {
			return releases, fmt.Errorf("bench: prefill: %w", err)
		}
		futures = append(futures, f)
		// Await each window of acks before the next, well under the
		// client's limit of outstanding async publishes: on a busy
		// machine (every write fsynced) the prefill otherwise stalls.
		if len(futures) == prefillWindow {
			if err := awaitAcks(ctx, futures); err != nil {
				return releases, err
			}
			futures = futures[:0]
		}
	}
	return releases, awaitAcks(ctx, futures)
}

// prefillWindow is how many async publishes the prefill lets run at once.
const prefillWindow = 1024

func awaitAcks(ctx context.Context, futures []jetstream.PubAckFuture) error {
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("bench: prefill: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// waitApplied waits until the dispatcher's applied counter reaches n. It
// looks every 20 ms: a look gathers every metric of reg, the stream
// collector's JetStream API requests included, CPU the run would
// otherwise count (at 5 ms, several per cent of a long run's), and more
// of it the longer the run; 20 ms is under 1 % of a run of 2 s.
func waitApplied(ctx context.Context, reg *prometheus.Registry, n int) error {
	for {
		if applied(reg) >= float64(n) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func applied(reg *prometheus.Registry) float64 {
	return counter(reg, "qyshook_dispatcher_events_applied_total")
}

// counter sums the series of a counter in reg (0 when absent).
func counter(reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// ArchiveResult is the outcome of RunArchive.
type ArchiveResult struct {
	Size     int64
	Elapsed  time.Duration
	PeakHeap uint64 // highest HeapInuse sampled during the archive
	Before   uint64 // HeapInuse before the archive started
}

// String formats the result for a terminal.
func (r *ArchiveResult) String() string {
	return fmt.Sprintf("archive: %d MiB document streamed to the store in %v (%.0f MiB/s); peak heap in use %.1f MiB (%.1f MiB before)",
		r.Size>>20, r.Elapsed.Round(time.Millisecond), float64(r.Size)/(1<<20)/r.Elapsed.Seconds(),
		float64(r.PeakHeap)/(1<<20), float64(r.Before)/(1<<20))
}

// RunArchive has the archive stage archive one committed contract whose
// document is size bytes (default 512 MiB), generated by the in-process
// fake without being held in memory, and samples the heap meanwhile. The
// event goes through the stream like any callback (the dispatcher has no
// other way in); the figure includes the fake's own serving, the HTTP
// stack and one stream delivery.
func RunArchive(ctx context.Context, size int64, dir string) (*ArchiveResult, error) {
	if size <= 0 {
		size = 512 << 20
	}
	r, err := newRig(ctx, dir, "", DispatcherOptions{})
	if err != nil {
		return nil, err
	}
	defer r.close()
	names, ledger, fake, client, dir := r.names, r.ledger, r.fake, r.client, r.dir
	id := fake.AddContract(qystest.ContractSpec{Subject: "big", Status: lifecycle.Complete,
		Documents: []qystest.DocumentSpec{{Title: "big", Size: size}}})
	c, _ := fake.Contract(id)
	docID := string(c.Documents[0].ID)
	_ = fake.DocumentSHA256(docID) // hash once, before measuring
	// The commit the dispatcher makes: the contract, its document queued.
	if _, err := ledger.ApplyContract(ctx, store.ContractChange{
		Event: store.Event{ID: "bench-archive", Tenant: "default", Kind: events.KindContract, Type: "COMPLETE", ContractID: id},
		Contract: store.Contract{Tenant: "default", ID: id, Status: lifecycle.Complete, Confirmed: true,
			Documents: []store.Document{{ID: docID, Title: "big"}}},
		ArchiveDocuments: true,
	}); err != nil {
		return nil, err
	}
	a, err := archiver.New(archiver.Options{Ledger: ledger, Docs: docstore.New(dir), Names: names,
		APIs: map[string]archiver.API{"default": client}, PollInterval: 10 * time.Millisecond, MaxAttempts: 1})
	if err != nil {
		return nil, err
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res := &ArchiveResult{Size: size, Before: ms.HeapInuse}
	var peak atomic.Uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- a.Run(runCtx) }()
	var doc store.Document
	for doc.ArchiveState != store.ArchiveArchived && doc.ArchiveState != store.ArchiveFailed {
		select {
		case <-ctx.Done():
			stop()
			<-done
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		got, err := ledger.Contract(ctx, "default", id)
		if err != nil {
			stop()
			<-done
			return nil, err
		}
		doc = got.Documents[0]
	}
	res.Elapsed = time.Since(start)
	stop()
	<-done
	close(stopSampling)
	<-sampled
	res.PeakHeap = peak.Load()
	if doc.ArchiveState == store.ArchiveFailed {
		return nil, fmt.Errorf("bench: archive failed: %s", doc.LastError)
	}
	return res, nil
}
