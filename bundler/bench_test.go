package bundler

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
)

// BenchmarkPass: one pass building the bundles of 200 ended contracts
// (one event, one fact, no documents) on SQLite; ns/op is per bundle
// (go test -run '^$' -bench Pass ./bundler).
func BenchmarkPass(b *testing.B) {
	const n = 200
	var built int
	var spent time.Duration
	for i := range b.N {
		b.StopTimer()
		l := testdb.Open(b, testdb.SQLite)
		for j := range n {
			applyEndedTB(b, l, fmt.Sprintf("c%d-%04d", i, j), "COMPLETE")
		}
		keys := signHeadTB(b, l, time.Now())
		bl, err := New(Options{Ledger: l.(Ledger), DataDir: b.TempDir(), Signer: keys.Signer(), VerifierKey: keys.VerifierKey(), Batch: n})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		r, err := bl.Pass(context.Background())
		spent += time.Since(start)
		if err != nil || r.Built != n {
			b.Fatalf("pass = %+v, %v", r, err)
		}
		built += r.Built
	}
	b.ReportMetric(float64(spent.Nanoseconds())/float64(built), "ns/bundle")
}
