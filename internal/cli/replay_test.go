package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/cli"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/replay"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

const replaySecret = "0123456789abcdef"

type replayRun struct {
	code           int
	stdout, stderr string
}

func (r replayRun) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runReplayCLI runs qyshook in-process with vars as its environment.
func runReplayCLI(t *testing.T, vars map[string]string, args ...string) replayRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := cli.Main(ctx, args, &cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return vars[k] }})
	return replayRun{code: code, stdout: out.String(), stderr: errb.String()}
}

func mustReplayCLI(t *testing.T, want int, v any, vars map[string]string, args ...string) replayRun {
	t.Helper()
	r := runReplayCLI(t, vars, args...)
	if r.code != want {
		t.Fatalf("qyshook %s: want exit %d, got\n%s", strings.Join(args, " "), want, r)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, r)
		}
	}
	return r
}

// replayWorld is a test JetStream, a fake 契约锁 and the environment
// pointing the CLI at them.
type replayWorld struct {
	nats *natstest.Env
	fake *qystest.Server
}

func newReplayWorld(t *testing.T) *replayWorld {
	t.Helper()
	w := &replayWorld{nats: natstest.New(t), fake: qystest.NewServer()}
	t.Cleanup(w.fake.Close)
	return w
}

// vars is the environment for a ledger at dbURL.
func (w *replayWorld) vars(t *testing.T, dbURL string) map[string]string {
	return map[string]string{
		"QYSHOOK_DATA_DIR": t.TempDir(), "QYSHOOK_DB": dbURL, "QYSHOOK_CALLBACK_SECRET": replaySecret,
		"QYSHOOK_NATS_URL": w.nats.URL, "QYSHOOK_NATS_NAMESPACE": w.nats.Names.Namespace,
		"QYSHOOK_STREAM_MAX_AGE": "1h", "QYSHOOK_STREAM_MAX_BYTES": "-1", "QYSHOOK_DUPLICATE_WINDOW": "10m",
		"QYSHOOK_QYS_BASE_URL": w.fake.URL, "QYSHOOK_QYS_APP_TOKEN": w.fake.AppToken,
		"QYSHOOK_QYS_APP_SECRET": w.fake.AppSecret,
	}
}

func (w *replayWorld) addContract(status string) string {
	return w.fake.AddContract(qystest.ContractSpec{
		Subject: "采购合同", Status: status,
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "张三", Contact: "13900000000"}},
		Documents:   []qystest.DocumentSpec{{Title: "合同正文"}, {Title: "附件", Size: 16 << 10}},
	})
}

func replayEnvelope(contractID, callbackType, status string) *events.Envelope {
	env := &events.Envelope{
		Schema: events.SchemaCallbackV1, Tenant: "default", Kind: events.KindContract, Type: callbackType,
		ContractID: contractID, ContractStatus: status, ReceivedAt: time.Now().UTC(), Format: "A",
		Source: events.SourceCallback, Payload: json.RawMessage(`{"contractId":"` + contractID + `"}`),
	}
	env.ID = events.EventID("default", events.KindContract, contractID, callbackType, status, "")
	return env
}

func (w *replayWorld) publish(t *testing.T, env *events.Envelope) {
	t.Helper()
	data, err := env.Encode()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	subj := w.nats.Names.CallbackSubject(env.Tenant, env.Kind, env.Type)
	if _, err := w.nats.JS.Publish(ctx, subj, data, jetstream.WithMsgID(env.ID)); err != nil {
		t.Fatal(err)
	}
}

// ledgerState is what a ledger holds of contracts, without apply times.
func ledgerState(t *testing.T, dbURL string, ids ...string) string {
	t.Helper()
	l := testdb.OpenURL(t, dbURL)
	ctx := context.Background()
	var b strings.Builder
	for _, id := range ids {
		c, err := l.Contract(ctx, "default", id)
		if err != nil {
			t.Fatalf("contract %s: %v", id, err)
		}
		fmt.Fprintf(&b, "%s %s confirmed=%v detail=%s\n", c.ID, c.Status, c.Confirmed, c.Detail)
		for _, s := range c.Signatories {
			fmt.Fprintf(&b, "  signatory %+v\n", s)
		}
		for _, d := range c.Documents {
			fmt.Fprintf(&b, "  document %s %s %s %d\n", d.ID, d.Title, d.SHA256, d.Size)
		}
		evs, err := l.Events(ctx, "default", id)
		if err != nil {
			t.Fatal(err)
		}
		var es []string
		for _, e := range evs {
			es = append(es, e.ID+" "+e.Type+" "+e.Source)
		}
		slices.Sort(es)
		fmt.Fprintf(&b, "  events %v\n", es)
	}
	_ = l.Close()
	return b.String()
}

