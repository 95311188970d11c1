package evidence_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/evidence/evidencetest"
)

// TestRoundTrip: a bundle built from real parts verifies with every key
// and root pinned: no problem, and a line for every file.
func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	z := mustWrite(t, f)
	res := mustVerify(t, z, f.pinned())
	if res.Problems != 0 {
		t.Fatalf("%d problems: %+v", res.Problems, problems(res))
	}
	for _, l := range res.Lines {
		t.Logf("%s: %s", l.Item, l.What)
	}
}

// lineFor returns the lines about item whose text contains what.
func linesFor(res *evidence.Result, item, what string) []evidence.Line {
	var out []evidence.Line
	for _, l := range res.Lines {
		if l.Item == item && strings.Contains(l.What, what) {
			out = append(out, l)
		}
	}
	return out
}

// TestVerifyUnpinned: with nothing pinned the bundle's own key and roots
// stand in, and the lines say so.
func TestVerifyUnpinned(t *testing.T) {
	f := newFixture(t)
	res := mustVerify(t, mustWrite(t, f), evidence.VerifyOptions{})
	if res.Problems != 0 {
		t.Fatalf("%+v", problems(res))
	}
	for _, item := range []string{evidence.PathManifestSig, evidence.PathCheckpoint, "log/stamps/0.tsr"} {
		if len(linesFor(res, item, "not pinned")) == 0 {
			t.Errorf("no line says %s is not pinned", item)
		}
	}
	if len(linesFor(res, f.c.Summary.PDFs[0].Path, "not checked against a root")) == 0 {
		t.Errorf("the PDF line does not say its signers' trust was not checked")
	}
	if res.Manifest.ContractID != f.c.ContractID || len(res.Manifest.Files) != 15 {
		t.Errorf("manifest %+v", res.Manifest)
	}
}

// TestVerifyAgainstOtherPins: another log key, another TSA root, another
// PDF root each fail the lines of what they vouch for.
func TestVerifyAgainstOtherPins(t *testing.T) {
	f := newFixture(t)
	z := mustWrite(t, f)
	g := newFixture(t) // another key, authority and CA
	cases := []struct {
		name  string
		o     evidence.VerifyOptions
		items []string
	}{
		{"OtherLogKey", evidence.VerifyOptions{VerifierKeys: []string{g.VerifierKey}, TSARoots: f.TSARoots, PDFRoots: f.PDFRoots},
			[]string{evidence.PathManifestSig, evidence.PathCheckpoint, evidence.PathLeaves}},
		{"OtherTSARoot", evidence.VerifyOptions{VerifierKeys: []string{f.VerifierKey}, TSARoots: g.TSARoots, PDFRoots: f.PDFRoots},
			[]string{"log/stamps/0.tsr"}},
		{"OtherPDFRoot", evidence.VerifyOptions{VerifierKeys: []string{f.VerifierKey}, TSARoots: f.TSARoots, PDFRoots: g.PDFRoots},
			[]string{f.c.Summary.PDFs[0].Path}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := mustVerify(t, z, tc.o)
			bad := map[string]bool{}
			for _, l := range problems(res) {
				bad[l.Item] = true
			}
			for _, it := range tc.items {
				if !bad[it] {
					t.Errorf("no failing line for %s: %+v", it, problems(res))
				}
			}
		})
	}
}

// TestVerifyZipContainer: a file the manifest does not list, a listed file
// missing, a name twice, an unsafe name: each a failing line naming it;
// bytes that are not a zip: ErrNotBundle.
func TestVerifyZipContainer(t *testing.T) {
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
	t.Run("Unlisted", func(t *testing.T) {
		files := maps.Clone(files)
		files["extra.txt"] = []byte("hello")
		check(t, append(slices.Clone(names), "extra.txt"), files, "extra.txt")
	})
	t.Run("Missing", func(t *testing.T) {
		check(t, slices.DeleteFunc(slices.Clone(names), func(s string) bool { return s == "callbacks/E1.json" }), files, "callbacks/E1.json")
	})
	t.Run("Twice", func(t *testing.T) {
		check(t, append(slices.Clone(names), "callbacks/E1.json"), files, "callbacks/E1.json")
	})
	t.Run("Unsafe", func(t *testing.T) {
		files := maps.Clone(files)
		files["../evil"] = []byte("x")
		check(t, append(slices.Clone(names), "../evil"), files, "../evil")
	})
	t.Run("NoManifest", func(t *testing.T) {
		check(t, slices.DeleteFunc(slices.Clone(names), func(s string) bool { return s == evidence.PathManifest }), files, evidence.PathManifest)
	})
	t.Run("NotAZip", func(t *testing.T) {
		_, err := evidence.Verify(context.Background(), bytes.NewReader([]byte("PK not really")), 13, evidence.VerifyOptions{})
		if !errors.Is(err, evidence.ErrNotBundle) {
			t.Fatalf("err = %v, want ErrNotBundle", err)
		}
	})
}

