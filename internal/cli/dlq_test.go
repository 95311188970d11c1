package cli

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

func TestDLQCommand(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			testDLQCommand(t, kind)
		})
	}
}

func testDLQCommand(t *testing.T, kind testdb.Kind) {
	ctx := context.Background()
	u, l := opsLedger(t, kind)
	nats := natstest.New(t)
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	vars := withOpsFake(withOpsNATS(opsVars(t, u), nats), fake)

	known := fake.AddContract(qystest.ContractSpec{Subject: "采购合同", Status: qys.StatusComplete,
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "张三"}}})
	knownEnv := opsEnvelope(known, "COMPLETE", qys.StatusComplete)
	unknownEnv := opsEnvelope("3121362688600000001", "SIGNED", qys.StatusSigning)
	bad := addOpsDeadLetter(t, l, "", []byte("not an envelope"))
	good := addOpsDeadLetter(t, l, knownEnv.ID, mustEncode(t, knownEnv))
	gone := addOpsDeadLetter(t, l, unknownEnv.ID, mustEncode(t, unknownEnv))
	all := []int64{bad, good, gone}
	id := func(n int64) string { return strconv.FormatInt(n, 10) }

	var list []deadLetterView
	mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "dlq", "list", "--json"), &list)
	if len(list) != 3 || list[1].EventID != knownEnv.ID || list[1].StreamSeq != list[0].StreamSeq+1 || list[1].Payload != nil {
		t.Fatalf("dlq list --json = %+v", list)
	}
	r := mustOpsRun(t, ExitOK, vars, "dlq", "list", "--limit", "2")
	if !strings.Contains(r.stdout, "REASON") || strings.Contains(r.stdout, unknownEnv.ID) ||
		!strings.Contains(r.stderr, "more than 2") {
		t.Errorf("dlq list --limit 2:\n%s", r)
	}

	r = mustOpsRun(t, ExitOK, vars, "dlq", "show", id(good))
	for _, want := range []string{"Stream seq", "contract_not_found", `"contract_id": "` + known + `"`, "\n  \"schema\""} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dlq show lacks %q:\n%s", want, r)
		}
	}
	var shown deadLetterView
	mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "dlq", "show", id(bad), "--json"), &shown)
	if shown.PayloadText != "not an envelope" || shown.Payload != nil {
		t.Errorf("dlq show --json of a non-JSON payload = %+v", shown)
	}
	mustOpsRun(t, ExitNotFound, vars, "dlq", "show", "999")
	mustOpsRun(t, ExitUsage, vars, "dlq", "show", "abc")

	var results []retryResult
	mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "dlq", "retry", "--all", "--dry-run", "--json"), &results)
	if len(results) != 3 || results[0].Result != "undecodable" || results[1].Result != "would_retry" {
		t.Errorf("dry run = %+v", results)
	}
	if ids := opsDeadLetterIDs(t, l); !slices.Equal(ids, all) {
		t.Fatalf("dry run changed the dead letters: %v", ids)
	}

	r = mustOpsRun(t, ExitOK, vars, "dlq", "retry", id(good))
	if !strings.Contains(r.stdout, "retried") {
		t.Errorf("retry output:\n%s", r)
	}
	c, err := l.Contract(ctx, "default", known)
	if err != nil || c.Status != qys.StatusComplete || !c.Confirmed {
		t.Fatalf("retried contract = %+v, %v", c, err)
	}
	// The retried commit queues the documents; a dispatcher process's
	// archive stage downloads them.
	if len(c.Documents) == 0 || c.Documents[0].ArchiveState != store.ArchivePending {
		t.Errorf("documents not queued for the archive on retry: %+v", c.Documents)
	}
	if ids := opsDeadLetterIDs(t, l); !slices.Equal(ids, []int64{bad, gone}) {
		t.Errorf("after retry, dead letters = %v", ids)
	}
	if n := streamMsgs(t, nats, nats.Names.LedgerStream()); n == 0 {
		t.Error("retry published no facts")
	}
	mustOpsRun(t, ExitNotFound, vars, "dlq", "retry", id(good))

	r = mustOpsRun(t, ExitFailure, vars, "dlq", "retry", "--all", "--json")
	mustOpsJSON(t, r, &results)
	if len(results) != 2 || results[0].Result != "undecodable" || results[1].Result != "failed" ||
		!strings.Contains(r.stderr, "2 of 2 dead letters not retried") {
		t.Errorf("retry --all = %+v\n%s", results, r)
	}
	if ids := opsDeadLetterIDs(t, l); !slices.Equal(ids, []int64{bad, gone}) {
		t.Errorf("failed retries changed the dead letters: %v", ids)
	}

	for _, args := range [][]string{{"retry"}, {"retry", "1", "--all"}, {"purge", "--all"}, {"purge", "x"}, {"bogus"}} {
		mustOpsRun(t, ExitUsage, vars, append([]string{"dlq"}, args...)...)
	}
	if ids := opsDeadLetterIDs(t, l); len(ids) != 2 {
		t.Errorf("refused purge changed the dead letters: %v", ids)
	}

	mustOpsRun(t, ExitOK, vars, "dlq", "purge", id(gone))
	mustOpsRun(t, ExitNotFound, vars, "dlq", "purge", id(gone))
	addOpsDeadLetter(t, l, "x", []byte("{}"))
	publishDLQ(t, nats)
	r = mustOpsRun(t, ExitOK, vars, "dlq", "purge", "--all", "--yes")
	if !strings.Contains(r.stdout, "deleted 2 dead letters; purged 1 messages") {
		t.Errorf("purge --all:\n%s", r)
	}
	if ids := opsDeadLetterIDs(t, l); len(ids) != 0 {
		t.Errorf("after purge --all: %v", ids)
	}
	if n := streamMsgs(t, nats, nats.Names.DLQStream()); n != 0 {
		t.Errorf("DLQ stream holds %d messages after purge", n)
	}
	r = mustOpsRun(t, ExitOK, vars, "dlq", "retry", "--all")
	if !strings.Contains(r.stdout, "no dead letters") {
		t.Errorf("retry --all of nothing: %s", r)
	}
}