func TestReplayUsage(t *testing.T) {
	vars := map[string]string{"QYSHOOK_DATA_DIR": t.TempDir()}
	for name, args := range map[string][]string{
		"FileWithSeq":       {"--file", "x.jsonl", "--from-seq", "3"},
		"FileWithDLQ":       {"--file", "x.jsonl", "--from-dlq"},
		"FileWithTenant":    {"--file", "x.jsonl", "--tenant", "default"},
		"DLQWithSince":      {"--from-dlq", "--since", "1h"},
		"DLQWithToSeq":      {"--from-dlq", "--to-seq", "9"},
		"BadSince":          {"--since", "yesterday"},
		"BadUntil":          {"--until", "2024-13-45"},
		"NegativeDuration":  {"--since", "-1h"},
		"UntilBeforeSince":  {"--since", "1h", "--until", "2h"},
		"ToSeqBelowFromSeq": {"--from-seq", "5", "--to-seq", "4"},
		"NegativeRate":      {"--rate", "-1"},
		"NaNRate":           {"--rate", "NaN"},
		"NegativeLimit":     {"--limit", "-1"},
		"BadTenant":         {"--tenant", "a.b"},
		"Positional":        {"everything"},
		"UnknownFlag":       {"--all"},
		"EmptyFile":         {"--file", ""},
		"MissingFile":       {"--file", filepath.Join(t.TempDir(), "absent.jsonl"), "--dry-run"},
	} {
		t.Run(name, func(t *testing.T) {
			vars := vars
			if name == "MissingFile" {
				vars = map[string]string{"QYSHOOK_DATA_DIR": t.TempDir(), "QYSHOOK_CALLBACK_SECRET": replaySecret}
			}
			r := runReplayCLI(t, vars, append([]string{"replay"}, args...)...)
			if r.code != cli.ExitUsage {
				t.Errorf("want exit %d, got\n%s", cli.ExitUsage, r)
			}
		})
	}
}

func TestReplayNATSUnavailable(t *testing.T) {
	vars := map[string]string{"QYSHOOK_DATA_DIR": t.TempDir(), "QYSHOOK_NATS_URL": "nats://127.0.0.1:1",
		"QYSHOOK_DB": testdb.URL(t, testdb.SQLite)}
	r := runReplayCLI(t, vars, "replay", "--since", "1h", "--dry-run")
	if r.code != cli.ExitUnavailable || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("want exit %d and one line, got\n%s", cli.ExitUnavailable, r)
	}
}

// TestReplayCommandRebuildsLedger replays a time range into a ledger,
// then into a wiped one: the two must be the same, and a second replay
// must change nothing.
func TestReplayCommandRebuildsLedger(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			w := newReplayWorld(t)
			a, b := w.addContract(qys.StatusComplete), w.addContract(qys.StatusSigning)
			envs := []*events.Envelope{replayEnvelope(a, "SIGNED", qys.StatusSigning),
				replayEnvelope(b, "SIGNED", qys.StatusSigning), replayEnvelope(a, "COMPLETE", qys.StatusComplete)}
			for _, env := range envs {
				w.publish(t, env)
			}
			url1 := testdb.URL(t, kind)
			v1 := w.vars(t, url1)

			var dry replay.Report
			mustReplayCLI(t, cli.ExitOK, &dry, v1, "replay", "--dry-run", "--contract", a, "--json")
			if len(dry.Items) != 2 || dry.Items[0].Seq != 1 || dry.Items[1].Seq != 3 || dry.Items[1].EventID != envs[2].ID {
				t.Fatalf("dry run: %+v", dry)
			}
			table := mustReplayCLI(t, cli.ExitOK, nil, v1, "replay", "--dry-run", "--type", "COMPLETE")
			if !strings.Contains(table.stdout, envs[2].ID) || strings.Contains(table.stdout, envs[0].ID) {
				t.Errorf("dry-run table:\n%s", table)
			}

			var rep replay.Report
			mustReplayCLI(t, cli.ExitOK, &rep, v1, "replay", "--since", "1h", "--json")
			if rep.Selected != 3 || rep.Applied != 3 || rep.Failed != 0 || rep.DryRun {
				t.Fatalf("replay: %+v", rep)
			}
			want := ledgerState(t, url1, a, b)
			if !strings.Contains(want, "COMPLETE confirmed=true") || strings.Count(want, "  document ") != 4 {
				t.Fatalf("ledger 1:\n%s", want)
			}

			url2 := testdb.URL(t, kind)
			v2 := w.vars(t, url2)
			for round := 1; round <= 2; round++ {
				r := mustReplayCLI(t, cli.ExitOK, nil, v2, "replay", "--since", "1h", "--rate", "1000")
				if !strings.Contains(r.stdout, "APPLIED") {
					t.Errorf("summary:\n%s", r)
				}
				if got := ledgerState(t, url2, a, b); got != want {
					t.Fatalf("round %d: rebuilt ledger differs:\n got %s\nwant %s", round, got, want)
				}
			}
			ctx := context.Background()
			var out, errb bytes.Buffer
			code := cli.Main(ctx, []string{"replay", "--from-seq", "2"},
				&cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return v2[k] }, Terminal: true})
			if code != cli.ExitOK || !strings.Contains(errb.String(), "\rreplay [") || !strings.Contains(errb.String(), "] 2/2") {
				t.Errorf("terminal run: exit %d, stderr %q", code, errb.String())
			}
			ls, err := w.nats.JS.Stream(ctx, w.nats.Names.LedgerStream())
			if err != nil {
				t.Fatal(err)
			}
			if info, err := ls.Info(ctx); err != nil || info.State.Msgs == 0 {
				t.Errorf("no facts published: %v", err)
			}
		})
	}
}