// TestTamperedDownloadRecorded: a PDF that was invalid when archived (a
// tampered download, a document_invalid discrepancy) is evidence too: with
// its verdict recorded it is written, and verifies as recorded.
func TestTamperedDownloadRecorded(t *testing.T) {
	fx := evidencetest.NewWith(t, evidencetest.Options{TamperedPDF: true})
	f := &fixture{Fixture: fx, c: fx.Contents, signer: fx.Signer}
	p := f.c.Summary.PDFs[0]
	res := mustVerify(t, mustWrite(t, f), f.pinned())
	lines := linesFor(res, p.Path, "recorded discrepancy")
	if res.Problems != 0 || len(lines) != 1 || !strings.Contains(lines[0].What, "PDF invalid") ||
		!slices.Equal(res.RecordedInvalid, []string{p.Path}) {
		t.Fatalf("%+v", res)
	}
	// Without its discrepancy, the same PDF is a problem.
	f.c.Summary.Discrepancies = nil
	if err := evidence.Write(&bytes.Buffer{}, f.c, f.signer); !errors.Is(err, evidence.ErrInconsistent) {
		t.Fatalf("no discrepancy recorded: %v", err)
	}
}

// TestUnsignedPDF: a readable PDF without any signature, recorded so, is
// written and verifies, its line saying so; a summary recording it valid
// is a problem. (Found by the e2e test: the first version of the
// recorded-verdict rule refused it.)
func TestUnsignedPDF(t *testing.T) {
	fx := evidencetest.NewWith(t, evidencetest.Options{UnsignedPDF: true})
	f := &fixture{Fixture: fx, c: fx.Contents, signer: fx.Signer}
	p := f.c.Summary.PDFs[0].Path
	z := mustWrite(t, f)
	res := mustVerify(t, z, f.pinned())
	if res.Problems != 0 || len(linesFor(res, p, "without any signature")) != 1 || len(res.RecordedInvalid) != 0 {
		t.Fatalf("%+v", res.Lines)
	}
	res = mustVerify(t, resignManifest(t, f, z, nil, func(m *evidence.Manifest) { m.Summary.PDFs[0].Verdict = "valid" }), f.pinned())
	if l := linesFor(res, p, "the summary records"); len(l) != 1 || l[0].OK {
		t.Fatalf("%+v", problems(res))
	}
}

// TestReport: the report is escaped, self-contained (no script, no
// external resource), bilingual, and masked when asked.
func TestReport(t *testing.T) {
	f := newFixture(t)
	_, files := unzip(t, mustWrite(t, f))
	html := string(files[evidence.PathReport])
	for _, want := range []string{"证据包", "Evidence bundle", "采购合同 &lt;b&gt;&amp;", "甲公司", "log/stamps/0.tsr",
		"not legal advice", "不构成法律意见", "存证报告 refused by the platform"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "<b>&", " src=", " href=", "<link", "@import", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("report holds %q", bad)
		}
	}
	masked, err := evidence.RenderReport(f.c, func(s string) string {
		r := []rune(s)
		if len(r) < 2 {
			return "*"
		}
		return string(r[:1]) + strings.Repeat("*", len(r)-1)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"甲公司", "乙公司", "采购合同", "发起方有限公司"} {
		if strings.Contains(string(masked), gone) {
			t.Errorf("masked report shows %q", gone)
		}
	}
	if !strings.Contains(string(masked), "甲**") {
		t.Errorf("masked report lacks the masked name")
	}
	again, _ := evidence.RenderReport(f.c, nil)
	if string(again) != html {
		t.Errorf("the report does not render the same twice")
	}
}

// FuzzVerify: arbitrary bytes never panic Verify; what is not a zip is
// ErrNotBundle, anything else a Result whose problems name files.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	z := mustWrite(f, fx)
	f.Add(z)
	names, files := unzip(f, z)
	f.Add(rezip(f, names, files))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	o := fx.pinned()
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := evidence.Verify(context.Background(), bytes.NewReader(b), int64(len(b)), o)
		if err != nil {
			if !errors.Is(err, evidence.ErrNotBundle) || res != nil {
				t.Fatalf("err %v, res %v", err, res)
			}
			return
		}
		n := 0
		for _, l := range res.Lines {
			if !l.OK {
				n++
			}
			if l.Item == "" || l.What == "" {
				t.Fatalf("a line without item or text: %+v", l)
			}
		}
		if n != res.Problems {
			t.Fatalf("%d failing lines, Problems %d", n, res.Problems)
		}
	})
}

