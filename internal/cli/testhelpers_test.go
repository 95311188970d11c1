package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// opsResult is what one CLI run printed and returned.
type opsResult struct {
	code           int
	stdout, stderr string
}

func (r opsResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// opsRun runs the CLI in-process with vars as its whole environment.
func opsRun(tb testing.TB, vars map[string]string, args ...string) opsResult {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, args, &Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return vars[k] }})
	return opsResult{code: code, stdout: out.String(), stderr: errb.String()}
}

// mustOpsRun runs the CLI and fails the test unless it exits with want.
func mustOpsRun(tb testing.TB, want int, vars map[string]string, args ...string) opsResult {
	tb.Helper()
	r := opsRun(tb, vars, args...)
	if r.code != want {
		tb.Fatalf("qyshook %s: want exit %d, got\n%s", strings.Join(args, " "), want, r)
	}
	return r
}

// opsVars is a baseline environment: a temporary data dir and the ledger
// at dbURL.
func opsVars(tb testing.TB, dbURL string) map[string]string {
	tb.Helper()
	// Private, as serve creates it (t.TempDir makes it 0755, which doctor
	// reports).
	dir := tb.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	return map[string]string{"QYSHOOK_DATA_DIR": dir, "QYSHOOK_DB": dbURL}
}

// withOpsFake gives the default tenant the fake's API credentials.
func withOpsFake(vars map[string]string, fake *qystest.Server) map[string]string {
	vars["QYSHOOK_QYS_BASE_URL"] = fake.URL
	vars["QYSHOOK_QYS_APP_TOKEN"] = fake.AppToken
	vars["QYSHOOK_QYS_APP_SECRET"] = fake.AppSecret
	return vars
}

// opsLedger returns a fresh ledger of kind, open, and its URL.
func opsLedger(tb testing.TB, kind testdb.Kind) (string, store.Ledger) {
	tb.Helper()
	u := testdb.URL(tb, kind)
	return u, testdb.OpenURL(tb, u)
}

// mustOpsJSON decodes a run's stdout into v.
func mustOpsJSON(tb testing.TB, r opsResult, v any) {
	tb.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		tb.Fatalf("stdout is not the JSON expected: %v\n%s", err, r)
	}
}

// assertOneLine checks stderr is one line holding want and none of the
// forbidden strings.
func assertOneLine(tb testing.TB, r opsResult, want string, forbidden ...string) {
	tb.Helper()
	if strings.Count(strings.TrimRight(r.stderr, "\n"), "\n") != 0 || !strings.Contains(r.stderr, want) {
		tb.Errorf("want one stderr line with %q, got\n%s", want, r)
	}
	for _, f := range forbidden {
		if strings.Contains(r.stderr+r.stdout, f) {
			tb.Errorf("output leaks %q:\n%s", f, r)
		}
	}
}

// opsEnvelope is a contract callback envelope as the receiver stores it.
func opsEnvelope(contractID, callbackType, status string) events.Envelope {
	env := events.Envelope{
		Schema: events.SchemaCallbackV1, Tenant: "default", Kind: events.KindContract, Type: callbackType,
		ContractID: contractID, ContractStatus: status, ReceivedAt: time.Now().UTC(), Format: "A",
		Source: events.SourceCallback, Payload: json.RawMessage(`{"contractId":"` + contractID + `"}`),
	}
	env.ID = events.EventID("default", events.KindContract, contractID, callbackType, status, "")
	return env
}

// opsStreamSeq numbers the fake stream messages of test dead letters: one
// message is dead-lettered once per consumer.
var opsStreamSeq atomic.Uint64

// addOpsDeadLetter stores a dead letter with payload and returns its id.
func addOpsDeadLetter(tb testing.TB, l store.Ledger, eventID string, payload []byte) int64 {
	tb.Helper()
	id, err := l.AddDeadLetter(context.Background(), store.DeadLetter{
		EventID: eventID, Tenant: "default", Consumer: events.DurableLedger, Subject: "qys.callback.default.contract.X",
		StreamSeq: 1000 + opsStreamSeq.Add(1), Reason: "contract_not_found: qys: contract not found", Deliveries: 1, Payload: payload,
		CreatedAt: time.Now().UTC(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// mustEncode encodes an envelope.
func mustEncode(tb testing.TB, env events.Envelope) []byte {
	tb.Helper()
	b, err := env.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// opsDeadLetterIDs lists the ids of the dead letters in l.
func opsDeadLetterIDs(tb testing.TB, l store.Ledger) []int64 {
	tb.Helper()
	rows, err := l.DeadLetters(context.Background(), 0)
	if err != nil {
		tb.Fatal(err)
	}
	ids := make([]int64, len(rows))
	for i, d := range rows {
		ids[i] = d.ID
	}
	return ids
}
