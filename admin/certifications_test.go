package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/store"
)

// seedCertifications writes, through the ledger's own apply path:
// forged — a callback's SUCCESS the API does not know (unconfirmed,
// not_found); odd — an answer the API sent in a shape not recognised
// (unconfirmed, unrecognized_result, the answer kept, with an ID number in
// it); real — a SUCCESS the API confirmed; wait — a company the API says is
// in progress (confirmed, still pending).
func seedCertifications(t *testing.T, l store.Ledger) {
	t.Helper()
	ctx := context.Background()
	for i, c := range []store.Certification{
		{RequestID: "forged", Kind: "personal", Status: "1", State: lifecycle.CertSuccess, Name: "王五",
			Reason: store.CertReasonNotFound, Detail: json.RawMessage(`{"authId":"forged","status":"1","name":"王五"}`)},
		{RequestID: "odd", Kind: "personal", Status: "1", State: lifecycle.CertSuccess, Name: "赵六",
			Reason: store.CertReasonUnrecognized, Answer: json.RawMessage(`{"verdict":"ok","idCardNo":"110101199003071234"}`)},
		{RequestID: "real", Kind: "personal", Status: "true", State: lifecycle.CertSuccess, Confirmed: true, Name: "孙七"},
		{RequestID: "wait", Kind: "company", Status: "4", State: lifecycle.CertInProgress, Confirmed: true, Name: "上海某某科技有限公司"},
	} {
		c.Tenant, c.UpdatedAt = "default", base.Add(time.Duration(i)*time.Minute)
		ev := store.Event{ID: fmt.Sprintf("cert-%d", i), Tenant: "default", Kind: "auth." + c.Kind, Type: c.Status,
			Source: "callback", Payload: json.RawMessage(`{}`)}
		if err := l.ApplyCertification(ctx, ev, c); err != nil {
			t.Fatal(err)
		}
	}
}

// rawItems lists path as token and returns each item as decoded JSON.
func (f *fixture) rawItems(t *testing.T, token, path string) []map[string]any {
	t.Helper()
	var p struct {
		Items []map[string]any `json:"items"`
	}
	if st := f.get(t, token, path, &p); st != http.StatusOK {
		t.Fatalf("%s: %d", path, st)
	}
	return p.Items
}

func byRequestID(items []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, it := range items {
		out[it["request_id"].(string)] = it
	}
	return out
}

