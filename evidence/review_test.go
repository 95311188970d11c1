package evidence_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/evidence/evidencetest"
)

// resignManifest edits a bundle's files and its manifest, then makes the
// manifest agree with the files' hashes and re-signs it with the log's
// key: what an insider holding that key can do.
func resignManifest(t *testing.T, f *fixture, z []byte, editFiles func(names []string, files map[string][]byte) []string,
	editManifest func(*evidence.Manifest)) []byte {
	t.Helper()
	names, files := unzip(t, z)
	files = maps.Clone(files)
	names = slices.Clone(names)
	if editFiles != nil {
		names = editFiles(names, files)
	}
	var m evidence.Manifest
	if err := json.Unmarshal(files[evidence.PathManifest], &m); err != nil {
		t.Fatal(err)
	}
	if editManifest != nil {
		editManifest(&m)
	}
	for i := range m.Files {
		b := files[m.Files[i].Path]
		sum := sha256.Sum256(b)
		m.Files[i].Size, m.Files[i].SHA256, m.Files[i].SM3 = int64(len(b)), hex.EncodeToString(sum[:]), ""
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	mj = append(mj, '\n')
	sum := sha256.Sum256(mj)
	sig, err := note.Sign(&note.Note{Text: evidence.Format + "\n" + hex.EncodeToString(sum[:]) + "\n"}, f.signer)
	if err != nil {
		t.Fatal(err)
	}
	files[evidence.PathManifest], files[evidence.PathManifestSig] = mj, sig
	return rezip(t, names, files)
}

func fileOf(m *evidence.Manifest, path string) *evidence.File {
	for i := range m.Files {
		if m.Files[i].Path == path {
			return &m.Files[i]
		}
	}
	panic("no file " + path)
}

// TestInsiderManifestEdits: manifest edits re-signed with the log's key
// (bindings dropped, kinds changed, the summary's verdict, the identity)
// are each named. Each passed with the key pinned before (the reviewer's
// repros: 0 problems).
func TestInsiderManifestEdits(t *testing.T) {
	f := newFixture(t)
	z := mustWrite(t, f)
	pdf := f.c.Summary.PDFs[0].Path
	cb := "callbacks/E1.json"
	replaceFile := func(name string, edit func([]byte) []byte) func([]string, map[string][]byte) []string {
		return func(names []string, files map[string][]byte) []string {
			files[name] = edit(bytes.Clone(files[name]))
			return names
		}
	}
	cases := []struct {
		name, item string
		files      func([]string, map[string][]byte) []string
		manifest   func(*evidence.Manifest)
	}{
		{"UnboundCallback", cb, replaceFile(cb, func(b []byte) []byte { return bytes.Replace(b, []byte("COMPLETE"), []byte("REJECTED"), 1) }),
			func(m *evidence.Manifest) { fileOf(m, cb).Binding = nil }},
		{"UnknownKind", cb, nil, func(m *evidence.Manifest) { fileOf(m, cb).Kind = "zzz" }},
		{"UnknownKindEdited", cb, replaceFile(cb, func(b []byte) []byte { return bytes.Replace(b, []byte("COMPLETE"), []byte("REJECTED"), 1) }),
			func(m *evidence.Manifest) { fileOf(m, cb).Kind = "zzz" }},
		{"UnderLog", "log/E1.json", func(names []string, files map[string][]byte) []string {
			files["log/E1.json"] = []byte(`{"contractStatus":"REJECTED"}`)
			return append(names, "log/E1.json")
		}, func(m *evidence.Manifest) {
			m.Files = append(m.Files, evidence.File{Path: "log/E1.json", Kind: evidence.KindCallback})
		}},
		{"FixedFileKind", evidence.PathReport, nil, func(m *evidence.Manifest) { fileOf(m, evidence.PathReport).Kind = evidence.KindCallback }},
		{"UnboundPDFRecordedInvalid", pdf, replaceFile(pdf, func(b []byte) []byte { b[len(b)/3] ^= 1; return b }),
			func(m *evidence.Manifest) {
				fileOf(m, pdf).Binding = nil
				m.Summary.PDFs[0].Verdict = "invalid"
			}},
		{"SummaryVerdict", pdf, nil, func(m *evidence.Manifest) { m.Summary.PDFs[0].Verdict = "invalid" }},
		{"ContractID", evidence.PathManifest, nil, func(m *evidence.Manifest) { m.ContractID = "another-contract" }},
		{"Tenant", evidence.PathManifest, nil, func(m *evidence.Manifest) { m.Tenant = "another-tenant" }},
		{"State", evidence.PathManifest, nil, func(m *evidence.Manifest) { m.State = "SIGNING" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := mustVerify(t, resignManifest(t, f, z, tc.files, tc.manifest), f.pinned())
			for _, l := range problems(res) {
				if l.Item == evidence.PathManifestSig {
					t.Errorf("the re-signed manifest failed: %+v", l)
				}
				if l.Item == tc.item {
					return
				}
			}
			t.Fatalf("no failing line names %s: %+v", tc.item, problems(res))
		})
	}
}

// TestWriteRefusesIdentity: a contract row bound to an older leaf than
// the newest contract leaf the bundle carries, and an item of another
// contract, are refused by Write (and would fail Verify: the same checks).
// Both were written before.
func TestWriteRefusesIdentity(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    evidencetest.Options
		item string
	}{
		{"NewerContractLeaf", evidencetest.Options{NewerContractLeaf: true}, "rows/contract.json"},
		{"ForeignEvent", evidencetest.Options{ForeignEvent: true}, "rows/event-E9.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := evidencetest.NewWith(t, tc.o)
			err := evidence.Write(&bytes.Buffer{}, fx.Contents, fx.Signer)
			if !errors.Is(err, evidence.ErrInconsistent) || !strings.Contains(err.Error(), tc.item) {
				t.Fatalf("err = %v, want ErrInconsistent naming %s", err, tc.item)
			}
		})
	}
	// A payload of another contract without its row: nothing shows whose it is.
	fx := evidencetest.NewWith(t, evidencetest.Options{ForeignEvent: true})
	fx.Contents.Items = slices.DeleteFunc(fx.Contents.Items, func(it evidence.Item) bool { return it.Path == "rows/event-E9.json" })
	if err := evidence.Write(&bytes.Buffer{}, fx.Contents, fx.Signer); !errors.Is(err, evidence.ErrInconsistent) ||
		!strings.Contains(err.Error(), "callbacks/E9.json") {
		t.Fatalf("a foreign payload without its row: %v", err)
	}
	// Unbound evidence is refused by Write too.
	f := newFixture(t)
	f.c.Items[1].Leaf, f.c.Items[1].Field = nil, ""
	if err := evidence.Write(&bytes.Buffer{}, f.c, f.signer); !errors.Is(err, evidence.ErrInconsistent) ||
		!strings.Contains(err.Error(), f.c.Items[1].Path) {
		t.Fatalf("unbound callback: %v", err)
	}
}

