// Package pdfverify checks the embedded signatures of an archived PDF:
// for each signature its signer, signing time, whether its digest covers
// the bytes its ByteRange claims and whether it covers the whole file,
// and an overall verdict. It can also ask 契约锁 for its own verdict
// (辅助工具-文件验签, POST /v2/verify).
//
// Signature dictionaries are enumerated with github.com/digitorus/pdf and
// each CMS signature is checked with github.com/digitorus/pdfsign/verify;
// no PDF syntax is parsed here by hand. The verdict is about integrity:
// the certificate chain counts only when Options.Roots is set.
package pdfverify

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/verify"
	"github.com/qyshook/qyshook/qys"
)

// Verdict is the overall result of a verification.
type Verdict string

// Verdicts. NoSignatures is distinct from Invalid: an unsigned but
// readable PDF is not evidence of tampering, only of no evidence.
const (
	// Valid: at least one signature; every signature's digest matches the
	// bytes it covers; the last one covers the whole file; and, with
	// Options.Roots, every signer chains to a root.
	Valid Verdict = "valid"
	// Invalid: a digest or signature does not verify, bytes were added
	// after the last signature, a signature cannot be read, the file is not
	// a readable PDF (truncated, for example), or the platform said so.
	Invalid Verdict = "invalid"
	// NoSignatures: a readable PDF without any signature.
	NoSignatures Verdict = "no-signatures"
)

// ErrOnline wraps a failure of the online check; the offline part of the
// Result is still filled in.
var ErrOnline = errors.New("pdfverify: online check failed")

// OnlineVerifier is the platform's file verification; *qys.Client
// implements it.
type OnlineVerifier interface {
	VerifyFile(ctx context.Context, name string, r io.ReaderAt, size int64) (*qys.PlatformVerification, error)
}

// Options configure a verification. The zero value checks integrity
// offline only.
type Options struct {
	// Roots, when set, makes every signer certificate chain to one of
	// these roots (at its signing time) a condition of Valid.
	Roots *x509.CertPool
	// Online, when set, also sends the file to the platform's verification
	// and records its verdict; a negative platform verdict makes the
	// result Invalid.
	Online OnlineVerifier
	// Name is the file name sent to Online (default: the base name of the
	// path, or "document.pdf").
	Name string
	// MaxSize bounds the file size read (default 512 MiB); a larger file
	// is an error, not a verdict.
	MaxSize int64
}

// DefaultMaxSize is Options.MaxSize when zero.
const DefaultMaxSize = 512 << 20

// Signature is the result for one embedded signature, in file order.
type Signature struct {
	Signer string `json:"signer"`
	// SigningTime is the /M time of the signature dictionary (zero when
	// absent); it is the signer's claim, not a trusted timestamp.
	SigningTime time.Time `json:"signing_time,omitzero"`
	// ByteRange is the signed ranges as [offset length offset length].
	ByteRange []int64 `json:"byte_range"`
	// DigestValid: the CMS signature verifies and its message digest
	// matches the bytes ByteRange designates.
	DigestValid bool `json:"digest_valid"`
	// CoversWholeFile: ByteRange starts at 0, ends at the end of the file
	// and leaves out only the signature's /Contents string.
	CoversWholeFile bool `json:"covers_whole_file"`
	// Trusted: the signer certificate chains to Options.Roots (without
	// Roots: to the system roots, as digitorus/pdfsign/verify decides).
	Trusted bool `json:"trusted"`
	// Problem explains a failure ("" when none).
	Problem string `json:"problem,omitempty"`
}

// Online is the platform's verdict.
type Online struct {
	Valid bool            `json:"valid"`
	Raw   json.RawMessage `json:"raw,omitempty"`
	Error string          `json:"error,omitempty"`
}

// Result is the verification of one file.
type Result struct {
	Verdict    Verdict     `json:"verdict"`
	Size       int64       `json:"size"`
	Signatures []Signature `json:"signatures"`
	// Problem explains an Invalid verdict that no single signature
	// explains (unreadable file, bytes after the last signature, …).
	Problem string  `json:"problem,omitempty"`
	Online  *Online `json:"online,omitempty"`
}

