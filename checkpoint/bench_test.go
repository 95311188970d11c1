package checkpoint_test

import (
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/checkpoint"
)

func BenchmarkSign(b *testing.B) {
	k := mustKeyring(b, checkpoint.Options{Origin: origin, KeyFile: filepath.Join(b.TempDir(), "k"), Generate: true})
	tree := tlog.Tree{N: 1 << 20, Hash: tlog.RecordHash([]byte("x"))}
	for b.Loop() {
		if _, err := k.Sign(tree); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k := mustKeyring(b, checkpoint.Options{Origin: origin, KeyFile: filepath.Join(b.TempDir(), "k"), Generate: true})
	msg, err := k.Sign(tlog.Tree{N: 1 << 20, Hash: tlog.RecordHash([]byte("x"))})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := k.Open(msg); err != nil {
			b.Fatal(err)
		}
	}
}
