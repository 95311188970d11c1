package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
)

// seedContracts writes c-complete (confirmed, two signatories, one of two
// documents archived, two events) and c-signing (unconfirmed).
func seedContracts(tb testing.TB, l store.Ledger) {
	tb.Helper()
	ctx := context.Background()
	apply := func(eventID, cid, status string, confirmed bool) {
		c := store.Contract{Tenant: "default", ID: cid, BizID: "biz-" + cid, Subject: "采购合同 " + cid, Status: status,
			Confirmed: confirmed, UpdatedAt: time.Now().UTC(),
			Detail: json.RawMessage(`{"id":"` + cid + `","status":"` + status + `"}`),
			Signatories: []store.Signatory{
				{ID: cid + "-s1", TenantType: "COMPANY", TenantName: "甲方科技有限公司", Status: "COMPLETE", SerialNo: 1},
				{ID: cid + "-s2", TenantType: "PERSONAL", TenantName: "张三", Status: "SIGNING", SerialNo: 2},
			},
			Documents: []store.Document{{ID: cid + "-d1", ContractID: cid, Title: "合同正文"},
				{ID: cid + "-d2", ContractID: cid, Title: "附件"}},
		}
		if status == "COMPLETE" {
			now := time.Now().UTC()
			c.CompletedAt = &now
		}
		_, err := l.ApplyContract(ctx, store.ContractChange{Contract: c, Event: store.Event{
			ID: eventID, Tenant: "default", Kind: "contract", Type: status, ContractID: cid, Source: "callback",
			ReceivedAt: time.Now().UTC(), Payload: json.RawMessage(`{}`),
		}, ArchiveDocuments: status == "COMPLETE"})
		if err != nil {
			tb.Fatal(err)
		}
	}
	apply("ev-1", "c-complete", "SIGNING", true)
	apply("ev-2", "c-complete", "COMPLETE", true)
	apply("ev-3", "c-signing", "SIGNING", false)
	fetched := time.Now().UTC()
	_, err := l.ArchiveDocument(ctx, "default", store.Document{ID: "c-complete-d1", ContractID: "c-complete",
		Title: "合同正文", SHA256: strings.Repeat("ab", 32), Size: 4096, Path: "documents/default/c-complete/d1.pdf",
		FetchedAt: &fetched, VerifyVerdict: "valid", VerifySignatures: 2, VerifiedAt: &fetched}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	// The other document's download answered 404.
	claimed, err := l.ClaimDocuments(ctx, "ops-test", 10, time.Minute)
	if err != nil || len(claimed) != 1 {
		tb.Fatalf("claim = %+v, %v", claimed, err)
	}
	if _, err := l.FailDocument(ctx, store.DocumentFailure{Tenant: "default", ID: claimed[0].ID, Owner: "ops-test",
		Err: "not found on the platform: 文档不存在", Permanent: true}); err != nil {
		tb.Fatal(err)
	}
}

func TestContractsCommand(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			u, l := opsLedger(t, kind)
			seedContracts(t, l)
			vars := opsVars(t, u)

			r := mustOpsRun(t, ExitOK, vars, "contracts", "list")
			for _, want := range []string{"TENANT", "CONFIRMED", "c-complete", "c-signing", "COMPLETE"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("list lacks %q:\n%s", want, r)
				}
			}

			var rows []contractRow
			mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "contracts", "list", "--status", "complete", "--json"), &rows)
			if len(rows) != 1 || rows[0].ID != "c-complete" || !rows[0].Confirmed || rows[0].Status != "COMPLETE" {
				t.Errorf("list --status complete = %+v", rows)
			}
			mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "contracts", "list", "--tenant", "other", "--json"), &rows)
			if len(rows) != 0 {
				t.Errorf("list --tenant other = %+v", rows)
			}
			r = mustOpsRun(t, ExitOK, vars, "contracts", "list", "--limit", "1", "--json")
			mustOpsJSON(t, r, &rows)
			if len(rows) != 1 || !strings.Contains(r.stderr, "more than 1") {
				t.Errorf("list --limit 1 = %+v\n%s", rows, r)
			}

			r = mustOpsRun(t, ExitOK, vars, "contracts", "show", "c-complete")
			for _, want := range []string{"COMPLETE", "甲方科技有限公司", "张三", strings.Repeat("ab", 32),
				"documents/default/c-complete/d1.pdf", "(not archived)", "ev-1", "ev-2", "Events (2)",
				"ARCHIVE", "archived", "failed", "c-complete-d2 last error: not found on the platform",
				"c-complete-d1 signatures: valid (2)"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("show lacks %q:\n%s", want, r)
				}
			}
			var v contractView
			mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "contracts", "show", "c-complete", "--json"), &v)
			if v.ID != "c-complete" || len(v.Signatories) != 2 || len(v.Documents) != 2 || len(v.Events) != 2 ||
				v.CompletedAt == nil || len(v.Detail) == 0 {
				t.Fatalf("show --json = %+v", v)
			}
			var archived int
			for _, d := range v.Documents {
				if d.SHA256 != "" {
					archived++
				}
			}
			if d := v.Documents[1]; d.ArchiveState != "failed" || d.Attempts != 1 || !strings.Contains(d.LastError, "not found") {
				t.Errorf("show --json failed document = %+v", d)
			}
			if archived != 1 || v.Events[0].ID != "ev-1" || v.Events[0].Source != "callback" {
				t.Errorf("show --json documents/events = %+v / %+v", v.Documents, v.Events)
			}
			r = mustOpsRun(t, ExitOK, vars, "contracts", "show", "--json", "c-signing")
			if !strings.Contains(r.stdout, `"confirmed": false`) {
				t.Errorf("flags before the id: %s", r)
			}
			r = mustOpsRun(t, ExitOK, vars, "contracts", "show", "c-signing")
			if !strings.Contains(r.stdout, "unconfirmed") {
				t.Errorf("show of an unconfirmed contract does not say so:\n%s", r)
			}

			assertOneLine(t, mustOpsRun(t, ExitNotFound, vars, "contracts", "show", "nope"), "no contract nope")
			mustOpsRun(t, ExitNotFound, vars, "contracts", "show", "c-complete", "--tenant", "other")
		})
	}
}