func TestReplayFileCommand(t *testing.T) {
	w := newReplayWorld(t)
	id := w.addContract(qys.StatusComplete)
	old := time.Now().Add(-90 * 24 * time.Hour)
	payload := `{"contractId":"` + id + `","callbackType":"COMPLETE","contractStatus":"COMPLETE"}`
	var lines []string
	for _, secret := range []string{replaySecret, "fedcba9876543210", replaySecret} {
		out, err := qys.BuildCallback(qys.SenderConfig{Secret: secret, Encrypt: true}, []byte(payload), old)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(map[string]string{"tenant": "default", "kind": "contract",
			"content_type": out.ContentType, "body": string(out.Body)})
		lines = append(lines, string(b))
	}
	file := filepath.Join(t.TempDir(), "callbacks.jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dbURL := testdb.URL(t, testdb.SQLite)
	vars := w.vars(t, dbURL)

	var dry replay.IngestReport
	mustReplayCLI(t, cli.ExitFailure, &dry, vars, "replay", "--file", file, "--dry-run", "--json")
	if !dry.DryRun || len(dry.Items) != 1 || dry.Rejected != 1 || dry.Duplicates != 1 || dry.Problems[0].Line != 2 {
		t.Fatalf("dry run: %+v", dry)
	}
	var rep replay.IngestReport
	r := mustReplayCLI(t, cli.ExitFailure, &rep, vars, "replay", "--file", file, "--json")
	if rep.Published != 1 || rep.Rejected != 1 || !strings.Contains(r.stderr, "1 of 3 lines rejected") {
		t.Fatalf("ingest: %+v\n%s", rep, r)
	}
	var applied replay.Report
	mustReplayCLI(t, cli.ExitOK, &applied, vars, "replay", "--json")
	if applied.Selected != 1 || applied.Applied != 1 {
		t.Fatalf("replay of the ingested callback: %+v", applied)
	}
	state := ledgerState(t, dbURL, id)
	wantID := events.EventID("default", events.KindContract, id, "COMPLETE", "COMPLETE", "")
	if !strings.Contains(state, "COMPLETE confirmed=true") || !strings.Contains(state, wantID+" COMPLETE ingest") {
		t.Errorf("ledger after ingest:\n%s", state)
	}
}

func TestReplayDeadLettersCommand(t *testing.T) {
	w := newReplayWorld(t)
	id := w.addContract(qys.StatusComplete)
	dbURL := testdb.URL(t, testdb.SQLite)
	l := testdb.OpenURL(t, dbURL)
	var rows []int64
	for i, env := range []*events.Envelope{replayEnvelope(id, "COMPLETE", qys.StatusComplete),
		replayEnvelope("404404", "COMPLETE", qys.StatusComplete)} {
		data, _ := env.Encode()
		row, err := l.AddDeadLetter(context.Background(), store.DeadLetter{EventID: env.ID, Tenant: "default",
			Consumer: events.DurableLedger, Subject: "qys.callback.default.contract.COMPLETE", StreamSeq: uint64(i + 1),
			Reason: "test", Deliveries: 1, Payload: data, CreatedAt: time.Now().UTC()})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	vars := w.vars(t, dbURL)
	var dry replay.Report
	mustReplayCLI(t, cli.ExitOK, &dry, vars, "replay", "--from-dlq", "--dry-run", "--json")
	if len(dry.Items) != 2 || dry.Items[0].DeadLetterID != rows[0] {
		t.Fatalf("dry run: %+v", dry)
	}
	var rep replay.Report
	mustReplayCLI(t, cli.ExitFailure, &rep, vars, "replay", "--from-dlq", "--json")
	if rep.Applied != 1 || rep.Failed != 1 || rep.Deleted != 1 {
		t.Fatalf("dlq replay: %+v", rep)
	}
	left, err := l.DeadLetters(context.Background(), 0)
	if err != nil || len(left) != 1 || left[0].ID != rows[1] {
		t.Fatalf("dead letters left: %+v, %v", left, err)
	}
	if c, err := l.Contract(context.Background(), "default", id); err != nil || c.Status != qys.StatusComplete {
		t.Errorf("contract: %+v, %v", c, err)
	}
}
