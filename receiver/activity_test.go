package receiver_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/qyshook/qyshook/activity"
	"github.com/qyshook/qyshook/receiver"
)

// TestActivityCounts: the receiver tells the activity each stored
// callback (a duplicate is not received twice) and each refused one,
// under its tenant, as it answers.
func TestActivityCounts(t *testing.T) {
	rec := activity.New()
	h := newHarness(t, nil, func(o *receiver.Options) { o.Activity = rec })
	good := mustBuild(t, senderA(secretA), contractPayload("a-1", "SEAL", "SIGNING"), time.Now())
	for range 2 { // the second is a duplicate
		if r := h.post(t, "/callbacks/acme/contract", good.ContentType, good.Body); r.status != http.StatusOK {
			t.Fatalf("good callback: %d %s", r.status, r.body)
		}
	}
	other := mustBuild(t, senderA(secretB), contractPayload("b-1", "SEAL", "SIGNING"), time.Now())
	h.post(t, "/callbacks/beta/contract", other.ContentType, other.Body)
	forged := mustBuild(t, senderA(secretB), contractPayload("a-2", "SEAL", "SIGNING"), time.Now())
	if r := h.post(t, "/callbacks/acme/contract", forged.ContentType, forged.Body); r.status == http.StatusOK {
		t.Fatalf("forged callback stored: %s", r.body)
	}
	h.post(t, "/callbacks/nobody/contract", good.ContentType, good.Body)
	_, series := rec.Window(time.Hour, time.Minute)
	got := map[[2]string]float64{}
	for _, s := range series {
		for _, p := range s.Points {
			got[[2]string{s.Name, s.Tenant}] += p
		}
	}
	want := map[[2]string]float64{
		{activity.Received, "acme"}: 1, {activity.Received, "beta"}: 1,
		{activity.Refused, "acme"}: 1, {activity.Refused, "_unknown"}: 1,
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s of %s = %v, want %v (all: %v)", k[0], k[1], got[k], n, got)
		}
	}
}
