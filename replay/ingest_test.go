package replay_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/replay"
)

const testSecret = "0123456789abcdef"

// callbackLine builds one JSON line holding a callback signed and
// encrypted with secret, timestamped ts.
func callbackLine(t *testing.T, tenant, kind, secret string, payload string, ts time.Time, base64Body bool) string {
	t.Helper()
	out, err := qys.BuildCallback(qys.SenderConfig{Secret: secret, Encrypt: true}, []byte(payload), ts)
	if err != nil {
		t.Fatal(err)
	}
	l := map[string]any{"tenant": tenant, "kind": kind, "content_type": out.ContentType,
		"received_at": ts.UTC().Format(time.RFC3339)}
	if base64Body {
		l["body_base64"] = base64.StdEncoding.EncodeToString(out.Body)
	} else {
		l["body"] = string(out.Body)
	}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ingestFile is a file of old callbacks: two valid ones (one repeated),
// and four bad lines (4 forged, 5 garbage, 6 unknown tenant, 8 too old).
func ingestFile(t *testing.T) (file string, want []string) {
	old := time.Now().Add(-400 * 24 * time.Hour).Truncate(time.Second)
	contract := `{"contractId":"3121362688614077999","callbackType":"SIGNED","contractStatus":"SIGNING",` +
		`"tenantType":"PERSONAL","tenantName":"张三"}`
	auth := `{"authId":"req-9","status":"1","name":"李四"}`
	valid := callbackLine(t, "default", "contract", testSecret, contract, old, false)
	lines := []string{
		valid,
		valid,
		"",
		callbackLine(t, "default", "contract", "fedcba9876543210", contract, old, false),
		"not json at all",
		callbackLine(t, "nobody", "contract", testSecret, contract, old, false),
		callbackLine(t, "default", "auth.personal", testSecret, auth, old, true),
		callbackLine(t, "default", "contract", testSecret, contract, old.Add(-11*365*24*time.Hour), false),
	}
	want = []string{
		events.EventID("default", events.KindContract, "3121362688614077999", "SIGNED", "SIGNING", "name:PERSONAL:张三"),
		events.EventID("default", events.KindAuthPersonal, "req-9", qys.CallbackTypeAuth, "1||", ""), // status|actionEvent|failReason,
	}
	return strings.Join(lines, "\n") + "\n", want
}

func TestIngest(t *testing.T) {
	w := newWorld(t)
	ctx := ctxT(t)
	file, want := ingestFile(t)
	in, err := replay.NewIngester(replay.IngestConfig{JS: w.nats.JS, Names: w.nats.Names, Rate: 1000,
		Verifiers: map[string]qys.VerifierConfig{"default": {Secrets: []string{testSecret}}}})
	if err != nil {
		t.Fatal(err)
	}
	badLines := []int{4, 5, 6, 8}

	dry, err := in.Ingest(ctx, strings.NewReader(file), true)
	if err != nil {
		t.Fatal(err)
	}
	if dry.Lines != 7 || dry.Verified != 3 || dry.Published != 0 || dry.Duplicates != 1 || dry.Rejected != 4 {
		t.Errorf("dry run: %+v", dry)
	}
	if got := itemIDs(dry.Items); !slices.Equal(got, want) {
		t.Errorf("dry run items %v, want %v", got, want)
	}
	if got := problemLines(dry.Problems); !slices.Equal(got, badLines) {
		t.Errorf("dry run rejected lines %v, want %v (%+v)", got, badLines, dry.Problems)
	}
	if got := streamIDs(t, w); len(got) != 0 {
		t.Fatalf("dry run published %v", got)
	}

	rep, err := in.Ingest(ctx, strings.NewReader(file), false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Published != 2 || rep.Duplicates != 1 || rep.Rejected != 4 || len(rep.Items) != 0 {
		t.Errorf("ingest: %+v", rep)
	}
	for i, frag := range []string{"signature", "not a callback line", "unknown tenant", "window"} {
		if i < len(rep.Problems) && !strings.Contains(rep.Problems[i].Error, frag) {
			t.Errorf("line %d: %q, want it to mention %q", rep.Problems[i].Line, rep.Problems[i].Error, frag)
		}
	}
	if got := problemLines(rep.Problems); !slices.Equal(got, badLines) {
		t.Errorf("rejected lines %v, want %v", got, badLines)
	}
	if got := streamIDs(t, w); !slices.Equal(got, want) {
		t.Fatalf("stream holds %v, want %v", got, want)
	}

	again, err := in.Ingest(ctx, strings.NewReader(file), false)
	if err != nil {
		t.Fatal(err)
	}
	if again.Published != 0 || again.Duplicates != 3 {
		t.Errorf("second ingest: %+v", again)
	}
	if got := streamIDs(t, w); !slices.Equal(got, want) {
		t.Fatalf("after a second ingest the stream holds %v", got)
	}
}

func problemLines(ps []replay.LineError) []int {
	var out []int
	for _, p := range ps {
		out = append(out, p.Line)
	}
	return out
}

// streamIDs reads every envelope on QYS_CALLBACKS and checks it came from
// an ingest.
func streamIDs(t *testing.T, w *world) []string {
	t.Helper()
	r, err := replay.New(replay.Config{JS: w.nats.JS, Names: w.nats.Names, Job: "t"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Run(context.Background(), replay.Selector{}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range rep.Items {
		if it.Envelope.Source != events.SourceIngest || it.Envelope.ReceivedAt.After(time.Now().Add(-300*24*time.Hour)) {
			t.Errorf("envelope %s: source %s received %v", it.EventID, it.Envelope.Source, it.Envelope.ReceivedAt)
		}
	}
	return itemIDs(rep.Items)
}

func TestIngestRejectsLongAndMixedBodies(t *testing.T) {
	in, err := replay.NewIngester(replay.IngestConfig{
		Verifiers: map[string]qys.VerifierConfig{"default": {Secrets: []string{testSecret}}}})
	if err != nil {
		t.Fatal(err)
	}
	file := `{"tenant":"default","body":"a=b","body_base64":"YT1i"}` + "\n" + `{"body_base64":"%%%"}` + "\n"
	rep, err := in.Ingest(context.Background(), bytes.NewReader([]byte(file)), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := problemLines(rep.Problems); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("rejected %v (%+v)", got, rep.Problems)
	}
}

// TestIngestRefusesUnstorableValues (issue 11): a verified callback whose
// contract id holds a NUL byte is refused as the receiver refuses it, not
// published for the dispatcher to dead-letter.
func TestIngestRefusesUnstorableValues(t *testing.T) {
	w := newWorld(t)
	in, err := replay.NewIngester(replay.IngestConfig{JS: w.nats.JS, Names: w.nats.Names, Rate: 1000,
		Verifiers: map[string]qys.VerifierConfig{"default": {Secrets: []string{testSecret}}}})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-400 * 24 * time.Hour).Truncate(time.Second)
	line := callbackLine(t, "default", "contract", testSecret,
		`{"contractId":"3121\u0000362688","callbackType":"SIGNED","contractStatus":"SIGNING"}`, old, false)
	rep, err := in.Ingest(ctxT(t), strings.NewReader(line+"\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Published != 0 || rep.Rejected != 1 || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Error, "contractId") {
		t.Fatalf("ingest: %+v", rep)
	}
	if got := streamIDs(t, w); len(got) != 0 {
		t.Fatalf("stream holds %v", got)
	}
}
