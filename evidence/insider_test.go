package evidence_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/qyshook/qyshook/evidence"
)

// resign replaces a file of a bundle and re-signs a manifest that agrees
// with it, as someone holding the log's key could: what is left to catch
// the change are the checks below the manifest.
func resign(t *testing.T, f *fixture, z []byte, name string, edit func([]byte) []byte) []byte {
	t.Helper()
	names, files := unzip(t, z)
	files = maps.Clone(files)
	files[name] = edit(bytes.Clone(files[name]))
	var m evidence.Manifest
	if err := json.Unmarshal(files[evidence.PathManifest], &m); err != nil {
		t.Fatal(err)
	}
	for i := range m.Files {
		if m.Files[i].Path == name {
			sum := sha256.Sum256(files[name])
			m.Files[i].Size, m.Files[i].SHA256, m.Files[i].SM3 = int64(len(files[name])), hex.EncodeToString(sum[:]), ""
		}
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

// TestInsiderEditsCaught: with the manifest re-signed by the log's own key
// to agree with an edited file, the deeper checks still name the file:
// bindings to leaves and rows, the leaves' proofs and header, the
// checkpoint's signature, the stamp's imprint, the PDF's signatures, the
// re-shown OCSP/CRL answers.
func TestInsiderEditsCaught(t *testing.T) {
	f := newFixture(t)
	z := mustWrite(t, f)
	pdf := f.c.Summary.PDFs[0].Path
	validation := "documents/" + f.c.Summary.PDFs[0].DocumentID + ".validation.json"
	replace := func(old, new string) func([]byte) []byte {
		return func(b []byte) []byte {
			out := bytes.Replace(b, []byte(old), []byte(new), 1)
			if bytes.Equal(out, b) {
				t.Fatalf("%q not found", old)
			}
			return out
		}
	}
	cases := []struct {
		name, file string
		edit       func([]byte) []byte
	}{
		{"Callback", "callbacks/E1.json", replace("COMPLETE", "REJECTED")},
		{"DetailAnswer", "api/detail-COMPLETE.json", replace("COMPLETE", "RECALLED")},
		{"Row", "rows/contract.json", replace("COMPLETE", "SIGNING")},
		{"LeavesHeader", evidence.PathLeaves, replace(`"tree_size": 15`, `"tree_size": 16`)},
		{"LeafBytes", evidence.PathLeaves, replace(`\"kind\":\"event\"`, `\"kind\":\"fact\"`)},
		{"Proof", evidence.PathLeaves, func(b []byte) []byte {
			i := bytes.Index(b, []byte(`"proof": [`)) + len(`"proof": [`) + 6
			b[i] ^= 'A' ^ 'B'
			return b
		}},
		{"Checkpoint", evidence.PathCheckpoint, replace("\n15\n", "\n14\n")},
		{"Stamp", "log/stamps/0.tsr", func([]byte) []byte { return f.Stamp(t, []byte("another note\n")).Token }},
		{"PDF", pdf, func(b []byte) []byte { b[len(b)/3] ^= 1; return b }},
		{"Validation", validation, replace(`"status":"good"`, `"status":"unknown"`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := mustVerify(t, resign(t, f, z, tc.file, tc.edit), f.pinned())
			for _, l := range problems(res) {
				if l.Item == evidence.PathManifest || l.Item == evidence.PathManifestSig {
					t.Errorf("the re-signed manifest failed: %+v", l)
				}
				if l.Item == tc.file {
					return
				}
			}
			t.Fatalf("no failing line names %s: %+v", tc.file, problems(res))
		})
	}
}
