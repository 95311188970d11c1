package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

// demoBundle is one contract's evidence bundle as the demo shows it.
type demoBundle struct {
	Contract string `json:"contract"`
	Status   string `json:"status"`
	Version  int    `json:"version"`
	Path     string `json:"path"`
	Items    int    `json:"items"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
}

// waitBundles waits until each contract of the stories has an evidence
// bundle over its latest state (a bundle covering its latest contract
// leaf) and returns the latest bundles. It returns nil without error when
// the ledger keeps no bundles.
func waitBundles(ctx context.Context, ledger store.Ledger, stories []demoStory) ([]demoBundle, error) {
	es, ok := ledger.(store.EvidenceStore)
	rl, ok2 := ledger.(store.ReceiptLog)
	if !ok || !ok2 {
		return nil, nil
	}
	for {
		var out []demoBundle
		var missing []string
		for _, s := range stories {
			b, err := es.Bundle(ctx, config.DefaultTenant, s.id, 0)
			if err == nil {
				var leaves []store.LogLeaf
				if leaves, err = rl.LogLeaves(ctx, receiptlog.KindContract, config.DefaultTenant, s.id, 0); err == nil &&
					len(leaves) > 0 && b.ContractLeaf < leaves[len(leaves)-1].Index {
					err = fmt.Errorf("bundle v%d is of an earlier state", b.Version)
				}
			}
			if err != nil {
				missing = append(missing, fmt.Sprintf("%s: %v", s.id, err))
				continue
			}
			out = append(out, demoBundle{Contract: s.id, Status: b.State, Version: b.Version, Path: b.Path, Items: b.Items,
				SHA256: b.SHA256, Size: b.Size})
		}
		if len(missing) == 0 {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("evidence bundles not built in time: %s", strings.Join(missing, "; "))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// printEvidence lists the bundles and the command that verifies one.
func (s *demoSummary) printEvidence(w io.Writer, cleaned bool) {
	if len(s.Evidence) == 0 {
		return
	}
	fmt.Fprintf(w, "\nEVIDENCE BUNDLES (证据包: each ended contract's callbacks, API answers, ledger rows and archived files, "+
		"proven in the anchored checkpoint; under %s)\n", s.DataDir)
	t := newTable(w, "CONTRACT", "STATUS", "VERSION", "ITEMS", "SIZE", "SHA256", "PATH")
	for _, b := range s.Evidence {
		t.row(b.Contract, b.Status, fmt.Sprintf("v%d", b.Version), b.Items, b.Size, b.SHA256, b.Path)
	}
	_ = t.flush()
	if cleaned || s.Checkpoint == nil {
		return
	}
	b := s.Evidence[0]
	fmt.Fprintln(w, "Check one offline (no data dir, database or network needed; copy the files anywhere):")
	fmt.Fprintf(w, "  qyshook evidence verify --key %s --tsa-roots %s --roots %s %s\n", s.Checkpoint.KeyFile, s.Checkpoint.RootPEM,
		s.CACertificate, filepath.Join(s.DataDir, filepath.FromSlash(b.Path)))
	if s.Serving {
		admin := ""
		if s.AdminURL != DefaultAdminURL {
			admin = "QYSHOOK_ADMIN_URL=" + s.AdminURL + " "
		}
		fmt.Fprintf(w, "Export one through the admin API: QYSHOOK_DATA_DIR=%s %sqyshook evidence export --contract %s\n", s.DataDir, admin, b.Contract)
	}
}
