package qys_test

import (
	"testing"

	"github.com/qyshook/qyshook/qys"
)

// BenchmarkVerify verifies one signed, encrypted format-A contract
// callback (the receiver's hot path) and, for comparison, a format-B one
// and a plain unsigned format-A certification callback.
func BenchmarkVerify(b *testing.B) {
	cases := []struct {
		name     string
		verifier qys.VerifierConfig
		sender   qys.SenderConfig
		kind     qys.Kind
		payload  string
	}{
		{"A/encrypted/contract",
			qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{secretA}},
			qys.SenderConfig{Format: qys.FormatA, Secret: secretA, Encrypt: true, Cipher: qys.CipherECB},
			qys.KindContract, contractPayload},
		{"B/contract",
			qys.VerifierConfig{Format: qys.FormatB, Secrets: []string{secretA}, Token: tokenB},
			qys.SenderConfig{Format: qys.FormatB, Secret: secretA, Token: tokenB},
			qys.KindContract, `{"callbackType":"CONTRACT_SEAL",` + contractPayload[1:]},
		{"A/plain-unsigned/auth.personal",
			qys.VerifierConfig{Format: qys.FormatA, Secrets: []string{secretA}},
			qys.SenderConfig{Format: qys.FormatA, Unsigned: true},
			qys.KindAuthPersonal, `{"authId":"a-1","status":"1","mode":"FACE","name":"张三"}`},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			v := MustVerifier(b, c.verifier)
			req := MustRequest(b, c.sender, c.payload, now)
			if _, err := v.Verify(c.kind, req); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(req.Body)))
			for b.Loop() {
				if _, err := v.Verify(c.kind, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