// FuzzVerifyFile: one file of a sound zip replaced by arbitrary bytes
// (the manifest, the leaves, a token…): never a panic, always a failing
// line naming that file unless the bytes are the original.
func FuzzVerifyFile(f *testing.F) {
	fx := newFixture(f)
	names, files := unzip(f, mustWrite(f, fx))
	for i, n := range names {
		f.Add(uint8(i), files[n])
	}
	f.Add(uint8(0), []byte(`{"format":"qyshook.evidence.v1","files":[{"path":"x","binding":{"row":"x","column":"c"}}],"stamps":[{"token":"log/stamps/9.tsr","certs":"manifest.json"}]}`))
	o := fx.pinned()
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		name := names[int(which)%len(names)]
		if bytes.Equal(b, files[name]) {
			return
		}
		changed := maps.Clone(files)
		changed[name] = b
		res := mustVerify(t, rezip(t, names, changed), o)
		for _, l := range problems(res) {
			if l.Item == name {
				return
			}
		}
		t.Fatalf("%s replaced: no failing line names it: %+v", name, problems(res))
	})
}

// TestManifestEditOfTheKeysHash: an edit of manifest.json that changes
// the recorded hash of log/verifier.key, checked unpinned, is named on
// manifest.json (the bundle's key is still read to check manifest.sig).
// Found by TestFlips (seed 1796670934328699255): it failed before.
func TestManifestEditOfTheKeysHash(t *testing.T) {
	f := newFixture(t)
	names, files := unzip(t, mustWrite(t, f))
	var m evidence.Manifest
	if err := json.Unmarshal(files[evidence.PathManifest], &m); err != nil {
		t.Fatal(err)
	}
	for _, file := range m.Files {
		if file.Path == evidence.PathVerifierKey {
			files = maps.Clone(files)
			files[evidence.PathManifest] = bytes.Replace(files[evidence.PathManifest], []byte(file.SHA256),
				[]byte(strings.Repeat("0", 64)), 1)
		}
	}
	res := mustVerify(t, rezip(t, names, files), evidence.VerifyOptions{})
	for _, l := range problems(res) {
		if l.Item == evidence.PathManifest {
			return
		}
	}
	t.Fatalf("no failing line names manifest.json: %+v", problems(res))
}

// TestUnanchored: a bundle whose checkpoint has no time-stamp is written
// and verifies, and a line says it is not anchored.
func TestUnanchored(t *testing.T) {
	f := newFixture(t)
	f.c.Stamps = nil
	res := mustVerify(t, mustWrite(t, f), f.pinned())
	if res.Problems != 0 || len(linesFor(res, evidence.PathCheckpoint, "not anchored")) != 1 || len(res.Manifest.Stamps) != 0 {
		t.Fatalf("%+v", res.Lines)
	}
}

// TestOpenRendersTheSameReport: a bundle read back with Open holds the
// contents it was written from, and renders the same report.html (so the
// admin API can serve a masked one from a stored bundle); a changed file
// is refused by name.
func TestOpenRendersTheSameReport(t *testing.T) {
	f := newFixture(t)
	z := mustWrite(t, f)
	c, err := evidence.Open(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Items) != len(f.c.Items) || len(c.Leaves) != len(f.c.Leaves) || c.VerifierKey != f.VerifierKey ||
		!c.BuiltAt.Equal(f.c.BuiltAt) || c.Summary.Subject != f.c.Summary.Subject {
		t.Fatalf("opened %+v", c)
	}
	html, err := evidence.RenderReport(*c, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, files := unzip(t, z)
	if !bytes.Equal(html, files[evidence.PathReport]) {
		t.Errorf("the report rendered from the opened bundle differs from report.html")
	}
	var again bytes.Buffer
	if err := evidence.Write(&again, *c, f.signer); err != nil || !bytes.Equal(again.Bytes(), z) {
		t.Errorf("rewriting the opened contents: %v, same bytes %v", err, bytes.Equal(again.Bytes(), z))
	}
	bad := flipIn(t, z, "callbacks/E1.json")
	if _, err := evidence.Open(bytes.NewReader(bad), int64(len(bad))); err == nil || !strings.Contains(err.Error(), "callbacks/E1.json") {
		t.Fatalf("a changed callback: %v", err)
	}
}

func flipIn(t *testing.T, z []byte, name string) []byte {
	t.Helper()
	names, files := unzip(t, z)
	files = maps.Clone(files)
	b := bytes.Clone(files[name])
	b[0] ^= 1
	files[name] = b
	return rezip(t, names, files)
}
