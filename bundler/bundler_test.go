package bundler

import (
	"testing"

	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/store"
)

func TestNewRefusesMissingParts(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without ledger, data dir and signer succeeded")
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"3012345678": "3012345678", "a/b": "a_b", "..": "_..", "": "_", "c1.item.NOTARY": "c1.item.NOTARY", "契约": "__",
	} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDocumentKind(t *testing.T) {
	for _, tc := range []struct {
		doc  store.Document
		data string
		want string
	}{
		{store.Document{ID: "d1", Path: "documents/sha256/ab/ab.pdf"}, "%PDF-1.7", evidence.KindDocument},
		{store.Document{ID: "c1.oplog", Path: "x.json"}, "[]", evidence.KindOplog},
		{store.Document{ID: "c1.item.NOTARY", Path: "x.zip"}, "PK", evidence.KindNotary},
		{store.Document{ID: "c1.item.ATTACHMENT", Path: "x.zip"}, "PK", evidence.KindAttachment},
		{store.Document{ID: "c1.item.ENDSIGN_ATTACHMENT", Path: "x.zip"}, "PK", evidence.KindEndsign},
		{store.Document{ID: "c1.item.NOTARY", Path: "x.json"}, `{"refused": true}`, evidence.KindRefusal},
		{store.Document{ID: "c1.bundle", Path: "x.zip"}, "PK", evidence.KindOther},
		{store.Document{ID: "d2", Title: "SIGNLOG", Path: "x.pdf"}, "%PDF", evidence.KindSignlog},
	} {
		if got := documentKind(tc.doc, []byte(tc.data)); got != tc.want {
			t.Errorf("documentKind(%s) = %s, want %s", tc.doc.ID, got, tc.want)
		}
	}
}
