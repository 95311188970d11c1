package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/anchor"
	"github.com/qyshook/qyshook/checkpoint"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/tsa"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

// treeLog is a real tlog tree in memory: the receipt log's stand-in.
type treeLog struct {
	mu     sync.Mutex
	hashes map[int64]tlog.Hash
	n      int64
}

func (m *treeLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		h, ok := m.hashes[x]
		if !ok {
			return nil, errors.New("no such hash")
		}
		out[i] = h
	}
	return out, nil
}

func (m *treeLog) append(leaf string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hashes == nil {
		m.hashes = map[int64]tlog.Hash{}
	}
	hs, err := tlog.StoredHashes(m.n, []byte(leaf), m)
	if err != nil {
		return err
	}
	base := tlog.StoredHashCount(m.n)
	for i, h := range hs {
		m.hashes[base+int64(i)] = h
	}
	m.n++
	return nil
}

func (m *treeLog) LogHead(context.Context) (tlog.Tree, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == 0 {
		return tlog.Tree{}, nil
	}
	h, err := tlog.TreeHash(m.n, m)
	return tlog.Tree{N: m.n, Hash: h}, err
}

// TestWaitAnchored: the demo's check finds an anchored checkpoint of the
// log as it stood (signed by the anchor stage over the ledger's receipt
// log, stamped by a real responder) and verifies it; stamps from another
// root do not verify.
func TestWaitAnchored(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l := testdb.Open(t, testdb.SQLite)
	ll := l.(interface {
		store.Ledger
		store.ReceiptLog
		store.CheckpointLog
		store.AdminLog
	})
	keys, err := checkpoint.New(checkpoint.Options{Origin: "demo.test/log", KeyFile: filepath.Join(t.TempDir(), "k"), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := tsatest.New(tsatest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	defer srv.Close()
	client, err := tsa.New(tsa.Options{URLs: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := anchor.New(anchor.Options{Head: ll.LogHead, Keys: keys, TSA: client, Ledger: ll,
		Tenants: []string{"default"}, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	defer func() { stop(); <-done }()
	for i := range 7 {
		if _, err := ll.AddAudit(ctx, store.AuditEntry{At: time.Now(), Who: "test", Action: "POST /test", Selector: []byte(`{}`),
			Count: int64(i), Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := waitAnchored(ctx, ll, keys.Verifier(), r.Roots())
	if err != nil {
		t.Fatal(err)
	}
	if c.Size < 7 || len(c.Stamps) != 1 || !c.Stamps[0].Pinned || c.KeyID != keys.KeyID() {
		t.Fatalf("checkpoint %+v", c)
	}
	var out bytes.Buffer
	c.print(&out)
	if !strings.Contains(out.String(), fmt.Sprintf("%d leaves", c.Size)) || !strings.Contains(out.String(), "— demo.test/log ") {
		t.Fatalf("printed:\n%s", out.String())
	}
	// A checkpoint whose stamps come from another root does not verify.
	other, err := tsatest.New(tsatest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitAnchored(ctx, ll, keys.Verifier(), other.Roots()); !errors.Is(err, checkpoint.ErrBadStamp) {
		t.Fatalf("other root: %v", err)
	}
}
