package events_test

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./events -update to create)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("wire format of %s changed (additive changes only; update with -update after review):\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func sampleEnvelope() events.Envelope {
	occurred := time.Date(2026, 11, 27, 8, 30, 0, 0, time.UTC)
	return events.Envelope{
		Schema: events.SchemaCallbackV1,
		ID:     events.EventID("default", events.KindContract, "3121362688614077231", "SEAL", "SIGNING", "id:2422042838839468036"),
		Tenant: "default", Kind: events.KindContract, Type: "SEAL",
		ContractID: "3121362688614077231", ContractStatus: "SIGNING",
		Actor:        &events.Actor{TenantType: "COMPANY", TenantName: "某某科技有限公司", TenantID: "2422042838839468036", Contact: "13800000000"},
		BusinessData: "order-42", OccurredAt: &occurred, ReceivedAt: occurred.Add(150 * time.Millisecond),
		Format: "A", Source: events.SourceCallback,
		Payload: json.RawMessage(`{"contractId":"3121362688614077231","callbackType":"SEAL","contractStatus":"SIGNING"}`),
	}
}

func TestEnvelopeGolden(t *testing.T) {
	golden(t, "callback_contract.json", sampleEnvelope())
	occurred := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	auth := events.Envelope{
		Schema: events.SchemaCallbackV1,
		ID:     events.EventID("default", events.KindAuthCompany, "req-1", "AUTH", "1", ""),
		Tenant: "default", Kind: events.KindAuthCompany, Type: "AUTH",
		Auth:       &events.Auth{RequestID: "req-1", Status: "1", Success: true, Name: "某某科技有限公司", ActionEvent: "7"},
		OccurredAt: &occurred, ReceivedAt: occurred, Format: "A", Source: events.SourceCallback,
		Payload: json.RawMessage(`{"requestId":"req-1","status":"1"}`),
	}
	golden(t, "callback_auth_company.json", auth)
	fact := events.Fact{
		Schema: events.SchemaLedgerV1, ID: "fact-0123456789abcdef0123456789abcdef", Tenant: "default",
		Kind: events.FactDocumentsArchived, ContractID: "3121362688614077231", Seq: 3, Confirmed: true,
		OccurredAt: occurred,
		Documents: []events.FactDocument{{ID: "3121362688614077232", Title: "采购合同", SHA256: strings.Repeat("ab", 32),
			Size: 12345, Path: "documents/default/3121362688614077231/3121362688614077232.pdf"}},
	}
	golden(t, "fact_documents_archived.json", fact)
	status := events.Fact{
		Schema: events.SchemaLedgerV1, ID: "fact-fedcba9876543210fedcba9876543210", Tenant: "default",
		Kind: events.FactContractStatus, ContractID: "3121362688614077231", Seq: 2, BizID: "order-42",
		Status: "COMPLETE", PreviousStatus: "SIGNING", Confirmed: true, Source: events.SourceCallback,
		CauseEventID: "qys-00112233445566778899aabbccddeeff", OccurredAt: occurred,
		Detail: json.RawMessage(`{"id":"3121362688614077231","status":"COMPLETE"}`),
	}
	golden(t, "fact_contract_status.json", status)
	cert := events.Fact{
		Schema: events.SchemaLedgerV1, ID: "fact-00ff00ff00ff00ff00ff00ff00ff00ff", Tenant: "default",
		Kind: events.FactCertificationStatus, Status: "SUCCESS", PreviousStatus: "IN_PROGRESS", Confirmed: true,
		Source: events.SourceCallback, CauseEventID: "qys-ffeeddccbbaa99887766554433221100", OccurredAt: occurred,
		Certification: &events.FactCertification{RequestID: "req-1", Kind: "company", Status: "1", Success: true},
	}
	golden(t, "fact_certification_status.json", cert)
	cp := events.Fact{
		Schema: events.SchemaLedgerV1, ID: events.CheckpointFactID("default", 42), Tenant: "default",
		Kind: events.FactLogCheckpoint, Confirmed: true, OccurredAt: occurred,
		Checkpoint: &events.FactCheckpoint{Origin: "ledger.example.com/qyshook", Size: 42, Root: strings.Repeat("cd", 32),
			KeyID: "1a2b3c4d", Note: "ledger.example.com/qyshook\n42\nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc=\n\n— ledger.example.com/qyshook GiscTQ==\n"},
	}
	golden(t, "fact_log_checkpoint.json", cp)
	if got := (events.Names{}).LedgerCheckpointSubject("default"); got != "qys.ledger.default.log.checkpoint" {
		t.Errorf("checkpoint subject %q", got)
	}
}