func TestContractsCommandUsage(t *testing.T) {
	u, _ := opsLedger(t, testdb.SQLite)
	vars := opsVars(t, u)
	for name, args := range map[string][]string{
		"NoSubcommand":      {"contracts"},
		"UnknownSubcommand": {"contracts", "delete"},
		"ShowWithoutID":     {"contracts", "show"},
		"ShowTwoIDs":        {"contracts", "show", "a", "b"},
		"BadFlag":           {"contracts", "list", "--bogus"},
		"BadLimit":          {"contracts", "list", "--limit", "x"},
		"NegativeLimit":     {"contracts", "list", "--limit", "-1"},
		"ListArgument":      {"contracts", "list", "extra"},
	} {
		t.Run(name, func(t *testing.T) {
			r := mustOpsRun(t, ExitUsage, vars, args...)
			if !strings.Contains(r.stderr, "Usage") {
				t.Errorf("no usage text:\n%s", r)
			}
		})
	}
	r := mustOpsRun(t, ExitOK, vars, "contracts", "show", "-h")
	if !strings.Contains(r.stderr, "-tenant") {
		t.Errorf("-h: %s", r)
	}
}

func TestContractsCommandUnavailable(t *testing.T) {
	t.Run("PostgresDown", func(t *testing.T) {
		vars := opsVars(t, "postgres://postgres:s3cretpw@127.0.0.1:1/x?sslmode=disable&connect_timeout=5")
		r := mustOpsRun(t, ExitUnavailable, vars, "contracts", "list")
		assertOneLine(t, r, "qyshook contracts: database unavailable", "s3cretpw")
	})
	t.Run("NoSQLiteFile", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "typo", "ledger.db")
		r := mustOpsRun(t, ExitUnavailable, opsVars(t, "sqlite://"+path), "contracts", "show", "x")
		assertOneLine(t, r, "no ledger at")
		if _, err := os.Stat(path); err == nil {
			t.Error("a read command created the ledger file")
		}
	})
	t.Run("BadDBScheme", func(t *testing.T) {
		r := mustOpsRun(t, ExitUsage, opsVars(t, "mysql://root:s3cretpw@h/db"), "contracts", "list")
		if strings.Contains(r.stderr, "s3cretpw") {
			t.Errorf("leaks the password: %s", r)
		}
	})
}

func TestParseMixed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  string
		json bool
	}{
		{[]string{"a", "--json"}, "a", true},
		{[]string{"--json", "a"}, "a", true},
		{[]string{"a", "b"}, "a b", false},
		{[]string{"--", "--json"}, "--json", false},
		{nil, "", false},
	} {
		fs := newFlags(&Env{Stderr: new(strings.Builder)}, "x", "")
		asJSON := fs.Bool("json", false, "")
		pos, err := parseMixed(fs, tc.args)
		if err != nil || strings.Join(pos, " ") != tc.pos || *asJSON != tc.json {
			t.Errorf("parseMixed(%q) = %q json=%v err=%v", tc.args, pos, *asJSON, err)
		}
	}
}

func TestOpsWide(t *testing.T) {
	for in, want := range map[string]string{"abc": "abc", "张三": "张三  ", "a契约锁b": "a契约锁b   ", "ｱ": "ｱ"} {
		if got := opsWide(in); got != want {
			t.Errorf("opsWide(%q) = %q, want %q", in, got, want)
		}
	}
}
