package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
)

// testEndpoints: an endpoint round-trips with its secrets, filters and
// headers; enabling and disabling report a change once; outcomes start
// and clear the health; the warning is marked once; attempts list newest
// first and prune; dead letters list, replace and delete; deleting an
// endpoint deletes its rows.
func testEndpoints(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	es, ok := l.(store.EndpointStore)
	if !ok {
		t.Fatalf("%T does not implement store.EndpointStore", l)
	}
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	exp := at.Add(time.Hour)
	ep := store.Endpoint{ID: "ep_1", Tenant: tenant, URL: "https://erp.example/hook", Description: "ERP",
		Types: []string{"contract.COMPLETE", "documents.>"}, Headers: map[string]string{"X-Env": "prod"},
		Secrets:   []store.EndpointSecret{{Secret: "whsec_a", CreatedAt: at}, {Secret: "whsec_b", CreatedAt: at, ExpiresAt: &exp}},
		RateLimit: 5, Concurrency: 3, Ordered: true, AllowHTTP: true, Enabled: true, Source: "api", CreatedAt: at, UpdatedAt: at}
	if err := es.SaveEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	got, err := es.Endpoint(ctx, "ep_1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, ep) {
		t.Fatalf("endpoint round trip:\n got %+v\nwant %+v", *got, ep)
	}
	if s := got.ActiveSecrets(at.Add(2 * time.Hour)); !reflect.DeepEqual(s, []string{"whsec_a"}) {
		t.Fatalf("active secrets after expiry: %v", s)
	}
	if _, err := es.Endpoint(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing endpoint: %v, want ErrNotFound", err)
	}
	if err := es.SaveEndpoint(ctx, store.Endpoint{ID: "ep_2", Tenant: "other", URL: "https://x.example", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if list, err := es.Endpoints(ctx, tenant); err != nil || len(list) != 1 || list[0].ID != "ep_1" {
		t.Fatalf("endpoints of %s: %v %v", tenant, list, err)
	}
	if list, err := es.Endpoints(ctx, ""); err != nil || len(list) != 2 {
		t.Fatalf("all endpoints: %d %v", len(list), err)
	}

	if changed, err := es.SetEndpointEnabled(ctx, "ep_1", false, "410 Gone"); err != nil || !changed {
		t.Fatalf("disable: %v %v", changed, err)
	}
	if changed, err := es.SetEndpointEnabled(ctx, "ep_1", false, "again"); err != nil || changed {
		t.Fatalf("second disable changed it: %v %v", changed, err)
	}
	if got, _ := es.Endpoint(ctx, "ep_1"); got.Enabled || got.DisabledReason != "410 Gone" || got.DisabledAt == nil {
		t.Fatalf("disabled endpoint: %+v", got)
	}
	if _, err := es.SetEndpointEnabled(ctx, "nope", true, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("enable missing: %v", err)
	}

	if got, err := es.RecordEndpointOutcome(ctx, "ep_1", false, at); err != nil || got.FailingSince == nil || !got.FailingSince.Equal(at) {
		t.Fatalf("first failure: %+v %v", got, err)
	}
	if got, _ := es.RecordEndpointOutcome(ctx, "ep_1", false, at.Add(time.Minute)); !got.FailingSince.Equal(at) {
		t.Fatalf("a later failure moved failing_since: %v", got.FailingSince)
	}
	if first, err := es.MarkEndpointWarned(ctx, "ep_1", at); err != nil || !first {
		t.Fatalf("warn: %v %v", first, err)
	}
	if first, _ := es.MarkEndpointWarned(ctx, "ep_1", at); first {
		t.Fatal("warned twice")
	}
	if got, _ := es.RecordEndpointOutcome(ctx, "ep_1", true, at.Add(2*time.Minute)); got.FailingSince != nil || got.WarnedAt != nil || got.LastSuccessAt == nil {
		t.Fatalf("success kept the failure: %+v", got)
	}
	// Several processes record outcomes, which may arrive out of order: a
	// failure whose attempt began before the last success starts no
	// failing, and a success older than the failing does not clear it.
	if got, _ := es.RecordEndpointOutcome(ctx, "ep_1", false, at.Add(90*time.Second)); got.FailingSince != nil {
		t.Fatalf("a failure older than the last success started failing: %v", got.FailingSince)
	}
	if got, _ := es.RecordEndpointOutcome(ctx, "ep_1", false, at.Add(3*time.Minute)); got.FailingSince == nil ||
		!got.FailingSince.Equal(at.Add(3*time.Minute)) {
		t.Fatalf("a failure after the last success: %v", got.FailingSince)
	}
	if got, _ := es.RecordEndpointOutcome(ctx, "ep_1", true, at.Add(150*time.Second)); got.FailingSince == nil ||
		got.LastSuccessAt == nil || !got.LastSuccessAt.Equal(at.Add(150*time.Second)) {
		t.Fatalf("a success older than the failing: failing since %v, last success %v", got.FailingSince, got.LastSuccessAt)
	}
	if got, _ := es.RecordEndpointOutcome(ctx, "ep_1", true, at.Add(time.Minute)); !got.LastSuccessAt.Equal(at.Add(150 * time.Second)) {
		t.Fatalf("an older success moved last_success_at back: %v", got.LastSuccessAt)
	}
	if got, _ := es.RecordEndpointOutcome(ctx, "ep_1", true, at.Add(4*time.Minute)); got.FailingSince != nil {
		t.Fatalf("a later success kept the failing: %v", got.FailingSince)
	}
	// Saving (an edit) keeps the health fields.
	if err := es.SaveEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	if got, _ := es.Endpoint(ctx, "ep_1"); got.LastSuccessAt == nil || !got.Enabled {
		t.Fatalf("save lost health or enabled: %+v", got)
	}

	next := at.Add(5 * time.Second)
	for i := 1; i <= 3; i++ {
		a := store.EndpointAttempt{EndpointID: "ep_1", FactID: "f1", Attempt: i, At: at.Add(time.Duration(i) * time.Second),
			Status: 500, LatencyMS: 12, Response: "oops", NextAttemptAt: &next}
		if i == 3 {
			a.FactID, a.Status, a.Error, a.NextAttemptAt = "f2", 0, "connection refused", nil
		}
		if err := es.AddEndpointAttempts(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	atts, err := es.EndpointAttempts(ctx, store.EndpointAttemptFilter{EndpointID: "ep_1"})
	if err != nil || len(atts) != 3 || atts[0].FactID != "f2" || atts[0].Error != "connection refused" || atts[2].NextAttemptAt == nil {
		t.Fatalf("attempts: %+v %v", atts, err)
	}
	if atts, _ := es.EndpointAttempts(ctx, store.EndpointAttemptFilter{EndpointID: "ep_1", FactID: "f1", Limit: 1}); len(atts) != 1 || atts[0].Attempt != 2 {
		t.Fatalf("attempts of f1, limit 1: %+v", atts)
	}
	if n, err := es.PruneEndpointAttempts(ctx, at.Add(2500*time.Millisecond)); err != nil || n != 2 {
		t.Fatalf("prune: %d %v", n, err)
	}
	// One call of a batch longer than one INSERT's rows keeps every
	// attempt, in order, each with its own fields.
	batch := make([]store.EndpointAttempt, 150)
	for i := range batch {
		batch[i] = store.EndpointAttempt{EndpointID: "ep_1", FactID: "fb", Attempt: i + 1, At: at.Add(time.Hour + time.Duration(i)*time.Millisecond),
			Status: 200, LatencyMS: int64(i)}
		if i%2 == 1 {
			batch[i].Status, batch[i].Error, batch[i].NextAttemptAt = 503, "HTTP 503", &next
		}
	}
	if err := es.AddEndpointAttempts(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	atts, err = es.EndpointAttempts(ctx, store.EndpointAttemptFilter{EndpointID: "ep_1", FactID: "fb"})
	if err != nil || len(atts) != len(batch) {
		t.Fatalf("a batch of %d attempts: got %d, %v", len(batch), len(atts), err)
	}
	for i, a := range atts { // newest first
		w := batch[len(batch)-1-i]
		if a.Attempt != w.Attempt || a.Status != w.Status || a.LatencyMS != w.LatencyMS || a.Error != w.Error ||
			(a.NextAttemptAt == nil) != (w.NextAttemptAt == nil) || !a.At.Equal(w.At) {
			t.Fatalf("batch attempt %d: got %+v, want %+v", w.Attempt, a, w)
		}
	}

	for _, id := range []string{"f1", "f2", "f3"} {
		if err := es.AddEndpointDeadLetter(ctx, store.EndpointDeadLetter{EndpointID: "ep_1", FactID: id,
			Subject: "qys.ledger.default.contract.COMPLETE", Body: []byte(`{"id":"` + id + `"}`), Attempts: 15,
			LastError: "500", FailedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	if err := es.AddEndpointDeadLetter(ctx, store.EndpointDeadLetter{EndpointID: "ep_1", FactID: "f1",
		Subject: "s", Body: []byte(`{}`), Attempts: 16, FailedAt: at}); err != nil {
		t.Fatal(err)
	}
	dls, err := es.EndpointDeadLetters(ctx, "ep_1", 0)
	if err != nil || len(dls) != 3 || dls[0].Attempts != 16 {
		t.Fatalf("dead letters: %+v %v", dls, err)
	}
	if n, err := es.DeleteEndpointDeadLetters(ctx, "ep_1", []string{"f2"}); err != nil || n != 1 {
		t.Fatalf("delete one: %d %v", n, err)
	}
	if n, err := es.DeleteEndpointDeadLetters(ctx, "ep_1", nil); err != nil || n != 2 {
		t.Fatalf("delete all: %d %v", n, err)
	}

	if _, ok, err := es.DeliveryCursor(ctx, "fanout"); err != nil || ok {
		t.Fatalf("cursor before any: %v %v", ok, err)
	}
	for _, seq := range []uint64{5, 9, 7} {
		if err := es.AdvanceDeliveryCursor(ctx, "fanout", seq); err != nil {
			t.Fatal(err)
		}
	}
	if seq, ok, err := es.DeliveryCursor(ctx, "fanout"); err != nil || !ok || seq != 9 {
		t.Fatalf("cursor %d %v %v, want 9 (never moved back)", seq, ok, err)
	}

	if err := es.DeleteEndpoint(ctx, "ep_1"); err != nil {
		t.Fatal(err)
	}
	if err := es.DeleteEndpoint(ctx, "ep_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if atts, _ := es.EndpointAttempts(ctx, store.EndpointAttemptFilter{EndpointID: "ep_1"}); len(atts) != 0 {
		t.Fatalf("attempts survived the endpoint: %d", len(atts))
	}
}