func TestDecode(t *testing.T) {
	good := sampleEnvelope()
	cases := []struct {
		name   string
		modify func(e *events.Envelope)
		raw    string
		ok     bool
	}{
		{name: "OK", modify: func(*events.Envelope) {}, ok: true},
		{name: "ErrSchema", modify: func(e *events.Envelope) { e.Schema = "qyshook.callback.v0" }},
		{name: "ErrNoID", modify: func(e *events.Envelope) { e.ID = "" }},
		{name: "ErrNoTenant", modify: func(e *events.Envelope) { e.Tenant = "" }},
		{name: "ErrNoContract", modify: func(e *events.Envelope) { e.ContractID = "" }},
		{name: "ErrKind", modify: func(e *events.Envelope) { e.Kind = "seal" }},
		{name: "ErrAuthWithoutRequest", modify: func(e *events.Envelope) { e.Kind = events.KindAuthPersonal }},
		{name: "ErrGarbage", raw: "\x00\xffnot json"},
		{name: "ErrEmpty", raw: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.raw)
			if tc.modify != nil {
				e := good
				tc.modify(&e)
				var err error
				if data, err = e.Encode(); err != nil {
					t.Fatal(err)
				}
			}
			got, err := events.Decode(data)
			if tc.ok {
				if err != nil || got.ID != good.ID || got.Actor.TenantID != good.Actor.TenantID {
					t.Fatalf("Decode = %+v, %v", got, err)
				}
				return
			}
			if !errors.Is(err, events.ErrInvalidEnvelope) {
				t.Fatalf("err = %v, want ErrInvalidEnvelope", err)
			}
		})
	}
}

func TestEventIDStable(t *testing.T) {
	a := events.EventID("default", events.KindContract, "1", "SEAL", "SIGNING", "id:9")
	if a != events.EventID("default", events.KindContract, "1", "SEAL", "SIGNING", "id:9") {
		t.Fatal("EventID not deterministic")
	}
	for _, other := range []string{
		events.EventID("other", events.KindContract, "1", "SEAL", "SIGNING", "id:9"),
		events.EventID("default", events.KindContract, "2", "SEAL", "SIGNING", "id:9"),
		events.EventID("default", events.KindContract, "1", "PERSONAL", "SIGNING", "id:9"),
		events.EventID("default", events.KindContract, "1", "SEAL", "COMPLETE", "id:9"),
		events.EventID("default", events.KindContract, "1", "SEAL", "SIGNING", "id:8"),
		// Field boundaries matter: "ab"+"c" is not "a"+"bc".
		events.EventID("default", events.KindContract, "1S", "EAL", "SIGNING", "id:9"),
	} {
		if other == a {
			t.Fatalf("collision: %s", other)
		}
	}
	if !strings.HasPrefix(a, "qys-") || len(a) != 36 {
		t.Fatalf("id %q: want qys- and 32 hex digits", a)
	}
}

func TestNames(t *testing.T) {
	var n events.Names
	if got := n.CallbackSubject("default", events.KindContract, "SEAL"); got != "qys.callback.default.contract.SEAL" {
		t.Fatal(got)
	}
	if got := n.CallbackSubject("acme", events.KindAuthPersonal, ""); got != "qys.callback.acme.auth.personal" {
		t.Fatal(got)
	}
	if got := n.CallbackSubject("acme", events.KindContract, "a.b *>"); got != "qys.callback.acme.contract.a_b___" {
		t.Fatalf("unsafe callbackType not sanitised: %s", got)
	}
	if got := n.LedgerContractSubject("acme", "COMPLETE"); got != "qys.ledger.acme.contract.COMPLETE" {
		t.Fatal(got)
	}
	if got := n.LedgerDocumentsSubject("acme"); got != "qys.ledger.acme.documents.archived" {
		t.Fatal(got)
	}
	if got := n.DLQSubject("qyshook_ledger"); got != "qys.dlq.qyshook_ledger" {
		t.Fatal(got)
	}
	ns, err := events.NewNames("ci1")
	if err != nil {
		t.Fatal(err)
	}
	if ns.CallbacksStream() != "ci1_QYS_CALLBACKS" || ns.CallbacksWildcard() != "ci1.qys.callback.>" ||
		ns.Durable(events.DurableLedger) != "ci1_qyshook_ledger" {
		t.Fatalf("namespace not applied: %s %s", ns.CallbacksStream(), ns.CallbacksWildcard())
	}
	tenant, kind, ok := ns.SplitCallbackSubject("ci1.qys.callback.acme.auth.company")
	if !ok || tenant != "acme" || kind != events.KindAuthCompany {
		t.Fatalf("split = %q %q %v", tenant, kind, ok)
	}
	if _, _, ok := n.SplitCallbackSubject("ci1.qys.callback.acme.auth.company"); ok {
		t.Fatal("un-namespaced Names accepted a namespaced subject")
	}
	for _, bad := range []string{"", "a.b", "a b", "*", ">", strings.Repeat("x", 65)} {
		if _, err := events.NewNames(bad); bad != "" && err == nil {
			t.Fatalf("namespace %q accepted", bad)
		}
		if events.ValidToken(bad) {
			t.Fatalf("ValidToken(%q) = true", bad)
		}
	}
}
