package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/docstore"
)

// signedPDF completes a contract on the fake and returns its signed
// document and the tampered variant the fake would serve.
func signedPDF(t *testing.T) (signed, tampered []byte) {
	t.Helper()
	srv := qystest.NewServer()
	t.Cleanup(srv.Close)
	id := srv.AddContract(qystest.ContractSpec{Subject: "NDA", TenantName: "甲公司",
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantCompany, TenantName: "甲公司"}}})
	if err := srv.Send(id); err != nil {
		t.Fatal(err)
	}
	if err := srv.Sign(id, 0); err != nil {
		t.Fatal(err)
	}
	ct, _ := srv.Contract(id)
	doc := ct.Documents[0].ID.String()
	signed, err := io.ReadAll(srv.DocumentContent(doc))
	if err != nil {
		t.Fatal(err)
	}
	return signed, srv.TamperedContent(doc)
}

// archive stores content as a document of contract cid and records it in
// the ledger; then damage (if any) rewrites the file behind the ledger's
// back, as bit rot or an intruder would.
func archive(t *testing.T, l store.Ledger, dataDir, cid, did string, content []byte, damage func([]byte) []byte) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	_, err := l.ApplyContract(ctx, store.ContractChange{Contract: store.Contract{Tenant: "default", ID: cid,
		Subject: "合同 " + cid, Status: "COMPLETE", Confirmed: true, UpdatedAt: now, CompletedAt: &now,
		Detail:    json.RawMessage(`{"id":"` + cid + `"}`),
		Documents: []store.Document{{ID: did, ContractID: cid, Title: "正文"}}},
		Event: store.Event{ID: "ev-" + cid, Tenant: "default", Kind: "contract", Type: "COMPLETE", ContractID: cid,
			Source: "callback", ReceivedAt: now, Payload: json.RawMessage(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	rel, sum, size, err := docstore.New(dataDir).Put(ctx, "default", cid, did, ".pdf", bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ArchiveDocument(ctx, "default", store.Document{ID: did, ContractID: cid, Title: "正文",
		SHA256: sum, Size: size, Path: rel, FetchedAt: &now}, nil); err != nil {
		t.Fatal(err)
	}
	if damage != nil {
		p := filepath.Join(dataDir, filepath.FromSlash(rel))
		if err := os.WriteFile(p, damage(bytes.Clone(content)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return rel
}

func TestVerifyCommand(t *testing.T) {
	// Each case its own signed file: the archive is content-addressed, so
	// damaging one file would damage every document sharing its content.
	var signed, tampered [5][]byte
	for i := range signed {
		signed[i], tampered[i] = signedPDF(t)
	}
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			u, l := opsLedger(t, kind)
			vars := opsVars(t, u)
			dir := vars["QYSHOOK_DATA_DIR"]
			archive(t, l, dir, "c-good", "d-good", signed[0], nil)
			archive(t, l, dir, "c-tampered", "d-tampered", signed[1], func([]byte) []byte { return tampered[1] })
			archive(t, l, dir, "c-truncated", "d-truncated", signed[2], func(b []byte) []byte { return b[:len(b)/2] })
			// Archived tampered: the ledger's hash is of the tampered bytes,
			// so only the signatures can tell.
			archive(t, l, dir, "c-served-tampered", "d-served-tampered", tampered[3], nil)
			missing := archive(t, l, dir, "c-missing", "d-missing", signed[4], nil)
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(missing))); err != nil {
				t.Fatal(err)
			}

			r := mustOpsRun(t, ExitOK, vars, "verify", "--contract", "c-good")
			if !strings.Contains(r.stdout, "d-good") || !strings.Contains(r.stdout, "valid") || strings.Contains(r.stdout, "MISMATCH") {
				t.Errorf("good contract:\n%s", r)
			}

			r = mustOpsRun(t, ExitFailure, vars, "verify", "--all", "--json")
			var rows []verifyRow
			mustOpsJSON(t, r, &rows)
			got := map[string]verifyRow{}
			for _, row := range rows {
				got[row.DocumentID] = row
			}
			if len(got) != 5 {
				t.Fatalf("want 5 documents, got %+v", rows)
			}
			if g := got["d-good"]; !g.OK || g.Signatures != sigValid || len(g.Signers) != 1 || g.Signers[0].Signer != "甲公司" {
				t.Errorf("good: %+v", g)
			}
			if g := got["d-tampered"]; g.OK || g.SHA256OK || !g.SizeOK || g.Signatures != sigInvalid {
				t.Errorf("tampered: %+v", g)
			}
			if g := got["d-truncated"]; g.OK || g.SizeOK || g.SHA256OK || g.Signatures != sigInvalid {
				t.Errorf("truncated: %+v", g)
			}
			if g := got["d-served-tampered"]; g.OK || !g.SHA256OK || !g.SizeOK || g.Signatures != sigInvalid {
				t.Errorf("archived tampered: %+v", g)
			}
			if g := got["d-missing"]; g.OK || g.Exists {
				t.Errorf("missing: %+v", g)
			}
			if !strings.Contains(r.stderr, "4 of 5") {
				t.Errorf("stderr: %s", r.stderr)
			}

			r = mustOpsRun(t, ExitFailure, vars, "verify", "--contract", "c-truncated")
			if !strings.Contains(r.stdout, "MISMATCH") || !strings.Contains(r.stdout, "size") {
				t.Errorf("truncated table:\n%s", r)
			}
			// --online also asks the platform (here the fake) for its verdict.
			fake := qystest.NewServer()
			defer fake.Close()
			online := withOpsFake(maps.Clone(vars), fake)
			mustOpsJSON(t, mustOpsRun(t, ExitOK, online, "verify", "--contract", "c-good", "--online", "--json"), &rows)
			if len(rows) != 1 || rows[0].Online == nil || !rows[0].Online.Valid {
				t.Errorf("online good: %+v", rows)
			}
			mustOpsJSON(t, mustOpsRun(t, ExitFailure, online, "verify", "--contract", "c-served-tampered", "--online", "--json"), &rows)
			if len(rows) != 1 || rows[0].Online == nil || rows[0].Online.Valid {
				t.Errorf("online tampered: %+v", rows)
			}
			mustOpsRun(t, ExitNotFound, vars, "verify", "--contract", "nope")
			mustOpsRun(t, ExitUsage, vars, "verify")
			mustOpsRun(t, ExitUsage, vars, "verify", "--all", "--contract", "c-good")
		})
	}
}
