package checkpoint_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/tsa"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

// memLog is a receipt log's LogConsistency over a memTree.
type memLog struct{ m *memTree }

func (l memLog) LogConsistency(_ context.Context, oldSize, newSize int64) (old, cur tlog.Tree, p tlog.TreeProof, err error) {
	if newSize == 0 {
		newSize = l.m.n
	}
	if oldSize < 1 || oldSize > newSize || newSize > l.m.n {
		return old, cur, nil, fmt.Errorf("no proof from %d to %d", oldSize, newSize)
	}
	tree := func(n int64) tlog.Tree {
		h, _ := tlog.TreeHash(n, l.m)
		return tlog.Tree{N: n, Hash: h}
	}
	p, err = tlog.ProveTree(newSize, oldSize, l.m)
	return tree(oldSize), tree(newSize), p, err
}

// TestCheckStored: a checkpoint as the ledger keeps it (stamps with PEM
// certificates) checks against the log's head and against a rebuilt tree
// it is a prefix of; a tree it is not a prefix of, or a size the log
// cannot prove, is told apart from Check's own failures.
func TestCheckStored(t *testing.T) {
	r, err := tsatest.New(tsatest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	defer srv.Close()
	c, err := tsa.New(tsa.Options{URLs: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	k := mustKeyring(t, checkpoint.Options{Origin: origin, KeyFile: filepath.Join(t.TempDir(), "k"), Generate: true})
	var m memTree
	m.add(t, "a")
	tree := m.add(t, "b")
	msg, err := k.Sign(tree)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Stamp(context.Background(), srv.URL, msg)
	if err != nil {
		t.Fatal(err)
	}
	var certs bytes.Buffer
	for _, der := range st.Certs {
		_ = pem.Encode(&certs, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	stored := store.LogCheckpoint{Size: tree.N, Note: msg, CreatedAt: time.Now(),
		Stamps: []store.LogStamp{{Size: tree.N, TSAURL: st.URL, Token: st.Token, Certs: certs.String()}}}
	grown := m.add(t, "c")
	log := memLog{&m}
	v := k.Verifier()
	ctx := context.Background()
	for name, against := range map[string]tlog.Tree{"Head": {}, "Rebuilt": grown, "Itself": tree} {
		cp, checks, err := v.CheckStored(ctx, log, stored, against, r.Roots())
		if err != nil || cp.Tree != tree || len(checks) != 1 || !checks[0].Pinned || !checks[0].Time.Equal(st.Time) {
			t.Errorf("%s: %+v %+v %v", name, cp, checks, err)
		}
	}
	other := tlog.Tree{N: grown.N, Hash: tlog.RecordHash([]byte("not the log"))}
	if _, _, err := v.CheckStored(ctx, log, stored, other, r.Roots()); !errors.Is(err, checkpoint.ErrNotPrefix) {
		t.Errorf("against another tree: %v, want ErrNotPrefix", err)
	}
	if _, _, err := v.CheckStored(ctx, log, stored, tlog.Tree{N: 1, Hash: tree.Hash}, r.Roots()); !errors.Is(err, checkpoint.ErrNoProof) {
		t.Errorf("against a shorter tree: %v, want ErrNoProof", err)
	}
	swapped := stored
	swapped.Note = bytes.Replace(msg, []byte("\n2\n"), []byte("\n3\n"), 1)
	if _, _, err := v.CheckStored(ctx, log, swapped, tlog.Tree{}, r.Roots()); !errors.Is(err, checkpoint.ErrBadNote) {
		t.Errorf("a changed note: %v, want ErrBadNote", err)
	}
}