func TestDLQCommandUnavailable(t *testing.T) {
	u, l := opsLedger(t, testdb.SQLite)
	id := addOpsDeadLetter(t, l, "ev", mustEncode(t, opsEnvelope("3121362688600000002", "SIGNED", "SIGNING")))
	vars := opsVars(t, u)
	vars["QYSHOOK_NATS_URL"] = "nats://qys:n4tspw@127.0.0.1:1"
	for _, args := range [][]string{{"dlq", "purge", "--all", "--yes"}, {"dlq", "retry", strconv.FormatInt(id, 10)}} {
		start := time.Now()
		r := mustOpsRun(t, ExitUnavailable, vars, args...)
		assertOneLine(t, r, "qyshook dlq: nats: not reachable", "n4tspw")
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("%v took %v", args, d)
		}
	}
	if ids := opsDeadLetterIDs(t, l); !slices.Equal(ids, []int64{id}) {
		t.Errorf("dead letters changed: %v", ids)
	}
	// Reading needs no NATS.
	mustOpsRun(t, ExitOK, vars, "dlq", "list")
	mustOpsRun(t, ExitOK, vars, "dlq", "retry", "--all", "--dry-run")
}

// streamMsgs returns how many messages a stream holds.
func streamMsgs(tb testing.TB, n *natstest.Env, stream string) uint64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := n.JS.Stream(ctx, stream)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return info.State.Msgs
}

// publishDLQ puts one message on the DLQ stream.
func publishDLQ(tb testing.TB, n *natstest.Env) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := n.JS.Publish(ctx, n.Names.DLQSubject("qyshook_ledger"), []byte("{}")); err != nil {
		tb.Fatal(err)
	}
}
