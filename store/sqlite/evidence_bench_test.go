package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/sqlite"
)

// BenchmarkEvidenceDue10k: EvidenceDue over 10,000 COMPLETE contracts,
// each with its bundle (none due), and 100 more due: what every evidence
// pass reads (go test -run '^$' -bench EvidenceDue ./store/sqlite).
func BenchmarkEvidenceDue10k(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "ledger.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const n, due = 10000, 100
	chs := make([]store.ContractChange, 0, 500)
	flush := func() {
		if _, _, err := db.ApplyContracts(ctx, chs); err != nil {
			b.Fatal(err)
		}
		chs = chs[:0]
	}
	for i := range n + due {
		id := fmt.Sprintf("c%06d", i)
		chs = append(chs, store.ContractChange{
			Event: store.Event{ID: "e" + id, Tenant: "default", Kind: "contract", Type: "COMPLETE", ContractID: id, Source: "callback",
				ReceivedAt: time.Now(), Payload: json.RawMessage(`{}`)},
			Contract: store.Contract{Tenant: "default", ID: id, Status: "COMPLETE", Confirmed: true, Detail: json.RawMessage(`{}`)},
		})
		if len(chs) == cap(chs) {
			flush()
		}
	}
	flush()
	first, err := db.EvidenceDue(ctx, n+due)
	if err != nil || len(first) != n+due {
		b.Fatalf("due = %d, %v", len(first), err)
	}
	for _, d := range first[:n] {
		if err := db.SaveBundle(ctx, store.Bundle{Tenant: d.Tenant, ContractID: d.ID, Version: 1, State: d.Status,
			ContractLeaf: d.ContractLeaf, SHA256: strings.Repeat("0", 64), Path: "evidence/x.zip"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		got, err := db.EvidenceDue(ctx, 100)
		if err != nil || len(got) != due {
			b.Fatalf("due = %d, %v", len(got), err)
		}
	}
}
