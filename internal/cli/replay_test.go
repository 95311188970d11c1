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
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/archiver"
	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/cli"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/replay"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/docstore"
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
		"Bare":              {},
		"LimitAlone":        {"--limit", "5"},
		"DryRunAlone":       {"--dry-run"},
		"BadJob":            {"--since", "1h", "--job", "a b"},
		"FileWithJob":       {"--file", "x.jsonl", "--job", "j"},
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

// runDispatcher starts a dispatcher (the running service) on the
// world's stream, applying into the ledger at dbURL; it returns the
// function stopping it.
func (w *replayWorld) runDispatcher(t *testing.T, dbURL string) (stop func()) {
	t.Helper()
	l := testdb.OpenURL(t, dbURL)
	client, err := w.fake.Client()
	if err != nil {
		t.Fatal(err)
	}
	d, err := dispatcher.New(dispatcher.Config{JS: w.nats.JS, Names: w.nats.Names, Ledger: l,
		APIs: map[string]dispatcher.API{"default": client}, MaxDeliver: 2,
		Backoff: dispatcher.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := archiver.New(archiver.Options{Ledger: l, Docs: docstore.New(t.TempDir()), Names: w.nats.Names,
		APIs: map[string]archiver.API{"default": client}, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- d.Run(ctx) }()
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			for range 2 {
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// eventually polls cond until it holds, or fails after a generous
// deadline (a hang, not a speed check).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// contractsOnly drops the event lines of a ledgerState.
func contractsOnly(state string) string {
	var keep []string
	for _, line := range strings.Split(state, "\n") {
		if !strings.HasPrefix(line, "  events ") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// TestReplayCommandRebuildsLedger: the service applies the stream into a
// ledger; it then runs on a wiped one, and a replay of the time range
// (which opens no ledger) has the running dispatcher rebuild the same
// contracts. The same job again republishes nothing.
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
			stop := w.runDispatcher(t, url1)
			var want string
			eventually(t, "ledger 1 applied", func() bool {
				want = contractsOnly(ledgerStateOK(t, url1, a, b))
				return strings.Contains(want, "COMPLETE confirmed=true") && strings.Count(want, "  document ") == 4 &&
					strings.Count(want, "  0\n") == 2 // only the SIGNING contract's documents wait
			})
			stop()

			url2 := testdb.URL(t, kind)
			w.runDispatcher(t, url2)
			v2 := w.vars(t, "sqlite:///nonexistent/dir/ledger.db") // a replay never opens the ledger

			var dry replay.Report
			mustReplayCLI(t, cli.ExitOK, &dry, v2, "replay", "--dry-run", "--contract", a, "--json")
			if len(dry.Items) != 2 || dry.Items[0].Seq != 1 || dry.Items[1].Seq != 3 || dry.Items[1].EventID != envs[2].ID {
				t.Fatalf("dry run: %+v", dry)
			}
			table := mustReplayCLI(t, cli.ExitOK, nil, v2, "replay", "--dry-run", "--type", "COMPLETE")
			if !strings.Contains(table.stdout, envs[2].ID) || strings.Contains(table.stdout, envs[0].ID) {
				t.Errorf("dry-run table:\n%s", table)
			}

			var rep replay.Report
			mustReplayCLI(t, cli.ExitOK, &rep, v2, "replay", "--since", "1h", "--job", "rebuild", "--json")
			if rep.Selected != 3 || rep.Republished != 3 || rep.Failed != 0 || rep.DryRun || rep.Job != "rebuild" {
				t.Fatalf("replay: %+v", rep)
			}
			var got string
			defer func() {
				if t.Failed() {
					t.Logf("ledger 2:\n%s\nwant:\n%s", got, want)
				}
			}()
			eventually(t, "ledger 2 rebuilt by the dispatcher", func() bool {
				got = contractsOnly(ledgerStateOK(t, url2, a, b))
				return got == want
			})
			state := ledgerState(t, url2, a, b)
			if strings.Count(state, " "+events.SourceReplay) != 3 || strings.Contains(state, envs[0].ID) {
				t.Errorf("rebuilt events are not the replays:\n%s", state)
			}
			r := mustReplayCLI(t, cli.ExitOK, nil, v2, "replay", "--since", "1h", "--job", "rebuild")
			if !strings.Contains(r.stdout, "REPUBLISHED") || strings.Contains(r.stdout, "republished 3") {
				t.Errorf("the same job again:\n%s", r)
			}
			ctx := context.Background()
			var out, errb bytes.Buffer
			code := cli.Main(ctx, []string{"replay", "--from-seq", "2", "--to-seq", "3"},
				&cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return v2[k] }, Terminal: true})
			if code != cli.ExitOK || !strings.Contains(errb.String(), "\rreplay [") || !strings.Contains(errb.String(), "] 2/2") {
				t.Errorf("terminal run: exit %d, stderr %q", code, errb.String())
			}
			if _, err := os.Stat("/nonexistent/dir"); err == nil {
				t.Error("a replay created a ledger directory")
			}
		})
	}
}

// ledgerStateOK is ledgerState, or "" while a contract is missing.
func ledgerStateOK(t *testing.T, dbURL string, ids ...string) string {
	t.Helper()
	l := testdb.OpenURL(t, dbURL)
	defer l.Close()
	for _, id := range ids {
		if _, err := l.Contract(context.Background(), "default", id); err != nil {
			return ""
		}
	}
	return ledgerState(t, dbURL, ids...)
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
	w.runDispatcher(t, dbURL)

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
	var state string
	eventually(t, "the dispatcher applies the ingested callback", func() bool {
		state = ledgerStateOK(t, dbURL, id)
		return strings.Contains(state, "COMPLETE confirmed=true")
	})
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
			Consumer: events.DurableLedger, Subject: "qys.callback.default.contract.COMPLETE", StreamSeq: uint64(1000 + i),
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
	mustReplayCLI(t, cli.ExitOK, &rep, vars, "replay", "--from-dlq", "--json")
	if rep.Republished != 2 || rep.Failed != 0 {
		t.Fatalf("dlq replay: %+v", rep)
	}
	if left, err := l.DeadLetters(context.Background(), 0); err != nil || len(left) != 2 {
		t.Fatalf("the CLI changed the dead letters: %+v, %v", left, err)
	}
	w.runDispatcher(t, dbURL)
	var left []store.DeadLetter
	defer func() {
		if t.Failed() {
			for _, d := range left {
				t.Logf("dead letter %d %s %s %s", d.ID, d.EventID, d.Subject, d.Reason)
			}
		}
	}()
	eventually(t, "one dead letter resolved, the other replaced", func() bool {
		var err error
		left, err = l.DeadLetters(context.Background(), 0)
		return err == nil && len(left) == 1 && left[0].ID != rows[0] && left[0].ID != rows[1]
	})
	if c, err := l.Contract(context.Background(), "default", id); err != nil || c.Status != qys.StatusComplete {
		t.Errorf("contract: %+v, %v", c, err)
	}
}
