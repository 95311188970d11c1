package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/store"
)

// Snapshot is what a run leaves behind, in a comparable form.
type Snapshot struct {
	Contracts map[string]string // id → status|confirmed|signatory statuses
	Documents map[string]string // id → sha256|size|path
	Events    map[string]bool   // applied event ids
	Files     map[string]string // path under the data dir → sha256 of the bytes
	Facts     map[string]int    // fact id → times it is in QYS_LEDGER
}

// TakeSnapshot reads the ledger rows of tenant, the document files under
// dataDir and the facts in the ledger stream.
func TakeSnapshot(ctx context.Context, l store.Ledger, tenant, dataDir string, js jetstream.JetStream, names events.Names) (*Snapshot, error) {
	s := &Snapshot{Contracts: map[string]string{}, Documents: map[string]string{}, Events: map[string]bool{},
		Files: map[string]string{}, Facts: map[string]int{}}
	rows, err := l.Contracts(ctx, store.ContractFilter{Tenant: tenant, Limit: 100000})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		c, err := l.Contract(ctx, tenant, r.ID)
		if err != nil {
			return nil, err
		}
		var sig []string
		for _, sg := range c.Signatories {
			sig = append(sig, sg.ID+"="+sg.Status)
		}
		s.Contracts[c.ID] = fmt.Sprintf("%s|%v|%s", c.Status, c.Confirmed, strings.Join(sig, ","))
		for _, d := range c.Documents {
			s.Documents[d.ID] = fmt.Sprintf("%s|%d|%s", d.SHA256, d.Size, d.Path)
		}
		evs, err := l.Events(ctx, tenant, c.ID)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			s.Events[e.ID] = true
		}
	}
	docs := filepath.Join(dataDir, "documents")
	err = filepath.WalkDir(docs, func(p string, d os.DirEntry, err error) error {
		// Content files only: the per-document index entries are symlinks
		// to them, and .tmp-* files are a download in flight or a crash's
		// leftover, never named by the ledger.
		if err != nil || d.IsDir() || d.Type()&os.ModeSymlink != 0 || strings.HasPrefix(d.Name(), ".tmp") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		rel, _ := filepath.Rel(dataDir, p)
		s.Files[filepath.ToSlash(rel)] = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	facts, err := StreamFacts(ctx, js, names)
	if err != nil {
		return nil, err
	}
	checkpoints := map[string]bool{}
	for _, f := range facts {
		// Receipt log checkpoints are signed on a clock, so two runs of
		// the same events have different ones; each must still be
		// published once.
		if f.Checkpoint != nil {
			if checkpoints[f.ID] {
				s.Facts["doubled checkpoint fact "+f.ID]++
			}
			checkpoints[f.ID] = true
			continue
		}
		s.Facts[f.ID]++
	}
	return s, nil
}

// StreamFacts returns every fact in the ledger stream.
func StreamFacts(ctx context.Context, js jetstream.JetStream, names events.Names) ([]events.Fact, error) {
	msgs, err := natstest.StreamMessages(ctx, js, names.LedgerStream())
	if err != nil {
		return nil, err
	}
	out := make([]events.Fact, 0, len(msgs))
	for _, m := range msgs {
		var f events.Fact
		if err := json.Unmarshal(m.Data, &f); err != nil {
			return nil, fmt.Errorf("fact at seq %d: %w", m.Sequence, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// Diff lists the differences between two snapshots (empty when equal).
func Diff(a, b *Snapshot) []string {
	var out []string
	cmp := func(what string, x, y map[string]string) {
		for k, v := range x {
			if y[k] != v {
				out = append(out, fmt.Sprintf("%s %s: %q vs %q", what, k, v, y[k]))
			}
		}
		for k, v := range y {
			if _, ok := x[k]; !ok {
				out = append(out, fmt.Sprintf("%s %s: missing vs %q", what, k, v))
			}
		}
	}
	cmp("contract", a.Contracts, b.Contracts)
	cmp("document", a.Documents, b.Documents)
	cmp("file", a.Files, b.Files)
	cmp("events", boolKeys(a.Events), boolKeys(b.Events))
	cmp("facts", intKeys(a.Facts), intKeys(b.Facts))
	sort.Strings(out)
	return out
}

func boolKeys(m map[string]bool) map[string]string {
	out := map[string]string{}
	for k := range m {
		out[k] = "present"
	}
	return out
}

func intKeys(m map[string]int) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// Eventually polls cond every 50 ms until it returns "" or the timeout
// passes; the error is cond's last complaint.
func Eventually(ctx context.Context, timeout time.Duration, cond func() string) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if last = cond(); last == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("timed out: %s", last)
}