// TestPinnedVerdict: a bundle forged from scratch with a fresh key is
// consistent, but the result says what was not pinned; with everything
// pinned nothing is missing. Before, nothing told them apart.
func TestPinnedVerdict(t *testing.T) {
	forged := newFixture(t) // its own key, authority and CA
	res := mustVerify(t, mustWrite(t, forged), evidence.VerifyOptions{})
	if res.Problems != 0 {
		t.Fatalf("%+v", problems(res))
	}
	if p := res.Pinned; p.LogKey || p.TSARoots || p.PDFRoots || len(p.Missing) != 3 {
		t.Fatalf("unpinned: %+v", p)
	}
	res = mustVerify(t, mustWrite(t, forged), evidence.VerifyOptions{VerifierKeys: []string{forged.VerifierKey}})
	if p := res.Pinned; !p.LogKey || len(p.Missing) != 2 {
		t.Fatalf("key pinned: %+v", p)
	}
	res = mustVerify(t, mustWrite(t, forged), forged.pinned())
	if p := res.Pinned; !p.LogKey || !p.TSARoots || !p.PDFRoots || len(p.Missing) != 0 {
		t.Fatalf("all pinned: %+v", p)
	}
}

// bombZip writes a zip whose entries each claim size bytes (in the
// manifest and the zip header) but hold a small deflated stream of zeros.
func bombZip(t *testing.T, n int, size uint64, manifestSize int64) []byte {
	t.Helper()
	var zeros bytes.Buffer
	fw, _ := flate.NewWriter(&zeros, flate.BestCompression)
	fw.Write(make([]byte, 1<<20))
	fw.Close()
	m := evidence.Manifest{Format: evidence.Format, Tenant: "t", ContractID: "c", Version: 1}
	for i := range n {
		m.Files = append(m.Files, evidence.File{Path: fmt.Sprintf("zeros/%d", i), Size: manifestSize, Kind: evidence.KindOther,
			SHA256: strings.Repeat("0", 64)})
	}
	mj, _ := json.Marshal(m)
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create(evidence.PathManifest)
	w.Write(mj)
	for i := range n {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("zeros/%d", i), Method: zip.Deflate,
			CompressedSize64: uint64(zeros.Len()), UncompressedSize64: size})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(zeros.Bytes())
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestZipBomb: an unsigned manifest listing 20 files of 2 GiB of zeros is
// refused before any is read, with a line saying why; the cap is an
// option; an entry holding more bytes than it declares is a problem.
// Before, every file was read into memory (up to 2 GiB each).
func TestZipBomb(t *testing.T) {
	res := mustVerify(t, bombZip(t, 20, 2<<30, 2<<30), evidence.VerifyOptions{})
	if len(linesFor(res, evidence.PathManifest, "more than")) != 1 {
		t.Fatalf("no line refuses the total: %+v", res.Lines)
	}
	for _, l := range res.Lines {
		if strings.HasPrefix(l.Item, "zeros/") && l.OK {
			t.Errorf("a bomb entry passed: %+v", l)
		}
	}
	// Under the cap but lying: 1 MiB of zeros in entries that declare 1 KiB.
	res = mustVerify(t, bombZip(t, 2, 1024, 1024), evidence.VerifyOptions{})
	if l := linesFor(res, "zeros/0", ""); len(l) != 1 || l[0].OK {
		t.Fatalf("a short declared size passed: %+v", res.Lines)
	}
	// The zip header and the manifest disagree.
	res = mustVerify(t, bombZip(t, 1, 1<<20, 1024), evidence.VerifyOptions{})
	if len(linesFor(res, "zeros/0", "the zip says")) != 1 {
		t.Fatalf("a size disagreement passed: %+v", res.Lines)
	}
	// The total cap is an option.
	f := newFixture(t)
	o := f.pinned()
	o.MaxTotalBytes = 1000
	res = mustVerify(t, mustWrite(t, f), o)
	if len(linesFor(res, evidence.PathManifest, "more than the 1000 bytes")) != 1 {
		t.Fatalf("the cap: %+v", problems(res))
	}
	o.MaxTotalBytes, o.MaxFileBytes = 0, 1000
	res = mustVerify(t, mustWrite(t, f), o)
	if len(linesFor(res, f.c.Summary.PDFs[0].Path, "more than the 1000 bytes")) != 1 {
		t.Fatalf("the per-file cap: %+v", problems(res))
	}
}

