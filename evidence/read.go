package evidence

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Read reads a bundle's contents back (the admin API renders a viewer's
// masked report from them). It checks each file against the manifest's
// size and hash, not the signatures, proofs or PDFs: Verify does that. A
// bundle whose files do not match its manifest is an error naming them.
func Read(ctx context.Context, r io.ReaderAt, size int64) (Contents, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return Contents{}, fmt.Errorf("%w: %v", ErrNotBundle, err)
	}
	var ck checker
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		if checkPath(f.Name) == nil && entries[f.Name] == nil {
			entries[f.Name] = f
		}
	}
	_, m := readManifest(&ck, entries)
	if m == nil {
		return Contents{}, readError(ck)
	}
	data := readFiles(ctx, &ck, entries, m)
	b := rebuild(&ck, m, data)
	if err := ctx.Err(); err != nil {
		return Contents{}, err
	}
	if b == nil {
		return Contents{}, readError(ck)
	}
	if err := readError(ck); err != nil {
		return Contents{}, err
	}
	return Contents{Tenant: m.Tenant, ContractID: m.ContractID, Version: m.Version, State: m.State, BuiltAt: m.BuiltAt,
		Items: b.items, Leaves: b.leaves, Checkpoint: b.checkpoint, Stamps: b.stamps,
		VerifierKey: strings.TrimSpace(string(data[PathVerifierKey])), Summary: m.Summary}, nil
}

// readError joins the failed lines of ck (nil when none failed).
func readError(ck checker) error {
	var errs []error
	for _, l := range ck.lines {
		if !l.OK {
			errs = append(errs, fmt.Errorf("%s: %s", l.Item, l.What))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("evidence: read bundle: %w", errors.Join(errs...))
}
