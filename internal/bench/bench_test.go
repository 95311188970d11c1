package bench_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/bench"
)

func TestRunReceiverSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := bench.RunReceiver(ctx, bench.BenchOptions{Concurrency: 8, Count: 300})
	if err != nil {
		t.Fatal(err)
	}
	if res.Callbacks != 300 || res.Errors != 0 || res.Stored != 300 || res.NoopPerSec <= 0 || res.P99 <= 0 {
		t.Fatalf("result: %s", res)
	}
	if !strings.Contains(res.String(), "callbacks/s") {
		t.Fatalf("String() = %q", res.String())
	}
	t.Log(res)
}

func TestRunReceiverDuration(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := bench.RunReceiver(ctx, bench.BenchOptions{Concurrency: 4, Duration: 300 * time.Millisecond, SkipNoop: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Callbacks == 0 || res.Errors != 0 || uint64(res.Callbacks) != res.Stored {
		t.Fatalf("result: %s", res)
	}
}

func TestRunReceiverRejectsBadSecret(t *testing.T) {
	if _, err := bench.RunReceiver(context.Background(), bench.BenchOptions{Secret: "short"}); err == nil {
		t.Fatal("want error")
	}
}

// TestReport runs the full benchmark when QYSHOOK_BENCH=1:
//
//	QYSHOOK_BENCH=1 go test -run TestReport -v ./internal/bench/
func TestReport(t *testing.T) {
	if os.Getenv("QYSHOOK_BENCH") != "1" {
		t.Skip("set QYSHOOK_BENCH=1 to run the full benchmark")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := bench.RunReceiver(ctx, bench.BenchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + res.String())
}