// TestDirectoryAndCase: a directory entry in the zip, and two names that
// differ only by case, are problems (they confuse extraction by hand);
// Write refuses such items. Before, directory entries were skipped and
// case was not compared.
func TestDirectoryAndCase(t *testing.T) {
	f := newFixture(t)
	names, files := unzip(t, mustWrite(t, f))
	check := func(t *testing.T, names []string, files map[string][]byte, item string) {
		t.Helper()
		res := mustVerify(t, rezip(t, names, files), f.pinned())
		for _, l := range problems(res) {
			if l.Item == item {
				return
			}
		}
		t.Fatalf("no failing line names %s: %+v", item, problems(res))
	}
	t.Run("Directory", func(t *testing.T) {
		files := maps.Clone(files)
		files["callbacks/"] = nil
		check(t, append([]string{"callbacks/"}, names...), files, "callbacks/")
	})
	t.Run("Case", func(t *testing.T) {
		files := maps.Clone(files)
		files["Callbacks/E1.json"] = files["callbacks/E1.json"]
		check(t, append(slices.Clone(names), "Callbacks/E1.json"), files, "Callbacks/E1.json")
	})
	t.Run("CaseInTheManifest", func(t *testing.T) {
		z := resignManifest(t, f, mustWrite(t, f), func(names []string, files map[string][]byte) []string {
			for i, n := range names {
				if n == evidence.PathReport {
					names[i] = "REPORT.html"
				}
			}
			files["REPORT.html"] = files[evidence.PathReport]
			return names
		}, func(m *evidence.Manifest) { fileOf(m, evidence.PathReport).Path = "REPORT.html" })
		res := mustVerify(t, z, f.pinned())
		if len(linesFor(res, "REPORT.html", "")) == 0 || res.Problems == 0 {
			t.Fatalf("%+v", problems(res))
		}
	})
	t.Run("Write", func(t *testing.T) {
		f := newFixture(t)
		it := f.c.Items[1]
		it.Path = "Callbacks/E1.json"
		f.c.Items = append(f.c.Items, it)
		if err := evidence.Write(&bytes.Buffer{}, f.c, f.signer); !errors.Is(err, evidence.ErrInconsistent) ||
			!strings.Contains(err.Error(), "Callbacks/E1.json") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestMaskedReportBizIDAndNotes: the viewer's report masks the business
// id and the summary's notes. Before, a phone-shaped business id showed.
func TestMaskedReportBizIDAndNotes(t *testing.T) {
	f := newFixture(t)
	f.c.Summary.BizID = "13812345678"
	f.c.Summary.Notes = append(f.c.Summary.Notes, "called back 13812345678")
	masked, err := evidence.RenderReport(f.c, func(s string) string {
		r := []rune(s)
		return string(r[:1]) + strings.Repeat("*", len(r)-1)
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(masked), "13812345678") || strings.Contains(string(masked), "12345678") {
		t.Fatalf("the masked report shows the business id")
	}
	if !strings.Contains(string(masked), "1**********") {
		t.Fatalf("the masked report lacks the masked id")
	}
}
