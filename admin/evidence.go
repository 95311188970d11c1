package admin

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog/hlog"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/evidence"
	"github.com/qyshook/qyshook/store"
)

// getEvidence: GET /contracts/{tenant}/{id}/evidence[?version=N], the
// contract's evidence bundle (the latest, or version N). An operator gets
// the zip; a viewer gets only its report, as HTML, with personal data
// masked and without the documents. Each export is audited before a byte
// is served: a bundle that could not be audited is not served (503). An
// export refused (404, 409) is audited too.
func (a *API) getEvidence(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "version")
	if err != nil {
		return err
	}
	version := 0
	if s := q.str("version"); s != "" {
		if version, err = strconv.Atoi(s); err != nil || version < 1 {
			return badRequest("version", "%q is not a bundle version (1, 2, …)", s)
		}
	}
	switch {
	case a.o.Evidence == nil || a.o.OpenBundle == nil:
		return errorf(adminapi.CodeUnavailable, "this process keeps no evidence bundles")
	case a.o.Log == nil:
		return errorf(adminapi.CodeUnavailable, "exports need the audit table, which this ledger does not provide")
	}
	tenant, id := r.PathValue("tenant"), r.PathValue("id")
	if !events.ValidToken(tenant) {
		return errorf(adminapi.CodeNotFound, "no tenant %q", tenant)
	}
	viewer := !roleOf(r).seesPersonalData()
	sel := map[string]any{"tenant": tenant, "contract_id": id, "version": version, "report_only": viewer}
	b, f, err := a.findBundle(r, tenant, id, version)
	if err != nil {
		// Refused (or failed): audited, then answered.
		if aerr := a.auditExport(r, sel, 0, outcomeOf(err)); aerr != nil {
			hlog.FromRequest(r).Error().Err(aerr).Msg("admin: refused evidence export not audited")
		}
		return err
	}
	defer f.Close()
	sel["version"], sel["sha256"] = b.Version, b.SHA256
	if viewer {
		return a.evidenceReport(w, r, f, b, sel)
	}
	if err := a.auditExport(r, sel, 1, "ok"); err != nil {
		return err
	}
	name := fmt.Sprintf("evidence-%s-%s-v%d.zip", tenant, id, b.Version)
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q; filename*=UTF-8''%s",
		safeFileName(name), url.PathEscape(name)))
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("ETag", `"`+b.SHA256+`"`)
	w.Header().Set("X-Qyshook-Bundle-Version", strconv.Itoa(b.Version))
	http.ServeContent(w, r, "", time.Time{}, f)
	return nil
}

// findBundle reads the bundle's row and opens its zip (checked against
// the row's SHA-256); a missing bundle or file is a 404, a changed file
// a 409.
func (a *API) findBundle(r *http.Request, tenant, id string, version int) (*store.Bundle, *os.File, error) {
	b, err := a.o.Evidence.Bundle(r.Context(), tenant, id, version)
	if errors.Is(err, store.ErrNotFound) {
		if version > 0 {
			return nil, nil, errorf(adminapi.CodeNotFound, "contract %s of tenant %s has no evidence bundle version %d", id, tenant, version)
		}
		return nil, nil, errorf(adminapi.CodeNotFound, "no evidence bundle for contract %s of tenant %s yet: one is built once the contract "+
			"is confirmed COMPLETE or terminal, its documents are archived and a checkpoint covers it", id, tenant)
	}
	if err != nil {
		return nil, nil, err
	}
	f, err := a.openBundle(b)
	if err != nil {
		return nil, nil, err
	}
	return b, f, nil
}

// auditExport records one export (or refusal) and returns a 503 when
// the entry could not be written: an export that is not audited is not
// served.
func (a *API) auditExport(r *http.Request, sel map[string]any, count int, outcome string) error {
	if err := a.auditErr(r.Context(), whoOf(r), r.Method+" "+routePattern(r), sel, count, outcome, ""); err != nil {
		hlog.FromRequest(r).Error().Err(err).Msg("admin: evidence export not audited; not served")
		return errorf(adminapi.CodeUnavailable, "the export could not be audited, so it is not served; try again later")
	}
	return nil
}

// openBundle opens b's zip and checks it is the file its row recorded.
func (a *API) openBundle(b *store.Bundle) (*os.File, error) {
	f, err := a.o.OpenBundle(b.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(adminapi.CodeNotFound, "the zip of bundle v%d of contract %s is missing from the data dir", b.Version, b.ContractID)
	}
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		f.Close()
		return nil, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != b.SHA256 {
		f.Close()
		return nil, errorf(adminapi.CodeConflict, "the zip of bundle v%d of contract %s was changed on disk (sha256 %s, recorded %s)",
			b.Version, b.ContractID, got[:12], b.SHA256[:min(12, len(b.SHA256))])
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// evidenceReport answers a viewer: the bundle's report, masked. It reads
// the whole bundle into memory, documents included: evidence.Open reads
// and checks every listed file, and RenderReport shows each item's size
// and SHA-256 from its bytes, so rendering from the manifest alone needs
// a change in package evidence.
func (a *API) evidenceReport(w http.ResponseWriter, r *http.Request, f *os.File, b *store.Bundle, sel map[string]any) error {
	c, err := evidence.Open(f, b.Size)
	if err != nil {
		return err
	}
	page, err := evidence.RenderReport(*c, viewerMask(c.Summary))
	if err != nil {
		return err
	}
	if err := a.auditExport(r, sel, 1, "ok"); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("X-Qyshook-Bundle-Version", strconv.Itoa(b.Version))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(page)
	return nil
}

// viewerMask masks a report's personal strings for a viewer: a party's or
// signer's name by its first character, wherever it appears (also inside
// a discrepancy's detail), and personal numbers by their shape
// (MaskText).
func viewerMask(s evidence.Summary) func(string) string {
	var names []string
	for _, p := range s.Parties {
		names = append(names, p.Name)
	}
	if s.Sponsor != "" {
		names = append(names, s.Sponsor)
	}
	for _, p := range s.PDFs {
		for _, sg := range p.Signers {
			names = append(names, sg.Name)
		}
	}
	for _, d := range s.Discrepancies {
		names = append(names, d.Party)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) }) // longest first
	var pairs []string
	for _, n := range names {
		if strings.TrimSpace(n) != "" {
			pairs = append(pairs, n, mask(maskName, n))
		}
	}
	rep := strings.NewReplacer(pairs...)
	return func(v string) string { return MaskText(rep.Replace(v)) }
}

// safeFileName keeps a header file name ASCII-printable.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, s)
}
