package webhook

import (
	"testing"
	"time"
)

// BenchmarkSign compares the package's Headers (a fresh HMAC and key
// decode per call) with a Sender's signer (cached key, pooled HMAC) on a
// fact-sized body.
func BenchmarkSign(b *testing.B) {
	secret, _ := NewSecret()
	body := make([]byte, 400)
	at := time.Unix(1700000000, 0)
	b.Run("Headers", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Headers([]string{secret}, "f1", at, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("signer", func(b *testing.B) {
		b.ReportAllocs()
		var s signer
		for b.Loop() {
			if _, err := s.signatures([]string{secret}, "f1", at.Unix(), body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
