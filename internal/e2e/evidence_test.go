package e2e_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/e2e"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

// TestEvidenceStage: a contract completes → a bundle appears under
// evidence/, anchored, and evidence.Verify finds no problem in it (the
// verifier key pinned from the data dir); a void after completion → version
// 2, version 1 kept; a rejected contract whose row was edited by hand
// (while the checkpoints waited for their time-stamp) → no bundle, and
// qyshook_evidence_bundles_total{outcome="refused"} counts it.
func TestEvidenceStage(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) { testEvidenceStage(t, kind) })
	}
}

func testEvidenceStage(t *testing.T, kind testdb.Kind) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	resp, err := tsatest.New(tsatest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tsaSrv := httptest.NewServer(resp)
	defer tsaSrv.Close()
	defer resp.SetFault(tsatest.FaultNone)
	s := newStack(t, testdb.URL(t, kind))
	s.env["QYSHOOK_TSA_URLS"] = tsaSrv.URL
	s.env["QYSHOOK_TSA_TIMEOUT"] = "1s"
	s.env["QYSHOOK_LOG_CHECKPOINT_INTERVAL"] = "1s"
	s.env["QYSHOOK_EVIDENCE_INTERVAL"] = "1s"
	addr := s.run(t, app.Roles{Receiver: true, Dispatcher: true})
	base := "http://" + addr + "/callbacks/default"
	s.fake.SetCallbackTarget(qystest.CallbackTarget{
		ContractURL: base + "/contract",
		Sender:      qys.SenderConfig{Format: qys.FormatA, Secret: s.secret, Encrypt: true},
	})
	spec := qystest.ContractSpec{Subject: "证据包", Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "赵六"}}}
	signed, rejected := s.fake.AddContract(spec), s.fake.AddContract(spec)
	for _, err := range []error{s.fake.Send(signed), s.fake.Send(rejected)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	l := testdb.OpenURL(t, s.dbURL)
	// Confirmed SIGNING first, so the contract has three confirmed states
	// (SIGNING, COMPLETE, INVALIDED) whose answers the last bundle carries.
	if err := e2e.Eventually(ctx, time.Minute, func() string {
		c, err := l.Contract(ctx, "default", signed)
		if err != nil || c.Status != "SIGNING" || !c.Confirmed || len(c.Detail) == 0 {
			return fmt.Sprintf("signing contract: %+v, %v", c, err)
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.fake.Sign(signed, 0); err != nil {
		t.Fatal(err)
	}
	es := l.(store.EvidenceStore)
	v1 := waitBundle(ctx, t, es, signed, 1)
	if v1.State != "COMPLETE" || v1.Items < 4 {
		t.Fatalf("bundle v1 = %+v", v1)
	}
	key, err := os.ReadFile(filepath.Join(s.dataDir, "log", "checkpoint.key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	res := verifyBundle(t, filepath.Join(s.dataDir, v1.Path), strings.TrimSpace(string(key)))
	kinds := map[string]int{}
	for _, it := range res.Manifest.Files {
		kinds[it.Kind]++
	}
	if kinds[evidence.KindDocument] == 0 || kinds[evidence.KindCallback] == 0 || kinds[evidence.KindAPIAnswer] != 2 ||
		kinds[evidence.KindOplog] != 1 {
		t.Fatalf("bundle items by kind %v: want the PDF, the callbacks, the SIGNING and COMPLETE detail answers and the operation log", kinds)
	}
	if len(res.Manifest.Stamps) == 0 {
		t.Fatal("bundle v1 is not anchored: no time-stamp over its checkpoint")
	}

	// The authority hangs: checkpoints wait for their stamp, and so does
	// the rejected contract's bundle; its row is edited by hand meanwhile.
	resp.SetFault(tsatest.FaultHang)
	if err := s.fake.Reject(rejected, 0); err != nil {
		t.Fatal(err)
	}
	if err := e2e.Eventually(ctx, time.Minute, func() string {
		c, err := l.Contract(ctx, "default", rejected)
		if err != nil || c.Status != "REJECTED" || !c.Confirmed {
			return fmt.Sprintf("rejected contract: %+v, %v", c, err)
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	editByHand(ctx, t, s.dbURL, rejected)
	resp.SetFault(tsatest.FaultNone)

	// A void after completion: version 2, version 1 kept.
	if err := s.fake.Invalidate(signed); err != nil {
		t.Fatal(err)
	}
	v2 := waitBundle(ctx, t, es, signed, 2)
	if v2.State != "INVALIDED" || v2.ContractLeaf <= v1.ContractLeaf {
		t.Fatalf("bundle v2 = %+v after v1 %+v", v2, v1)
	}
	res = verifyBundle(t, filepath.Join(s.dataDir, v2.Path), strings.TrimSpace(string(key)))
	var answers []string
	for _, it := range res.Manifest.Files {
		if it.Kind == evidence.KindAPIAnswer {
			answers = append(answers, it.Path)
		}
	}
	if len(answers) != 3 {
		t.Fatalf("bundle v2 answers %v: want the three that confirmed SIGNING, COMPLETE and INVALIDED", answers)
	}
	if _, err := os.Stat(filepath.Join(s.dataDir, v1.Path)); err != nil {
		t.Fatalf("v1 gone after v2: %v", err)
	}
	if all, err := es.Bundles(ctx, "default", signed); err != nil || len(all) != 2 {
		t.Fatalf("bundles = %+v, %v", all, err)
	}

	// The edited contract: refused, counted, no bundle.
	if err := e2e.Eventually(ctx, time.Minute, func() string {
		if n := metricValue(t, "http://"+addr+"/metrics", `qyshook_evidence_bundles_total{outcome="refused"}`); n < 1 {
			return fmt.Sprintf("refused = %v", n)
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	if b, err := es.Bundles(ctx, "default", rejected); err != nil || len(b) != 0 {
		t.Fatalf("the edited contract got bundles %+v (%v)", b, err)
	}
}

func waitBundle(ctx context.Context, t *testing.T, es store.EvidenceStore, id string, version int) *store.Bundle {
	t.Helper()
	var got *store.Bundle
	if err := e2e.Eventually(ctx, 2*time.Minute, func() string {
		b, err := es.Bundle(ctx, "default", id, version)
		if err != nil {
			return fmt.Sprintf("bundle v%d of %s: %v", version, id, err)
		}
		got = b
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// verifyBundle checks a bundle with evidence.Verify, the log's key pinned,
// and wants no problem.
func verifyBundle(t *testing.T, path, key string) *evidence.Result {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := evidence.Verify(context.Background(), bytes.NewReader(b), int64(len(b)), evidence.VerifyOptions{VerifierKeys: []string{key}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Problems != 0 {
		for _, l := range res.Lines {
			if !l.OK {
				t.Errorf("%s: %s", l.Item, l.What)
			}
		}
		t.Fatalf("%s: %d problems", path, res.Problems)
	}
	return res
}

// metricValue reads one sample of the Prometheus text at url (0 when absent).
func metricValue(t *testing.T, url, sample string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return 0
}

// editByHand changes a contract's subject in SQL, behind qyshook's back.
func editByHand(ctx context.Context, t *testing.T, dbURL, id string) {
	t.Helper()
	driver, dsn, query := "pgx", dbURL, `UPDATE contracts SET subject = 'edited by hand' WHERE id = $1`
	if path, ok := strings.CutPrefix(dbURL, "sqlite://"); ok {
		driver, dsn, query = "sqlite", path+"?_pragma=busy_timeout(10000)", `UPDATE contracts SET subject = 'edited by hand' WHERE id = ?`
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.ExecContext(ctx, query, id)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("hand edit changed %d rows", n)
	}
}
