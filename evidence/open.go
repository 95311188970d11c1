package evidence

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Open reads a bundle back into Contents (for instance to render a
// viewer's masked report with RenderReport): every file the manifest
// lists must be there with its size and hashes. It checks no signature,
// proof or stamp (that is Verify's work); the error names the first
// files at fault.
func Open(r io.ReaderAt, size int64) (*Contents, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotBundle, err)
	}
	var ck checker
	entries := zipEntries(&ck, zr)
	_, m := readManifest(&ck, entries)
	if m == nil {
		return nil, lineErr(ck.lines)
	}
	lim := VerifyOptions{}.limits()
	lim.keep = nil
	data, sums := readFiles(context.Background(), &ck, entries, m, lim)
	b := rebuild(&ck, m, data, sums)
	if err := lineErr(ck.lines); err != nil || b == nil {
		return nil, errors.Join(err, errors.New("evidence: open: the bundle is incomplete"))
	}
	c := &Contents{Tenant: m.Tenant, ContractID: m.ContractID, Version: m.Version, State: m.State, BuiltAt: m.BuiltAt,
		Items: b.items, Leaves: b.leaves, Checkpoint: b.checkpoint, Stamps: b.stamps,
		VerifierKey: strings.TrimSpace(string(data[PathVerifierKey])), Summary: m.Summary}
	return c, nil
}

// lineErr joins the failing lines (at most 5) into an error.
func lineErr(lines []Line) error {
	var errs []error
	for _, l := range lines {
		if !l.OK && len(errs) < 5 {
			errs = append(errs, fmt.Errorf("%s: %s", l.Item, l.What))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("evidence: open: %w", errors.Join(errs...))
}