// VerifyFile verifies the PDF at path. I/O failures are errors; anything
// wrong with the content is a verdict.
func VerifyFile(ctx context.Context, path string, opts Options) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pdfverify: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("pdfverify: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("pdfverify: %s is not a regular file", path)
	}
	if opts.Name == "" {
		opts.Name = filepath.Base(path)
	}
	return Verify(ctx, f, st.Size(), opts)
}

// Verify verifies size bytes of a PDF read from r.
func Verify(ctx context.Context, r io.ReaderAt, size int64, opts Options) (*Result, error) {
	if r == nil || size < 0 {
		return nil, errors.New("pdfverify: nil reader or negative size")
	}
	maxSize := opts.MaxSize
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if size > maxSize {
		return nil, fmt.Errorf("pdfverify: file of %d bytes is larger than the limit of %d", size, maxSize)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Both libraries seek around the file; a buffer keeps that cheap and
	// makes short reads visible here rather than inside them.
	buf := make([]byte, size)
	if _, err := r.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && size == 0) {
		return nil, fmt.Errorf("pdfverify: read: %w", err)
	}
	res := offline(buf, opts.Roots)
	if opts.Online != nil {
		name := opts.Name
		if name == "" {
			name = "document.pdf"
		}
		res.Online = &Online{}
		pv, err := opts.Online.VerifyFile(ctx, name, bytes.NewReader(buf), size)
		if err != nil {
			res.Online.Error = err.Error()
			return res, fmt.Errorf("%w: %w", ErrOnline, err)
		}
		res.Online.Valid, res.Online.Raw = pv.Valid, pv.Raw
		if !pv.Valid && res.Verdict == Valid {
			res.Verdict, res.Problem = Invalid, "the platform's verification says the file is not valid"
		}
	}
	return res, nil
}

// sigDict is a signature dictionary found in the file.
type sigDict struct {
	name      string
	at        time.Time
	byteRange []int64
}

func offline(b []byte, roots *x509.CertPool) *Result {
	size := int64(len(b))
	res := &Result{Size: size, Signatures: []Signature{}}
	if !endsWithEOF(b) {
		// The PDF reader would fall back to an earlier revision of a cut
		// file (and report it unsigned); a file must end its last revision.
		res.Verdict, res.Problem = Invalid, "not a complete PDF: the file does not end with %%EOF (truncated?)"
		return res
	}
	dicts, err := signatureDicts(b)
	if err != nil {
		res.Verdict, res.Problem = Invalid, "not a readable PDF: "+err.Error()
		return res
	}
	if len(dicts) == 0 {
		res.Verdict = NoSignatures
		return res
	}
	resp, verr := verifyCMS(b)
	var signers []verify.Signer
	if verr == nil && resp != nil {
		signers = resp.Signers
	}
	used := make([]bool, len(signers))
	res.Verdict = Valid
	for _, d := range dicts {
		s := Signature{Signer: d.name, SigningTime: d.at, ByteRange: d.byteRange}
		s.CoversWholeFile = coversWhole(b, d.byteRange)
		if i := match(signers, used, d); i >= 0 {
			used[i] = true
			lib := signers[i]
			s.DigestValid = lib.ValidSignature
			s.Trusted = lib.TrustedIssuer
			if roots != nil {
				s.Trusted = chains(lib, roots, d.at)
			}
			if !s.DigestValid {
				s.Problem = "the signature or its digest does not match the signed bytes"
			} else if roots != nil && !s.Trusted {
				s.Problem = "the signer certificate does not chain to a trusted root"
			}
		} else {
			s.Problem = "the signature cannot be read (CMS not parsable)"
			if verr != nil {
				s.Problem += ": " + verr.Error()
			}
		}
		if s.Problem != "" {
			res.Verdict = Invalid
		}
		res.Signatures = append(res.Signatures, s)
	}
	if last := res.Signatures[len(res.Signatures)-1]; !last.CoversWholeFile && res.Verdict == Valid {
		res.Verdict, res.Problem = Invalid, "the file has bytes that no signature covers (changed or appended after signing)"
	}
	return res
}

