package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
)

// testCertificationChanges: confirmed certifications never regress, facts
// are written only with a change (with the previous state), and pending
// rows are listed for the reconciler.
func testCertificationChanges(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	ev := func(id string) store.Event {
		return store.Event{ID: id, Tenant: tenant, Kind: "auth.company", Type: "AUTH", Source: "callback"}
	}
	fact := func(id string) []store.Fact {
		return []store.Fact{{ID: id, Subject: "qys.ledger.default.certification.X", Tenant: tenant,
			AfterPrevious: true, Payload: []byte(`{"kind":"certification.status"}`)}}
	}
	apply := func(evID string, c store.Certification) store.CertificationApplied {
		t.Helper()
		c.Tenant, c.RequestID, c.Kind = tenant, "cr1", "company"
		res, err := l.ApplyCertificationChange(ctx, store.CertificationChange{Event: ev(evID), Certification: c, Facts: fact("f-" + evID)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// The callback's word (unconfirmed, with its reason and the answer
	// that did not confirm it), then the API's in-progress (the API's word
	// replaces a callback's success), then the API's success. The API's
	// codes differ from the callback's: State is stored, not derived.
	if res := apply("e1", store.Certification{Status: "1", Success: true, Name: "甲方",
		Reason: store.CertReasonUnrecognized, Answer: json.RawMessage(`{"status":1}`)}); !res.Changed || res.Previous != nil {
		t.Fatalf("first apply = %+v", res)
	}
	if got, err := l.Certification(ctx, tenant, "cr1"); err != nil || got.Confirmed || got.Reason != store.CertReasonUnrecognized ||
		string(compact(got.Answer)) != `{"status":1}` || got.State != "SUCCESS" || !got.Pending {
		t.Fatalf("unconfirmed row = %+v %v", got, err)
	}
	if res := apply("e2", store.Certification{Status: "4", State: "IN_PROGRESS", Confirmed: true, Detail: json.RawMessage(`{"status":4}`)}); !res.Changed {
		t.Fatal("a confirmed in-progress did not replace an unconfirmed success (the API's word is the truth)")
	}
	if got, err := l.Certification(ctx, tenant, "cr1"); err != nil || !got.Confirmed || got.Reason != "" || got.Answer != nil ||
		got.State != "IN_PROGRESS" || got.Success || got.Status != "4" {
		t.Fatalf("confirmed in-progress row = %+v %v", got, err)
	}
	if res := apply("e3", store.Certification{Status: "2", State: "SUCCESS", Confirmed: true, Detail: json.RawMessage(`{"status":2}`)}); !res.Changed ||
		res.Previous == nil || !res.Previous.Confirmed {
		t.Fatalf("confirming the success = %+v", res)
	}
	if res := apply("e4", store.Certification{Status: "3", State: "FAILED", Confirmed: true, FailReason: "late"}); res.Changed {
		t.Fatal("a failure replaced a confirmed success")
	}
	if res := apply("e5", store.Certification{Status: "1", Success: true}); res.Changed {
		t.Fatal("a callback's word replaced the API's")
	}
	got, err := l.Certification(ctx, tenant, "cr1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Success || !got.Confirmed || got.Pending || got.Name != "甲方" || got.FailReason != "" ||
		string(compact(got.Detail)) != `{"status":2}` || got.State != "SUCCESS" {
		t.Fatalf("certification = %+v", got)
	}
	var facts []store.Fact
	all, err := l.Outbox(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range all {
		if f.Subject == "qys.ledger.default.certification.X" {
			facts = append(facts, f)
		}
	}
	if len(facts) != 3 {
		t.Fatalf("%d certification facts, want 3 (one per change)", len(facts))
	}
	var second struct {
		Previous string `json:"previous_status"`
	}
	if err := json.Unmarshal(facts[1].Payload, &second); err != nil || second.Previous != "SUCCESS" {
		t.Fatalf("second fact %s: previous %q", facts[1].Payload, second.Previous)
	}
	if err := json.Unmarshal(facts[2].Payload, &second); err != nil || second.Previous != "IN_PROGRESS" {
		t.Fatalf("second fact %s: previous %q", facts[1].Payload, second.Previous)
	}
	// Pending: an in-progress confirmed row and an unconfirmed one; not
	// the success.
	for i, c := range []store.Certification{{RequestID: "cr2", Status: "0", Confirmed: true}, {RequestID: "cr3", Status: "2"}} {
		c.Tenant, c.Kind = tenant, "personal"
		if err := l.ApplyCertification(ctx, ev("p"+string(rune('0'+i))), c); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := l.PendingCertifications(ctx, tenant, time.Now().Add(time.Minute), nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 || pending[0].RequestID != "cr2" || pending[1].RequestID != "cr3" {
		t.Fatalf("pending = %+v, want cr2 then cr3", pending)
	}
	// An unconfirmed row told something new by another unconfirmed word
	// (the answer was not recognised this time) keeps its state and takes
	// the new reason and answer, without a fact.
	before, err := l.Outbox(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.ApplyCertificationChange(ctx, store.CertificationChange{Event: ev("p9"),
		Certification: store.Certification{Tenant: tenant, RequestID: "cr3", Kind: "personal", Status: "2",
			Reason: store.CertReasonUnrecognized, Answer: json.RawMessage(`{"odd":1}`)},
		Facts: fact("f-p9")})
	if err != nil || res.Changed {
		t.Fatalf("same-state unconfirmed word: %+v, %v", res, err)
	}
	if got, err := l.Certification(ctx, tenant, "cr3"); err != nil || got.Reason != store.CertReasonUnrecognized ||
		string(compact(got.Answer)) != `{"odd":1}` || got.Confirmed {
		t.Fatalf("cr3 after an unrecognised answer = %+v, %v", got, err)
	}
	if after, _ := l.Outbox(ctx, 0); len(after) != len(before) {
		t.Fatalf("a reason update wrote a fact")
	}
	// Paged: after cr2 comes cr3, after cr3 nothing.
	key := pending[0].Key()
	if next, err := l.PendingCertifications(ctx, tenant, time.Now().Add(time.Minute), &key, 10); err != nil ||
		len(next) != 1 || next[0].RequestID != "cr3" {
		t.Fatalf("pending after cr2 = %+v, %v; want cr3", next, err)
	}
	key = pending[1].Key()
	if next, err := l.PendingCertifications(ctx, tenant, time.Now().Add(time.Minute), &key, 10); err != nil || len(next) != 0 {
		t.Fatalf("pending after cr3 = %+v, %v; want none", next, err)
	}
	if pending, err := l.PendingCertifications(ctx, tenant, time.Now().Add(-time.Hour), nil, 10); err != nil || len(pending) != 0 {
		t.Fatalf("pending before an hour ago = %+v, %v", pending, err)
	}
	// A row migration 0008 set back to unconfirmed (reason reread) and
	// confirmed again in the same state writes no second fact; confirmed
	// in another state, it does (a correction).
	if err := l.ApplyCertification(ctx, ev("rr0"), store.Certification{Tenant: tenant, RequestID: "cr4", Kind: "company",
		Status: "2", State: "SUCCESS", Reason: store.CertReasonReread}); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		all, err := l.Outbox(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(all)
	}
	n := count()
	if res, err := l.ApplyCertificationChange(ctx, store.CertificationChange{Event: ev("rr1"), Facts: fact("f-rr1"),
		Certification: store.Certification{Tenant: tenant, RequestID: "cr4", Status: "2", State: "SUCCESS", Confirmed: true}}); err != nil ||
		!res.Changed || !res.Current.Confirmed || count() != n {
		t.Fatalf("reread confirmed in the same state: %+v, %v, facts %d -> %d", res, err, n, count())
	}
	if err := l.ApplyCertification(ctx, ev("rr2"), store.Certification{Tenant: tenant, RequestID: "cr5", Kind: "company",
		Status: "1", State: "SUCCESS", Reason: store.CertReasonReread}); err != nil {
		t.Fatal(err)
	}
	n = count()
	if res, err := l.ApplyCertificationChange(ctx, store.CertificationChange{Event: ev("rr3"), Facts: fact("f-rr3"),
		Certification: store.Certification{Tenant: tenant, RequestID: "cr5", Status: "1", State: "NOT_SUBMITTED", Confirmed: true}}); err != nil ||
		!res.Changed || count() != n+1 {
		t.Fatalf("reread corrected: %+v, %v, facts %d -> %d", res, err, n, count())
	}
}

// testDocumentVerification: the verification recorded with an archived
// document reads back.
func testDocumentVerification(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	MustApply(t, l, change("v1", "cv", step{status: "COMPLETE", confirmed: true}))
	at := time.Date(2026, 12, 1, 8, 0, 0, 123456000, time.UTC)
	doc := store.Document{ID: "dv", ContractID: "cv", Title: "正文", SHA256: "cd34", Size: 10, Path: "documents/sha256/cd/cd34.pdf",
		VerifyVerdict: "invalid", VerifySignatures: 2, VerifiedAt: &at, VerifyProblem: "signature 2 does not cover the file",
		ValidationSHA256: "ef56", ValidationPath: "documents/sha256/ef/ef56.json", ValidationStatus: "unreachable",
		Discrepancies: `[{"kind":"unknown_signer","document":"dv","party":"X","detail":"d"}]`}
	if changed, err := l.ArchiveDocument(ctx, tenant, doc, nil); err != nil || !changed {
		t.Fatalf("archive = %v, %v", changed, err)
	}
	c := MustContract(t, l, "cv")
	var d *store.Document
	for i := range c.Documents {
		if c.Documents[i].ID == "dv" {
			d = &c.Documents[i]
		}
	}
	if d == nil || d.VerifyVerdict != "invalid" || d.VerifySignatures != 2 || d.VerifiedAt == nil ||
		!d.VerifiedAt.Equal(at) || d.VerifyProblem != doc.VerifyProblem ||
		d.ValidationSHA256 != "ef56" || d.ValidationPath != doc.ValidationPath || d.ValidationStatus != "unreachable" ||
		d.Discrepancies != doc.Discrepancies {
		t.Fatalf("document = %+v", d)
	}
	// The version keeps its own material (migration 0016).
	if vs, err := l.DocumentVersions(ctx, tenant, "dv"); err != nil || len(vs) != 1 ||
		vs[0].ValidationSHA256 != "ef56" || vs[0].ValidationPath != doc.ValidationPath {
		t.Fatalf("DocumentVersions = %+v, %v", vs, err)
	}
	list, err := l.Documents(ctx, store.DocumentFilter{Tenant: tenant})
	if err != nil || len(list) == 0 || list[0].VerifyVerdict != "invalid" {
		t.Fatalf("Documents = %+v, %v", list, err)
	}
}

func compact(b []byte) []byte {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return b
	}
	out, _ := json.Marshal(v)
	return out
}
