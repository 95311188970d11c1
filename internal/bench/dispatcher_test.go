package bench_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/bench"
	"github.com/qyshook/qyshook/internal/testdb"
)

func TestRunDispatcherSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbs := []string{"sqlite"}
	if dsn := testdb.PostgresDSN(); dsn != "" {
		dbs = append(dbs, dsn)
	}
	for _, db := range dbs {
		res, err := bench.RunDispatcher(ctx, bench.DispatcherOptions{DB: db, Events: 400, PerContract: 4})
		if err != nil {
			t.Fatal(err)
		}
		if res.Events != 400 || res.Contracts != 100 || res.PerSec <= 0 {
			t.Fatalf("result: %s", res)
		}
		// Coalescing: never more detail fetches than events, usually far fewer.
		if res.DetailCalls > res.Events || res.DetailCalls < res.Contracts {
			t.Fatalf("detail fetches %d for %d contracts and %d events", res.DetailCalls, res.Contracts, res.Events)
		}
		t.Log(res)
	}
}

func TestRunArchiveSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := bench.RunArchive(ctx, 8<<20, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != 8<<20 || res.PeakHeap == 0 {
		t.Fatalf("result: %s", res)
	}
	t.Log(res)
}

// TestReportDispatcher prints the full-size figures (QYSHOOK_BENCH=1).
func TestReportDispatcher(t *testing.T) {
	if os.Getenv("QYSHOOK_BENCH") == "" {
		t.Skip("set QYSHOOK_BENCH=1 to run the full dispatcher benchmark")
	}
	ctx := context.Background()
	dbs := []string{"sqlite"}
	if dsn := testdb.PostgresDSN(); dsn != "" {
		dbs = append(dbs, dsn)
	}
	for _, db := range dbs {
		res, err := bench.RunDispatcher(ctx, bench.DispatcherOptions{DB: db})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(res)
	}
	res, err := bench.RunArchive(ctx, 512<<20, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
}