// endsWithEOF reports whether the file's last line is %%EOF (trailing
// end-of-line characters, spaces and NULs allowed).
func endsWithEOF(b []byte) bool {
	return bytes.HasSuffix(bytes.TrimRight(b, "\r\n \t\x00"), []byte("%%EOF"))
}

// signatureDicts lists the signature dictionaries (Filter Adobe.PPKLite)
// in xref order, as pdfsign/verify walks them. The PDF reader panics on
// some malformed input; that is an unreadable file.
func signatureDicts(b []byte) (out []sigDict, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("malformed: %v", r)
		}
	}()
	rdr, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	for _, x := range rdr.Xref() {
		v := rdr.Resolve(x.Ptr(), x.Ptr())
		if v.Key("Filter").Name() != "Adobe.PPKLite" {
			continue
		}
		d := sigDict{name: v.Key("Name").Text()}
		if m := v.Key("M"); !m.IsNull() {
			d.at, _ = parsePDFDate(m.Text())
		}
		br := v.Key("ByteRange")
		for i := 0; i < br.Len(); i++ {
			d.byteRange = append(d.byteRange, br.Index(i).Int64())
		}
		out = append(out, d)
	}
	return out, nil
}

func verifyCMS(b []byte) (resp *verify.Response, err error) {
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, fmt.Errorf("verify: %v", r)
		}
	}()
	opts := verify.DefaultVerifyOptions()
	return verify.VerifyWithOptions(bytes.NewReader(b), int64(len(b)), opts)
}

// match finds the library's result for a signature dictionary: same name
// and signing time, first unused.
func match(signers []verify.Signer, used []bool, d sigDict) int {
	for i, s := range signers {
		if used[i] || s.Name != d.name {
			continue
		}
		if s.SignatureTime != nil && !d.at.IsZero() && !s.SignatureTime.Equal(d.at) {
			continue
		}
		return i
	}
	return -1
}

// coversWhole reports whether a ByteRange [0 a b c] covers the file
// except exactly one hex string (the /Contents value).
func coversWhole(b []byte, br []int64) bool {
	size := int64(len(b))
	if len(br) != 4 || br[0] != 0 || br[1] <= 0 || br[2] <= br[1] || br[3] < 0 || br[2]+br[3] != size {
		return false
	}
	holeStart, holeEnd := br[1], br[2] // [holeStart, holeEnd) is excluded
	if holeEnd-holeStart < 2 || b[holeStart] != '<' || b[holeEnd-1] != '>' {
		return false
	}
	for _, c := range b[holeStart+1 : holeEnd-1] {
		if !isHex(c) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// chains verifies the signer certificates against roots at the signing
// time (now when unknown): one non-CA certificate must chain.
func chains(s verify.Signer, roots *x509.CertPool, at time.Time) bool {
	inter := x509.NewCertPool()
	for _, c := range s.Certificates {
		if c.Certificate != nil && c.Certificate.IsCA {
			inter.AddCert(c.Certificate)
		}
	}
	if at.IsZero() {
		at = time.Now()
	}
	for _, c := range s.Certificates {
		if c.Certificate == nil || c.Certificate.IsCA {
			continue
		}
		_, err := c.Certificate.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
			CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err == nil {
			return true
		}
	}
	return false
}

// parsePDFDate parses a PDF date string, D:YYYYMMDDHHmmSS+HH'mm' and its
// shortened forms.
func parsePDFDate(s string) (time.Time, error) {
	if len(s) >= 2 && s[:2] == "D:" {
		s = s[2:]
	}
	for _, layout := range []string{"20060102150405-07'00'", "20060102150405-07'00", "20060102150405Z07'00'",
		"20060102150405Z", "20060102150405-0700", "20060102150405", "200601021504", "20060102"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unknown PDF date %q", s)
}
