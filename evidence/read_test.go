package evidence_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/evidence"
)

// TestRead: a bundle reads back to the contents it was written from (the
// report rendered from either is the same); a file changed in the zip, or
// bytes that are no zip, are errors.
func TestRead(t *testing.T) {
	f := newFixture(t)
	z := mustWrite(t, f)
	got, err := evidence.Read(context.Background(), bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != len(f.c.Items) || got.ContractID != f.c.ContractID || !bytes.Equal(got.Checkpoint, f.c.Checkpoint) ||
		len(got.Stamps) != len(f.c.Stamps) || !reflect.DeepEqual(got.Summary, f.c.Summary) {
		t.Fatalf("read back %d items, contract %q, %d stamps; wrote %d, %q, %d", len(got.Items), got.ContractID, len(got.Stamps),
			len(f.c.Items), f.c.ContractID, len(f.c.Stamps))
	}
	want, err := evidence.RenderReport(f.c, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := evidence.RenderReport(got, nil)
	if err != nil || !bytes.Equal(again, want) {
		t.Fatalf("the report from the read contents differs (%v)", err)
	}
	if _, err := evidence.Read(context.Background(), strings.NewReader("not a zip"), 9); !errors.Is(err, evidence.ErrNotBundle) {
		t.Fatalf("read of no zip = %v, want ErrNotBundle", err)
	}
	// Flip a byte of the first stored file's data (stored, not deflated,
	// or the zip's own CRC would catch it first: either way an error).
	bad := bytes.Clone(z)
	i := bytes.Index(bad, f.c.Items[0].Data)
	if i < 0 {
		t.Skip("the first item is compressed in the zip")
	}
	bad[i] ^= 1
	if _, err := evidence.Read(context.Background(), bytes.NewReader(bad), int64(len(bad))); err == nil {
		t.Fatal("a changed file read without error")
	}
}
