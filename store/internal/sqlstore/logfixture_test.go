package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
	"github.com/qyshook/qyshook/store/postgres"
	"github.com/qyshook/qyshook/store/sqlite"
)

// sqlDB is the sqlstore.DB under a ledger of either kind.
func sqlDB(tb testing.TB, l store.Ledger) *sqlstore.DB {
	tb.Helper()
	switch x := l.(type) {
	case *sqlite.DB:
		return x.DB
	case *postgres.DB:
		return x.DB
	}
	tb.Fatalf("ledger %T is not a SQL ledger", l)
	return nil
}

// logFixture is a generated ledger with a receipt log and an archive.
type logFixture struct {
	l       store.Ledger
	db      *sqlstore.DB
	dataDir string
	files   []string // archived files, relative to dataDir
}

// newLogFixture writes contracts (one change at a time and in batches)
// with signatories, documents and facts, certifications, notices,
// archived files, audit rows and dead letters, then lets retention delete
// some events and a dead letter.
func newLogFixture(t *testing.T, kind testdb.Kind, contracts int) *logFixture {
	t.Helper()
	ctx := context.Background()
	l := testdb.Open(t, kind)
	f := &logFixture{l: l, db: sqlDB(t, l), dataDir: t.TempDir()}
	base := time.Now().UTC().Add(-400 * 24 * time.Hour).Truncate(time.Second)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
	step := 0
	change := func(c int, status string, signed int) store.ContractChange {
		step++
		cid := fmt.Sprintf("C%03d", c)
		sigs := []store.Signatory{{ID: cid + "-a", TenantType: "COMPANY", TenantName: "甲公司 " + cid, Status: "SIGNED", SerialNo: 1}}
		if signed > 0 {
			sigs = append(sigs, store.Signatory{ID: cid + "-b", TenantType: "PERSONAL", TenantName: "乙 " + cid, Status: "SIGNED", SerialNo: 2})
		}
		payload := fmt.Sprintf(`{"contractId":%q,"status":%q,"step":%d}`, cid, status, step)
		return store.ContractChange{
			Event: store.Event{ID: fmt.Sprintf("ev-%03d-%d", c, step), Tenant: "default", Kind: "contract", Type: status,
				ContractID: cid, Source: "callback", ReceivedAt: at(step), AppliedAt: at(step), Payload: []byte(payload), StreamSeq: uint64(step)},
			Contract: store.Contract{Tenant: "default", ID: cid, BizID: "biz-" + cid, Subject: "合同 " + cid, Status: status,
				Confirmed: status == "COMPLETE", UpdatedAt: at(step), Detail: []byte(payload), Signatories: sigs,
				Documents: []store.Document{{ID: cid + "-d1", Title: "正文 " + cid}}},
			Facts: []store.Fact{{ID: fmt.Sprintf("fact-%03d-%d", c, step), Subject: "qys.ledger.default.contract." + status,
				Tenant: "default", ContractID: cid, Payload: []byte(payload)}},
		}
	}
	for c := 0; c < contracts; c++ {
		if c%2 == 0 {
			if _, err := l.ApplyContract(ctx, change(c, "SIGNING", 0)); err != nil {
				t.Fatal(err)
			}
			if _, err := l.ApplyContract(ctx, change(c, "COMPLETE", 1)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, _, err := l.ApplyContracts(ctx, []store.ContractChange{change(c, "SIGNING", 0), change(c, "COMPLETE", 1)}); err != nil {
			t.Fatal(err)
		}
	}
	for c := 0; c < contracts; c += 2 {
		body := []byte(fmt.Sprintf("%%PDF-1.7 contract C%03d signed\n%s", c, string(make([]byte, 64+c))))
		sum := sha256.Sum256(body)
		hexSum := hex.EncodeToString(sum[:])
		rel := "documents/" + hexSum[:2] + "/" + hexSum + ".pdf"
		if err := os.MkdirAll(filepath.Join(f.dataDir, filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(f.dataDir, rel), body, 0o644); err != nil {
			t.Fatal(err)
		}
		cid := fmt.Sprintf("C%03d", c)
		fetched := at(step + c)
		doc := store.Document{ID: cid + "-d1", ContractID: cid, Title: "正文 " + cid, SHA256: hexSum, Size: int64(len(body)),
			Path: rel, FetchedAt: &fetched}
		facts := []store.Fact{{ID: "archived-" + cid, Subject: "qys.ledger.default.document.archived", Tenant: "default",
			ContractID: cid, Payload: []byte(`{"document":"` + cid + `-d1"}`)}}
		if _, err := l.ArchiveDocument(ctx, "default", doc, facts); err != nil {
			t.Fatal(err)
		}
		f.files = append(f.files, rel)
	}
	for i := 0; i < 4; i++ {
		step++
		ev := store.Event{ID: fmt.Sprintf("auth-%d", i), Tenant: "default", Kind: "auth.personal", Type: "PERSONAL_AUTH",
			Source: "callback", ReceivedAt: at(step), AppliedAt: at(step), Payload: []byte(fmt.Sprintf(`{"requestId":"r%d"}`, i))}
		c := store.Certification{Tenant: "default", RequestID: fmt.Sprintf("r%d", i), Kind: "personal", Status: "1",
			Success: i%2 == 0, Name: fmt.Sprintf("人%d", i), Detail: ev.Payload, UpdatedAt: at(step)}
		if err := l.ApplyCertification(ctx, ev, c); err != nil {
			t.Fatal(err)
		}
	}
	al := l.(store.AdminLog)
	for i := 0; i < 4; i++ {
		if _, err := al.AddAudit(ctx, store.AuditEntry{At: at(step + i), Who: "admin:ab12", Action: "POST /api/v1/replay",
			Selector: []byte(fmt.Sprintf(`{"n":%d}`, i)), Count: int64(i), Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	var dl []int64
	for i := 0; i < 3; i++ {
		id, err := l.AddDeadLetter(ctx, store.DeadLetter{EventID: fmt.Sprintf("bad-%d", i), Tenant: "default",
			Consumer: "qyshook_ledger", Subject: "qys.callback.x", StreamSeq: uint64(1000 + i), Reason: "unparsable",
			Deliveries: 1, Payload: []byte(fmt.Sprintf("junk %d", i)), CreatedAt: at(step + i)})
		if err != nil {
			t.Fatal(err)
		}
		dl = append(dl, id)
	}
	if err := l.DeleteDeadLetter(ctx, dl[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := l.(store.Retention).PruneEvents(ctx, at(step+100), 5); err != nil {
		t.Fatal(err)
	}
	return f
}

// verify runs VerifyLog and returns its problems.
func (f *logFixture) verify(t testing.TB) ([]store.LogProblem, store.LogVerifySummary) {
	t.Helper()
	var ps []store.LogProblem
	sum, err := f.db.VerifyLog(context.Background(), store.LogVerifyOptions{DataDir: f.dataDir, PageSize: 7},
		func(p store.LogProblem) { ps = append(ps, p) })
	if err != nil {
		t.Fatal(err)
	}
	return ps, sum
}
