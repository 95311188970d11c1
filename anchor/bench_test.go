package anchor_test

import (
	"context"
	"testing"
	"time"

	"github.com/qyshook/qyshook/anchor"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

// BenchmarkCatchUp: the backlog an authority outage leaves (b.N
// checkpoints signed while it was down), stamped once it is back; ns/op
// is per checkpoint (sign while down excluded).
func BenchmarkCatchUp(b *testing.B) {
	for _, kind := range testdb.Kinds() {
		b.Run(string(kind), func(b *testing.B) {
			f := newFixture(b, kind, func(o *anchor.Options) { o.RetryMin, o.RetryMax = time.Millisecond, time.Millisecond })
			ctx := context.Background()
			f.tsa.SetFault(tsatest.Fault500)
			for i := 0; i < b.N; i++ {
				if err := f.log.Append([]byte{byte(i), byte(i >> 8), byte(i >> 16)}); err != nil {
					b.Fatal(err)
				}
				if _, _, err := f.a.Request(ctx); err != nil {
					b.Fatal(err)
				}
			}
			f.tsa.SetFault(tsatest.FaultNone)
			b.ResetTimer()
			runCtx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- f.a.Run(runCtx) }()
			for {
				st, err := f.cps.CheckpointStats(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if st.Unanchored == 0 {
					break
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			cancel()
			<-done
		})
	}
}
