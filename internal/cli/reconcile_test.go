package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

func TestReconcileCommand(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			u, _ := opsLedger(t, kind)
			nats := natstest.New(t)
			fake := qystest.NewServer()
			t.Cleanup(fake.Close)
			fake.AddContract(qystest.ContractSpec{Subject: "采购合同", Status: qys.StatusSigning})
			fake.AddContract(qystest.ContractSpec{Subject: "旧合同", Status: qys.StatusSigning,
				PublishTime: time.Now().Add(-48 * time.Hour)})
			vars := withOpsFake(withOpsNATS(opsVars(t, u), nats), fake)
			vars["QYSHOOK_RECONCILE_INTERVAL"] = "0"

			var rep reconcileReport
			mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "reconcile", "--since", "1h", "--json"), &rep)
			if rep.Checked != 1 || rep.Triggered != 1 || len(rep.Tenants) != 1 || rep.Error != "" {
				t.Errorf("reconcile --since 1h = %+v", rep)
			}
			if n := streamMsgs(t, nats, nats.Names.CallbacksStream()); n != 1 {
				t.Errorf("callbacks stream holds %d triggers, want 1", n)
			}
			since := time.Now().Add(-72 * time.Hour).UTC().Format(time.RFC3339)
			r := mustOpsRun(t, ExitOK, vars, "reconcile", "--since", since)
			// The recent contract's trigger is the same as before: it collapses
			// and is not counted again; the older contract's is new.
			if !strings.Contains(r.stdout, "checked 2 contracts, published 1 RECONCILE triggers") {
				t.Errorf("reconcile --since RFC3339:\n%s", r)
			}
			if n := streamMsgs(t, nats, nats.Names.CallbacksStream()); n != 2 {
				t.Errorf("callbacks stream holds %d triggers, want 2 (the repeat collapses)", n)
			}
		})
	}
}

func TestReconcileCommandRefuses(t *testing.T) {
	u, _ := opsLedger(t, testdb.SQLite)
	vars := opsVars(t, u)
	r := mustOpsRun(t, ExitUsage, vars, "reconcile")
	assertOneLine(t, r, "no tenant has 契约锁 API credentials")

	vars["QYSHOOK_QYS_APP_TOKEN"], vars["QYSHOOK_QYS_APP_SECRET"] = "token", "s3cretpw"
	for _, since := range []string{"yesterday", "-5h", "2999-01-01T00:00:00Z"} {
		r := mustOpsRun(t, ExitUsage, vars, "reconcile", "--since", since)
		if !strings.Contains(r.stderr, "--since") || !strings.Contains(r.stderr, "Usage") {
			t.Errorf("--since %s:\n%s", since, r)
		}
	}
	mustOpsRun(t, ExitUsage, vars, "reconcile", "now")

	vars["QYSHOOK_NATS_URL"] = "nats://127.0.0.1:1"
	r = mustOpsRun(t, ExitUnavailable, vars, "reconcile")
	assertOneLine(t, r, "qyshook reconcile: nats: not reachable", "s3cretpw")
}

func TestParseSince(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"72h":                       now.Add(-72 * time.Hour),
		"90m":                       now.Add(-90 * time.Minute),
		"2025-05-30T08:00:00Z":      time.Date(2025, 5, 30, 8, 0, 0, 0, time.UTC),
		"2025-05-30T16:00:00+08:00": time.Date(2025, 5, 30, 8, 0, 0, 0, time.UTC),
	} {
		got, err := parseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0s", "-1h", "2025-06-02T00:00:00Z", "2025-05-30"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
}

func TestOpsNATSConfig(t *testing.T) {
	for _, tc := range []struct{ url, embedded, want string }{
		{"nats://h:4222", "127.0.0.1:4223", "nats://h:4222"},
		{"", "127.0.0.1:4223", "nats://127.0.0.1:4223"},
		{"", ":4223", "nats://127.0.0.1:4223"},
		{"", "0.0.0.0:4223", "nats://127.0.0.1:4223"},
	} {
		got, err := opsNATSConfig(&config.Config{NATSURL: tc.url, EmbeddedNATSAddr: tc.embedded})
		if err != nil || got.NATSURL != tc.want {
			t.Errorf("opsNATSConfig(%q, %q) = %v, %v", tc.url, tc.embedded, got, err)
		}
	}
	// Neither set: refused before anything is opened (a second embedded
	// server could corrupt the store of a running qyshook serve).
	u, l := opsLedger(t, testdb.SQLite)
	id := addOpsDeadLetter(t, l, "ev", []byte("{}"))
	r := mustOpsRun(t, ExitUsage, opsVars(t, u), "dlq", "purge", "--all", "--yes")
	assertOneLine(t, r, "set QYSHOOK_NATS_URL")
	if ids := opsDeadLetterIDs(t, l); len(ids) != 1 || ids[0] != id {
		t.Errorf("dead letters changed: %v", ids)
	}
}
