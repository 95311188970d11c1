package qys_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
)

func TestBuildCallbackRoundTrip(t *testing.T) {
	iv := []byte("fedcba9876543210")
	for name, tc := range map[string]struct {
		sender   qys.SenderConfig
		verifier qys.VerifierConfig
	}{
		"A/Plain":       {qys.SenderConfig{Secret: secretA}, qys.VerifierConfig{Secrets: []string{secretA}, AllowPlain: true}},
		"A/PlainUnsign": {qys.SenderConfig{Unsigned: true}, qys.VerifierConfig{Secrets: []string{secretA}, AllowUnsigned: true}},
		"A/ECB":         {qys.SenderConfig{Secret: secretA, Encrypt: true}, qys.VerifierConfig{Secrets: []string{secretA}}},
		"A/CBCWithIV": {qys.SenderConfig{Secret: secretA, Encrypt: true, Cipher: qys.CipherCBC, IV: iv},
			qys.VerifierConfig{Secrets: []string{secretA}, Cipher: qys.CipherCBC, IV: iv}},
		"B/None": {qys.SenderConfig{Format: qys.FormatB, Secret: secretB, Token: tokenB},
			qys.VerifierConfig{Format: qys.FormatB, Secrets: []string{secretB}, Token: tokenB}},
		"B/MD5": {qys.SenderConfig{Format: qys.FormatB, Secret: secretB, Token: tokenB},
			qys.VerifierConfig{Format: qys.FormatB, Secrets: []string{secretB}, Token: tokenB, SignatureB: qys.SignatureMD5}},
	} {
		t.Run(name, func(t *testing.T) {
			ts := now.Add(-time.Second)
			out, err := qys.BuildCallback(tc.sender, []byte(contractPayload), ts)
			if err != nil {
				t.Fatal(err)
			}
			cb, err := MustVerifier(t, tc.verifier).Verify(qys.KindContract, qys.RawRequest{ContentType: out.ContentType, Body: out.Body})
			if err != nil {
				t.Fatal(err)
			}
			if cb.ContractID != "3121362688614077231" || cb.CallbackType != "SEAL" {
				t.Fatalf("callback %+v", cb)
			}
			if !tc.sender.Unsigned && !cb.Timestamp.Equal(ts.Truncate(time.Millisecond)) {
				t.Fatalf("timestamp %v", cb.Timestamp)
			}
		})
	}
}

func TestBuildCallbackWire(t *testing.T) {
	ts := time.UnixMilli(1681907332818)
	out, err := qys.BuildCallback(qys.SenderConfig{Secret: secretA, Encrypt: true}, []byte(`{"a":"b"}`), ts)
	if err != nil {
		t.Fatal(err)
	}
	form, err := url.ParseQuery(string(out.Body))
	if err != nil || out.ContentType != "application/x-www-form-urlencoded" || len(form) != 3 ||
		form.Get("timestamp") != "1681907332818" || form.Get("signature") != "a5d4569bac86a6bd2ccdcb02fc7add3f" {
		t.Fatalf("format A: %s %s", out.ContentType, out.Body)
	}
	if pt, err := qys.Decrypt(qys.CipherECB, secretA, nil, form.Get("content")); err != nil || string(pt) != `{"a":"b"}` {
		t.Fatalf("content: %q %v", pt, err)
	}

	out, err = qys.BuildCallback(qys.SenderConfig{Format: qys.FormatB, Secret: secretB + "xyz", Token: tokenB}, []byte(`{"a":"b"}`), ts)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Signature string `json:"signature"`
		Timestamp int64  `json:"timestamp"`
		Nonce     string `json:"nonce"`
		Encrypted string `json:"encrypted"`
	}
	if err := json.Unmarshal(out.Body, &env); err != nil || out.ContentType != "application/json" ||
		env.Timestamp != 1681907332818 || env.Nonce == "" || env.Signature != qys.Sign("1681907332818", secretB+"xyz") {
		t.Fatalf("format B: %s", out.Body)
	}
	if pt, err := qys.Decrypt(qys.CipherCBC, secretB, qys.TokenIV(tokenB), env.Encrypted); err != nil || string(pt) != `{"a":"b"}` {
		t.Fatalf("encrypted: %q %v", pt, err)
	}
}

func TestBuildCallbackErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg     qys.SenderConfig
		payload string
	}{
		"NotObject":      {qys.SenderConfig{Secret: secretA}, `[1]`},
		"NotJSON":        {qys.SenderConfig{Secret: secretA}, `{`},
		"SignedNoSecret": {qys.SenderConfig{}, `{}`},
		"ShortKey":       {qys.SenderConfig{Secret: "short", Encrypt: true}, `{}`},
		"BNoToken":       {qys.SenderConfig{Format: qys.FormatB, Secret: secretB}, `{}`},
		"BShortSecret":   {qys.SenderConfig{Format: qys.FormatB, Secret: "short", Token: tokenB}, `{}`},
		"UnknownFormat":  {qys.SenderConfig{Format: "C", Secret: secretA}, `{}`},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := qys.BuildCallback(tc.cfg, []byte(tc.payload), now); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
