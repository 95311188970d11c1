package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
)

// BenchmarkApplyContractsLog times ApplyContracts batches of 64 changes
// (each with its event, signatories, a document and a fact), with the
// receipt log and without it: the cost of the log per commit.
func BenchmarkApplyContractsLog(b *testing.B) {
	for _, kind := range testdb.Kinds() {
		for _, withLog := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/log=%v", kind, withLog), func(b *testing.B) {
				ctx := context.Background()
				l := testdb.Open(b, kind)
				if !withLog {
					sqlstore.WithoutLog(sqlDB(b, l))
				}
				base := time.Now().UTC()
				n := 0
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					chs := make([]store.ContractChange, 64)
					for j := range chs {
						n++
						cid := fmt.Sprintf("C%d", n/2)
						st := []string{"SIGNING", "COMPLETE"}[n%2]
						payload := []byte(fmt.Sprintf(`{"contractId":%q,"status":%q}`, cid, st))
						chs[j] = store.ContractChange{
							Event: store.Event{ID: fmt.Sprintf("ev-%d", n), Tenant: "default", Kind: "contract", Type: st,
								ContractID: cid, Source: "callback", ReceivedAt: base, Payload: payload, StreamSeq: uint64(n)},
							Contract: store.Contract{Tenant: "default", ID: cid, Subject: "合同", Status: st, Confirmed: true,
								UpdatedAt: base.Add(time.Duration(n) * time.Millisecond), Detail: payload,
								Signatories: []store.Signatory{{ID: cid + "-a", TenantName: "甲", Status: st, SerialNo: 1}},
								Documents:   []store.Document{{ID: cid + "-d", Title: "正文"}}},
							Facts: []store.Fact{{ID: fmt.Sprintf("f-%d", n), Subject: "qys.ledger.default.contract." + st,
								Tenant: "default", ContractID: cid, Payload: payload}},
						}
					}
					if _, _, err := l.ApplyContracts(ctx, chs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "changes/s")
			})
		}
	}
}

// TestFillLargeLog grows a ledger for measuring `qyshook verify --log` on
// a large log: QYSHOOK_LOG_FILL=URL,CHANGES applies CHANGES contract
// changes (about four leaves each: event, contract, document, fact) to
// the ledger at URL (sqlite://path or a postgres:// URL with its
// search_path). Skipped without it.
func TestFillLargeLog(t *testing.T) {
	spec := os.Getenv("QYSHOOK_LOG_FILL")
	if spec == "" {
		t.Skip("QYSHOOK_LOG_FILL not set")
	}
	u, nStr, ok := strings.Cut(spec, ",")
	n, err := strconv.Atoi(nStr)
	if !ok || err != nil || n <= 0 {
		t.Fatalf("QYSHOOK_LOG_FILL=%q: want URL,CHANGES", spec)
	}
	l := testdb.OpenURL(t, u)
	ctx := context.Background()
	base := time.Now().UTC().Add(-time.Hour)
	run := strconv.FormatInt(time.Now().UnixNano(), 36) // ids of its own: filling again adds
	for done := 0; done < n; {
		chs := make([]store.ContractChange, 0, 500)
		for ; len(chs) < 500 && done < n; done++ {
			cid := fmt.Sprintf("%s-C%d", run, done/2)
			st := []string{"SIGNING", "COMPLETE"}[done%2]
			payload := []byte(fmt.Sprintf(`{"contractId":%q,"status":%q}`, cid, st))
			chs = append(chs, store.ContractChange{
				Event: store.Event{ID: fmt.Sprintf("%s-ev-%d", run, done), Tenant: "default", Kind: "contract", Type: st,
					ContractID: cid, Source: "callback", ReceivedAt: base, Payload: payload, StreamSeq: uint64(done + 1)},
				Contract: store.Contract{Tenant: "default", ID: cid, Subject: "合同", Status: st, Confirmed: true,
					UpdatedAt: base.Add(time.Duration(done) * time.Millisecond), Detail: payload,
					Signatories: []store.Signatory{{ID: cid + "-a", TenantName: "甲", Status: st, SerialNo: 1}},
					Documents:   []store.Document{{ID: cid + "-d", Title: "正文"}}},
				Facts: []store.Fact{{ID: fmt.Sprintf("%s-f-%d", run, done), Subject: "qys.ledger.default.contract." + st,
					Tenant: "default", ContractID: cid, Payload: payload}},
			})
		}
		if _, _, err := l.ApplyContracts(ctx, chs); err != nil {
			t.Fatal(err)
		}
	}
	head, err := l.(store.ReceiptLog).LogHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d changes applied; the log has %d leaves", n, head.N)
}
