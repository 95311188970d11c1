package qys_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/qys"
)

const (
	vectorKey        = "5f6db7ec8325aAGF"
	vectorCiphertext = "UoYYii0CN0bJyDcdkgf/iA=="
)

func TestDecryptKnownAnswer(t *testing.T) {
	got, err := qys.Decrypt(qys.CipherECB, vectorKey, nil, vectorCiphertext)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "testStr" {
		t.Fatalf("Decrypt = %q, want testStr", got)
	}
	enc, err := qys.Encrypt(qys.CipherECB, vectorKey, nil, []byte("testStr"))
	if err != nil {
		t.Fatal(err)
	}
	if enc != vectorCiphertext {
		t.Fatalf("Encrypt = %q, want %q", enc, vectorCiphertext)
	}
}

func TestSignKnownAnswer(t *testing.T) {
	if got := qys.SignAPI("tok", "sec", "1700000000000", "nonce-1"); got != "89f22b5de96d70a4f4d95d4c15abee51" {
		t.Errorf("SignAPI = %s", got)
	}
	if got := qys.Sign("1681907332818", vectorKey); got != "a5d4569bac86a6bd2ccdcb02fc7add3f" {
		t.Errorf("Sign = %s", got)
	}
	if got := hex.EncodeToString(qys.TokenIV("token")); got != "3c469e9d6c5875d37a43f353d4f88e61" {
		t.Errorf("TokenIV = %s", got)
	}
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	iv := []byte("0123456789abcdef")
	for _, tc := range []struct {
		name   string
		cipher qys.Cipher
		iv     []byte
	}{
		{"ECB", qys.CipherECB, nil},
		{"DefaultECB", "", nil},
		{"CBCGivenIV", qys.CipherCBC, iv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range []int{0, 1, 15, 16, 17, 100} {
				pt := bytes.Repeat([]byte("x"), n)
				enc, err := qys.Encrypt(tc.cipher, vectorKey, tc.iv, pt)
				if err != nil {
					t.Fatal(err)
				}
				got, err := qys.Decrypt(tc.cipher, vectorKey, tc.iv, enc)
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("len %d: got %q, %v", n, got, err)
				}
			}
		})
	}
	t.Run("CBCIVDiffers", func(t *testing.T) {
		a, _ := qys.Encrypt(qys.CipherCBC, vectorKey, []byte(vectorKey), []byte("{}"))
		b, _ := qys.Encrypt(qys.CipherCBC, vectorKey, iv, []byte("{}"))
		if a == b {
			t.Fatal("the IV does not change the ciphertext")
		}
	})
}

// zeroPadECB encrypts like the vendor C# sample (PaddingMode.Zeros).
func zeroPadECB(t *testing.T, key string, pt []byte) string {
	t.Helper()
	padded := append([]byte{}, pt...)
	for len(padded)%16 != 0 {
		padded = append(padded, 0)
	}
	// Encrypt pads with PKCS#7; drop the final padding block it adds when
	// the input is already block aligned.
	enc, err := qys.Encrypt(qys.CipherECB, key, nil, padded)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(enc)
	return base64.StdEncoding.EncodeToString(raw[:len(padded)])
}

func TestDecryptZeroPadding(t *testing.T) {
	for _, pt := range []string{`{"contractId":"1"}`, `{"a":"0123456789abc"}`} {
		got, err := qys.Decrypt(qys.CipherECB, vectorKey, nil, zeroPadECB(t, vectorKey, []byte(pt)))
		if err != nil || string(got) != pt {
			t.Errorf("zero padded %q: got %q, %v", pt, got, err)
		}
	}
	// Zero padding is tolerated only for JSON.
	if _, err := qys.Decrypt(qys.CipherECB, vectorKey, nil, zeroPadECB(t, vectorKey, []byte("not json"))); !errors.Is(err, qys.ErrDecrypt) {
		t.Errorf("zero-padded non-JSON: err = %v, want ErrDecrypt", err)
	}
}

func TestDecryptTolerantBase64(t *testing.T) {
	enc, _ := qys.Encrypt(qys.CipherECB, vectorKey, nil, []byte(strings.Repeat(`{"k":"v"}`, 20)))
	mangled := strings.ReplaceAll(enc[:60]+"\r\n"+enc[60:], "+", " ") // MIME line break; '+' not form-encoded
	if _, err := qys.Decrypt(qys.CipherECB, vectorKey, nil, mangled); err != nil {
		t.Fatal(err)
	}
	if _, err := qys.Decrypt(qys.CipherECB, vectorKey, nil, strings.TrimRight(vectorCiphertext, "=")); err != nil {
		t.Fatalf("unpadded base64: %v", err)
	}
}

func TestDecryptErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		cipher  qys.Cipher
		key     string
		iv      []byte
		content string
	}{
		"WrongKey":        {qys.CipherECB, "0000000000000000", nil, vectorCiphertext},
		"WrongCipher":     {qys.CipherCBC, vectorKey, nil, vectorCiphertext},
		"ShortKey":        {qys.CipherECB, "short", nil, vectorCiphertext},
		"TruncatedBase64": {qys.CipherECB, vectorKey, nil, vectorCiphertext[:10]},
		"NotBlockMultiple": {qys.CipherECB, vectorKey, nil,
			base64.StdEncoding.EncodeToString([]byte("0123456789"))},
		"Empty":        {qys.CipherECB, vectorKey, nil, ""},
		"NotBase64":    {qys.CipherECB, vectorKey, nil, "!!!!"},
		"BadIV":        {qys.CipherCBC, vectorKey, []byte("short"), vectorCiphertext},
		"CBCWithoutIV": {qys.CipherCBC, vectorKey, nil, vectorCiphertext},
		"UnknownMode":  {"AES_GCM", vectorKey, nil, vectorCiphertext},
		"TooLong":      {qys.CipherECB, vectorKey, nil, strings.Repeat("A", qys.MaxContentSize+4)},
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := qys.Decrypt(tc.cipher, tc.key, tc.iv, tc.content); !errors.Is(err, qys.ErrDecrypt) {
				t.Fatalf("Decrypt = %q, %v; want ErrDecrypt", got, err)
			}
		})
	}
}

func TestEncryptErrors(t *testing.T) {
	if _, err := qys.Encrypt(qys.CipherECB, "short", nil, nil); err == nil {
		t.Error("short key accepted")
	}
	if _, err := qys.Encrypt(qys.CipherCBC, vectorKey, []byte("short"), nil); err == nil {
		t.Error("short IV accepted")
	}
	if _, err := qys.Encrypt(qys.CipherCBC, vectorKey, nil, nil); err == nil {
		t.Error("CBC without an IV accepted (the key bytes are no documented default)")
	}
	if _, err := qys.Encrypt("AES_GCM", vectorKey, nil, nil); err == nil {
		t.Error("unknown cipher accepted")
	}
}
