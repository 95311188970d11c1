package evidence_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/evidence"
)

// TestWriteRefusesInconsistentContents: each way contents can disagree
// with themselves is refused with ErrInconsistent, naming the item, and
// nothing is written.
func TestWriteRefusesInconsistentContents(t *testing.T) {
	base := newFixture(t)
	other, err := checkpoint.New(checkpoint.Options{Origin: origin, KeyFile: filepath.Join(t.TempDir(), "k"), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	item := func(c *evidence.Contents, prefix string) *evidence.Item {
		for i := range c.Items {
			if strings.HasPrefix(c.Items[i].Path, prefix) {
				return &c.Items[i]
			}
		}
		t.Fatalf("no item %s", prefix)
		return nil
	}
	pdfPath := base.c.Summary.PDFs[0].Path
	cases := []struct {
		name   string
		modify func(c *evidence.Contents, f *fixture)
		want   string // in the error
	}{
		{"ItemNotItsLeafsHash", func(c *evidence.Contents, _ *fixture) {
			item(c, "callbacks/").Data = []byte(`{"edited":true}`)
		}, "callbacks/E1.json: sha256"},
		{"RowEdited", func(c *evidence.Contents, _ *fixture) {
			it := item(c, "rows/contract")
			it.Data = bytes.Replace(it.Data, []byte("COMPLETE"), []byte("SIGNING"), 1)
		}, "rows/contract.json: sha256"},
		{"UnknownField", func(c *evidence.Contents, _ *fixture) { item(c, "callbacks/").Field = "size" }, `callbacks/E1.json: bound to field "size"`},
		{"LeafNotInLeaves", func(c *evidence.Contents, _ *fixture) { i := int64(3); item(c, "callbacks/").Leaf = &i }, "callbacks/E1.json: bound to leaf 3"},
		{"ProofDoesNotVerify", func(c *evidence.Contents, _ *fixture) {
			p := append(c.Leaves[0].Proof[:0:0], c.Leaves[0].Proof...)
			p[0][0] ^= 1
			c.Leaves[0].Proof = p
		}, "log/leaves.json: leaf 5"},
		{"LeafNotCanonical", func(c *evidence.Contents, _ *fixture) {
			c.Leaves[3].Bytes = append([]byte(" "), c.Leaves[3].Bytes...)
		}, "log/leaves.json: leaf 0"},
		{"LeafTwice", func(c *evidence.Contents, _ *fixture) { c.Leaves = append(c.Leaves, c.Leaves[0]) }, "leaf 5 is listed twice"},
		{"DuplicatePath", func(c *evidence.Contents, _ *fixture) { c.Items = append(c.Items, c.Items[1]) }, "callbacks/E1.json: two items"},
		{"DotDot", func(c *evidence.Contents, _ *fixture) { item(c, "items/").Path = "../etc/passwd" }, "../etc/passwd: path has"},
		{"Absolute", func(c *evidence.Contents, _ *fixture) { item(c, "items/").Path = "/abs" }, "/abs: path starts with /"},
		{"EmptyElement", func(c *evidence.Contents, _ *fixture) { item(c, "items/").Path = "a//b" }, "a//b: path has"},
		{"Backslash", func(c *evidence.Contents, _ *fixture) { item(c, "items/").Path = `a\b` }, `a\b: path has a backslash`},
		{"Reserved", func(c *evidence.Contents, _ *fixture) { item(c, "items/").Path = "log/leaves.json" }, "log/leaves.json: a path the bundle itself uses"},
		{"ReservedManifest", func(c *evidence.Contents, _ *fixture) { item(c, "items/").Path = "manifest.json" }, "manifest.json: a path the bundle itself uses"},
		{"UnknownKind", func(c *evidence.Contents, _ *fixture) { item(c, "items/").Kind = "secret" }, `items/NOTARY.json: unknown kind "secret"`},
		{"BothBindings", func(c *evidence.Contents, _ *fixture) {
			it := item(c, "documents/"+c.Summary.PDFs[0].DocumentID+".validation")
			i := int64(5)
			it.Leaf, it.Field = &i, evidence.FieldSHA256
		}, ".validation.json: bound both"},
		{"RowNotAnItem", func(c *evidence.Contents, _ *fixture) {
			item(c, "documents/"+c.Summary.PDFs[0].DocumentID+".validation").Row = "rows/none.json"
		}, "bound to row rows/none.json"},
		{"ColumnNotNamed", func(c *evidence.Contents, _ *fixture) {
			item(c, "documents/"+c.Summary.PDFs[0].DocumentID+".validation").Column = "nope"
		}, `bound to column "nope"`},
		{"ColumnNotTheHash", func(c *evidence.Contents, _ *fixture) {
			item(c, "documents/"+c.Summary.PDFs[0].DocumentID+".validation").Column = "sha256"
		}, "is not column sha256"},
		{"RowWithoutColumn", func(c *evidence.Contents, _ *fixture) {
			item(c, "documents/"+c.Summary.PDFs[0].DocumentID+".validation").Column = ""
		}, "a row binding needs both"},
		{"ColumnsMiscounted", func(c *evidence.Contents, _ *fixture) {
			it := item(c, "rows/event")
			it.Columns = it.Columns[1:]
		}, "rows/event-E1.json: 8 columns named for a row of 9"},
		{"RowNotRowContent", func(c *evidence.Contents, _ *fixture) { item(c, "items/").Kind = evidence.KindRow }, "items/NOTARY.json: not row content"},
		{"CheckpointOfAnotherKey", func(c *evidence.Contents, _ *fixture) { c.VerifierKey = other.VerifierKey() }, "log/checkpoint.txt: the checkpoint does not verify"},
		{"CheckpointEdited", func(c *evidence.Contents, _ *fixture) {
			c.Checkpoint = bytes.Replace(c.Checkpoint, []byte("\n15\n"), []byte("\n16\n"), 1)
		}, "log/checkpoint.txt: the checkpoint does not verify"},
		{"StampOverOtherData", func(c *evidence.Contents, f *fixture) {
			c.Stamps = []checkpoint.StoredStamp{f.Stamp(t, []byte("another note\n"))}
		}, "log/stamps/0.tsr: the time-stamp does not verify over the checkpoint"},
		{"StampCertsNotCerts", func(c *evidence.Contents, _ *fixture) {
			c.Stamps = []checkpoint.StoredStamp{{URL: c.Stamps[0].URL, Token: c.Stamps[0].Token, Certs: [][]byte{[]byte("x")}}}
		}, "log/stamps/0.tsr: its certificates"},
		{"SignerNotTheLogsKey", func(c *evidence.Contents, f *fixture) { f.signer = other.Signer() }, "manifest.sig: the signer is not the log's verifier key"},
		{"PDFTampered", func(c *evidence.Contents, _ *fixture) {
			it := item(c, pdfPath)
			it.Data = bytes.Clone(it.Data)
			it.Data[len(it.Data)/2] ^= 1
			it.Leaf, it.Field = nil, ""
		}, pdfPath + ": PDF invalid"},
		{"ValidationEdited", func(c *evidence.Contents, _ *fixture) {
			it := item(c, "documents/"+c.Summary.PDFs[0].DocumentID+".validation")
			it.Data = bytes.Replace(it.Data, []byte(`"status":"good"`), []byte(`"status":"revoked"`), 1)
			it.Row, it.Column = "", ""
		}, ".validation.json: the verification material does not re-show"},
		{"NoTenant", func(c *evidence.Contents, _ *fixture) { c.Tenant = "" }, "no tenant"},
		{"VersionZero", func(c *evidence.Contents, _ *fixture) { c.Version = 0 }, "version 0"},
		{"NoteOfTwoLines", func(c *evidence.Contents, _ *fixture) { item(c, "items/").Note = "a\nb" }, "items/NOTARY.json: a note is one line"},
	}
	for _, tc := range cases {
		if tc.want == "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			f := *base
			f.c = cloneContents(base.c)
			tc.modify(&f.c, &f)
			var out bytes.Buffer
			err := evidence.Write(&out, f.c, f.signer)
			if !errors.Is(err, evidence.ErrInconsistent) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant ErrInconsistent naming %q", err, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("%d bytes written", out.Len())
			}
		})
	}
}

// cloneContents copies what the cases modify.
func cloneContents(c evidence.Contents) evidence.Contents {
	c.Items = append([]evidence.Item(nil), c.Items...)
	c.Leaves = append([]evidence.Leaf(nil), c.Leaves...)
	c.Stamps = append([]checkpoint.StoredStamp(nil), c.Stamps...)
	return c
}
