package qys

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// MaxContentSize bounds the Base64 text that Decrypt (and Verify) accept:
// 8 MiB. Callbacks are small; anything larger is refused before decoding.
const MaxContentSize = 8 << 20

// Encrypt encrypts plaintext as a callback `content`: Base64 of AES with
// PKCS#7 padding, in ECB, or CBC with iv. key is used as UTF-8 bytes and
// must be 16 bytes long (AES-128; 24 or 32 bytes select AES-192/256). An
// empty cipher means CipherECB. CipherCBC needs iv (16 bytes): no public
// source gives the platform's IV, so there is no default.
func Encrypt(c Cipher, key string, iv []byte, plaintext []byte) (string, error) {
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		return "", fmt.Errorf("qys: encrypt: %w", err)
	}
	buf := pkcs7Pad(plaintext, aes.BlockSize)
	switch c {
	case CipherECB, "":
		for i := 0; i < len(buf); i += aes.BlockSize {
			block.Encrypt(buf[i:i+aes.BlockSize], buf[i:i+aes.BlockSize])
		}
	case CipherCBC:
		iv, err = cbcIV(key, iv)
		if err != nil {
			return "", fmt.Errorf("qys: encrypt: %w", err)
		}
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	default:
		return "", fmt.Errorf("qys: encrypt: unknown cipher %q", c)
	}
	return base64.StdEncoding.EncodeToString(buf), nil
}

// Decrypt reverses Encrypt: it decodes Base64 (standard alphabet, padded
// or not; line breaks are ignored and spaces read as '+', since a '+' that
// was not form-encoded arrives as a space), decrypts, and strips PKCS#7
// padding strictly. A plaintext that was zero-padded instead (the vendor
// C# sample uses PaddingMode.Zeros) is accepted when, without its trailing
// NUL bytes, it is valid JSON. Every error wraps ErrDecrypt.
func Decrypt(c Cipher, key string, iv []byte, content string) ([]byte, error) {
	if len(content) > MaxContentSize {
		return nil, fmt.Errorf("%w: content longer than %d bytes", ErrDecrypt, MaxContentSize)
	}
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	buf, err := decodeBase64(content)
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %w", ErrDecrypt, err)
	}
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: ciphertext of %d bytes is not a whole number of blocks", ErrDecrypt, len(buf))
	}
	switch c {
	case CipherECB, "":
		for i := 0; i < len(buf); i += aes.BlockSize {
			block.Decrypt(buf[i:i+aes.BlockSize], buf[i:i+aes.BlockSize])
		}
	case CipherCBC:
		iv, err = cbcIV(key, iv)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDecrypt, err)
		}
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(buf, buf)
	default:
		return nil, fmt.Errorf("%w: unknown cipher %q", ErrDecrypt, c)
	}
	if out, ok := pkcs7Unpad(buf, aes.BlockSize); ok {
		return out, nil
	}
	if trimmed := bytes.TrimRight(buf, "\x00"); len(trimmed) > 0 && json.Valid(trimmed) {
		return trimmed, nil
	}
	return nil, fmt.Errorf("%w: bad padding (wrong key or cipher?)", ErrDecrypt)
}

// TokenIV is format B's IV: the first 16 bytes of SHA-256(token).
func TokenIV(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:aes.BlockSize]
}

// cbcIV returns iv, which must be 16 bytes. There is no default IV (the
// key bytes were one once; no public source supports it).
func cbcIV(_ string, iv []byte) ([]byte, error) {
	if len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("cbc iv must be %d bytes, got %d", aes.BlockSize, len(iv))
	}
	return iv, nil
}

var base64Cleaner = strings.NewReplacer("\r", "", "\n", "", "\t", "", " ", "+")

func decodeBase64(s string) ([]byte, error) {
	s = base64Cleaner.Replace(s)
	if strings.HasSuffix(s, "=") || len(s)%4 == 0 {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func pkcs7Pad(b []byte, size int) []byte {
	n := size - len(b)%size
	out := make([]byte, len(b), len(b)+n)
	copy(out, b)
	return append(out, bytes.Repeat([]byte{byte(n)}, n)...)
}

func pkcs7Unpad(b []byte, size int) ([]byte, bool) {
	if len(b) == 0 || len(b)%size != 0 {
		return nil, false
	}
	n := int(b[len(b)-1])
	if n == 0 || n > size || n > len(b) {
		return nil, false
	}
	for _, p := range b[len(b)-n:] {
		if int(p) != n {
			return nil, false
		}
	}
	return b[:len(b)-n], true
}