// TestUnconfirmedCertificationsVisible: a certification the API did not
// confirm is never answered as a bare success: every answer carries state,
// confirmed, pending and the reason; the kept answer reaches operators
// only; the listing filters by confirmed, pending and state.
func TestUnconfirmedCertificationsVisible(t *testing.T) {
	f := newFixture(t)
	seedCertifications(t, f.ledger)

	for _, token := range []string{viewerToken, operatorToken} {
		items := byRequestID(f.rawItems(t, token, "/certifications?tenant=default"))
		if len(items) != 4 {
			t.Fatalf("%d certifications, want 4", len(items))
		}
		for id, it := range items {
			for _, k := range []string{"state", "confirmed", "pending", "reason", "success", "status"} {
				if _, ok := it[k]; !ok {
					t.Errorf("%s: no %q in %v", id, k, it)
				}
			}
			// A success is shown with the flag that says who said it.
			if it["success"] == true && it["confirmed"] != true && it["reason"] == "" {
				t.Errorf("%s: an unconfirmed success without its reason: %v", id, it)
			}
		}
		forged := items["forged"]
		if forged["state"] != "SUCCESS" || forged["success"] != true || forged["confirmed"] != false ||
			forged["pending"] != true || forged["reason"] != store.CertReasonNotFound {
			t.Errorf("forged = %v, want SUCCESS unconfirmed (not_found), pending", forged)
		}
		if real := items["real"]; real["confirmed"] != true || real["reason"] != "" || real["pending"] != false {
			t.Errorf("real = %v, want confirmed, not pending, no reason", real)
		}
		if wait := items["wait"]; wait["state"] != "IN_PROGRESS" || wait["confirmed"] != true || wait["pending"] != true {
			t.Errorf("wait = %v, want IN_PROGRESS confirmed pending", wait)
		}
		odd := items["odd"]
		_, hasAnswer := odd["answer"]
		if token == viewerToken {
			if hasAnswer {
				t.Errorf("a viewer gets the kept answer: %v", odd)
			}
			if odd["name"] != "赵*" {
				t.Errorf("a viewer sees name %v", odd["name"])
			}
		} else if a, _ := odd["answer"].(map[string]any); a["idCardNo"] != "110101199003071234" {
			t.Errorf("operator: odd = %v, want the kept answer", odd)
		}
		if odd["reason"] != store.CertReasonUnrecognized {
			t.Errorf("odd reason = %v", odd["reason"])
		}
	}

	ids := func(path string) []string {
		var out []string
		for id := range byRequestID(f.rawItems(t, viewerToken, path)) {
			out = append(out, id)
		}
		sort.Strings(out)
		return out
	}
	for path, want := range map[string][]string{
		"/certifications?tenant=default&confirmed=false":                        {"forged", "odd"},
		"/certifications?tenant=default&confirmed=true":                         {"real", "wait"},
		"/certifications?tenant=default&pending=true":                           {"forged", "odd", "wait"},
		"/certifications?tenant=default&state=in_progress":                      {"wait"},
		"/certifications?tenant=default&state=SUCCESS&confirmed=false":          {"forged", "odd"},
		"/certifications?tenant=default&state=SUCCESS,IN_PROGRESS&kind=company": {"wait"},
	} {
		if got := ids(path); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	// Paging keeps the filter.
	if got := pages[adminapi.Certification](t, f, "/certifications?tenant=default&confirmed=false&limit=1"); len(got) != 2 {
		t.Errorf("confirmed=false by pages of 1: %d items, want 2", len(got))
	}
	for _, bad := range []struct{ path, mentions string }{
		{"/certifications?tenant=default&confirmed=maybe", "confirmed"},
		{"/certifications?tenant=default&pending=1", "pending"},
		{"/certifications?tenant=default&state=CERTIFIED", "state"},
	} {
		if msg := f.wantError(t, http.MethodGet, viewerToken, bad.path, http.StatusBadRequest, adminapi.CodeBadRequest); !strings.Contains(msg, bad.mentions) {
			t.Errorf("%s: message %q does not name %q", bad.path, msg, bad.mentions)
		}
	}

	// One certification.
	var one map[string]any
	if st := f.get(t, viewerToken, "/certifications/default/forged", &one); st != http.StatusOK {
		t.Fatalf("one: %d", st)
	}
	if one["confirmed"] != false || one["reason"] != store.CertReasonNotFound || one["state"] != "SUCCESS" {
		t.Errorf("one = %v", one)
	}
	if d, _ := one["detail"].(map[string]any); d["name"] != "王*" {
		t.Errorf("viewer's detail = %v, want the name masked", one["detail"])
	}
	if st := f.get(t, viewerToken, "/certifications/default/odd", &one); st != http.StatusOK || one["answer"] != nil {
		t.Errorf("viewer, odd: %d answer %v", st, one["answer"])
	}
	one = nil
	if st := f.get(t, operatorToken, "/certifications/default/odd", &one); st != http.StatusOK || one["answer"] == nil {
		t.Errorf("operator, odd: %d answer %v", st, one["answer"])
	}
	f.wantError(t, http.MethodGet, viewerToken, "/certifications/default/nobody", http.StatusNotFound, adminapi.CodeNotFound)
	f.wantError(t, http.MethodGet, viewerToken, "/certifications/no%20such/forged", http.StatusNotFound, adminapi.CodeNotFound)
}

// TestOverviewCertificationCounts: the overview counts unconfirmed and
// pending certifications, per tenant and in all.
func TestOverviewCertificationCounts(t *testing.T) {
	f := newFixture(t)
	seedCertifications(t, f.ledger)
	var ov adminapi.Overview
	if st := f.get(t, viewerToken, "/overview", &ov); st != http.StatusOK {
		t.Fatalf("overview: %d", st)
	}
	if len(ov.Tenants) != 1 || ov.Tenants[0].Certifications != 4 || ov.Tenants[0].UnconfirmedCertifications != 2 ||
		ov.Tenants[0].PendingCertifications != 3 {
		t.Errorf("tenants = %+v, want default with 4 certifications, 2 unconfirmed, 3 pending", ov.Tenants)
	}
	if ov.Certifications.Unconfirmed != 2 || ov.Certifications.Pending != 3 {
		t.Errorf("certifications = %+v, want 2 unconfirmed, 3 pending", ov.Certifications)
	}
}

// TestCertificationAnswersAndRunFigures: the one-certification answer
// carries the kept answer (odd) or the detail (forged) to an operator, and
// a reconcile run's certification figures reach /reconcile-runs and the
// overview. (The fields of every answer against docs/admin-openapi.json:
// TestOpenAPIMatchesTheTypes and TestEveryRouteAnswersTheContract.)
func TestCertificationAnswersAndRunFigures(t *testing.T) {
	f := newFixture(t)
	seedCertifications(t, f.ledger)
	var odd, forged adminapi.Certification
	if st := f.get(t, operatorToken, "/certifications/default/odd", &odd); st != http.StatusOK || len(odd.Answer) == 0 {
		t.Errorf("odd = %d %+v, want the kept answer", st, odd)
	}
	if st := f.get(t, operatorToken, "/certifications/default/forged", &forged); st != http.StatusOK || len(forged.Detail) == 0 {
		t.Errorf("forged = %d %+v, want the detail", st, forged)
	}
	done := base.Add(time.Hour)
	if err := f.ledger.(store.AdminLog).SaveReconcileRun(context.Background(), store.ReconcileRun{ID: "run-1", StartedAt: base,
		FinishedAt: &done, StartedBy: "operator:ab12", Since: base.Add(-time.Hour), Checked: 1, CertificationsChecked: 2,
		CertificationsUnconfirmed: 1, UnconfirmedCertifications: []string{"forged"}}); err != nil {
		t.Fatal(err)
	}
	var runs adminapi.Page[adminapi.ReconcileRun]
	if st := f.get(t, viewerToken, "/reconcile-runs", &runs); st != http.StatusOK || len(runs.Items) != 1 {
		t.Fatalf("reconcile runs = %d %+v", st, runs)
	}
	if r := runs.Items[0]; r.CertificationsChecked != 2 || r.CertificationsUnconfirmed != 1 ||
		fmt.Sprint(r.UnconfirmedCertifications) != "[forged]" || r.State != adminapi.JobDone {
		t.Errorf("reconcile run = %+v", r)
	}
	var ov adminapi.Overview
	if st := f.get(t, viewerToken, "/overview", &ov); st != http.StatusOK || ov.LastReconcile == nil || ov.LastReconcile.ID != "run-1" {
		t.Errorf("overview last_reconcile = %d %+v", st, ov.LastReconcile)
	}
}
