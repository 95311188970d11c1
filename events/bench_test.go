package events_test

import "testing"

// BenchmarkEnvelopeEncode encodes the envelope of a contract callback as
// the receiver stores it.
func BenchmarkEnvelopeEncode(b *testing.B) {
	env := sampleEnvelope()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}
