package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store"
)

func certEvent(id string) store.Event {
	return store.Event{ID: id, Tenant: tenant, Kind: "auth.personal", Type: "PERSONAL", Source: "callback",
		Payload: []byte(`{"requestId":"r1"}`)}
}

func testCertifications(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	c := store.Certification{Tenant: tenant, RequestID: "r1", Kind: "personal", Status: "AUTHING", Mode: "FACE", Name: "张三"}
	if err := l.ApplyCertification(ctx, certEvent("a1"), c); err != nil {
		t.Fatal(err)
	}
	if err := l.ApplyCertification(ctx, certEvent("a1"), c); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("repeat = %v, want ErrDuplicate", err)
	}
	c.Status, c.Success = "SUCCESS", true
	if err := l.ApplyCertification(ctx, certEvent("a2"), c); err != nil {
		t.Fatal(err)
	}
	late := c
	late.Status, late.Success, late.FailReason = "AUTHING", false, "late"
	if err := l.ApplyCertification(ctx, certEvent("a3"), late); err != nil {
		t.Fatal(err)
	}
	got, err := l.Certification(ctx, tenant, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "SUCCESS" || !got.Success || got.Name != "张三" || got.Kind != "personal" || got.Mode != "FACE" ||
		got.FailReason != "" || got.UpdatedAt.IsZero() {
		t.Errorf("certification = %+v, want the success kept", got)
	}
	failed := store.Certification{Tenant: tenant, RequestID: "r2", Kind: "company", Status: "FAIL", FailReason: "bad licence"}
	if err := l.ApplyCertification(ctx, certEvent("b1"), failed); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Certification(ctx, tenant, "r2"); err != nil || got.Success || got.FailReason != "bad licence" {
		t.Errorf("failed certification = %+v, %v", got, err)
	}
	if _, err := l.Certification(ctx, tenant, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing certification err = %v", err)
	}
	list, err := l.Certifications(ctx, tenant, 10)
	if err != nil || len(list) != 2 {
		t.Fatalf("Certifications = %d rows, %v; want 2", len(list), err)
	}
	seen := map[string]bool{}
	for _, c := range list {
		seen[c.RequestID] = true
	}
	if !seen["r1"] || !seen["r2"] {
		t.Errorf("Certifications lists %v", seen)
	}
	if other, err := l.Certifications(ctx, "some-other-tenant", 10); err != nil || len(other) != 0 {
		t.Errorf("another tenant sees %d certifications, %v", len(other), err)
	}
}

func testDeadLetters(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	created := time.Date(2025, 3, 4, 5, 6, 7, 890123000, time.FixedZone("CST", 8*3600))
	d := store.DeadLetter{EventID: "e1", Tenant: tenant, Consumer: "ledger", Subject: "qys.callback.default.contract.SIGNED",
		StreamSeq: math.MaxInt64, Reason: "bad json", Deliveries: 5, Payload: []byte{0xff, 0, 'x'}, CreatedAt: created}
	id1, err := l.AddDeadLetter(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	// The same stream message dead-lettered again (a crash before Term)
	// keeps one row, with the newer reason.
	again := d
	again.Reason, again.Deliveries = "bad json again", 6
	if idAgain, err := l.AddDeadLetter(ctx, again); err != nil || idAgain != id1 {
		t.Fatalf("re-dead-lettering seq %d gave id %d, %v; want the first row %d", d.StreamSeq, idAgain, err, id1)
	}
	if got, _ := l.DeadLetter(ctx, id1); got == nil || got.Reason != "bad json again" || got.Deliveries != 6 {
		t.Fatalf("re-dead-lettered row = %+v", got)
	}
	if _, err := l.AddDeadLetter(ctx, again); err != nil {
		t.Fatal(err)
	}
	again.Reason, again.Deliveries = "bad json", 5
	if _, err := l.AddDeadLetter(ctx, again); err != nil {
		t.Fatal(err)
	}
	d.EventID, d.Payload, d.CreatedAt, d.StreamSeq = "e2", nil, time.Time{}, 42
	id2, err := l.AddDeadLetter(ctx, d)
	if err != nil || id2 <= id1 {
		t.Fatalf("second id = %d (first %d), %v", id2, id1, err)
	}
	all, err := l.DeadLetters(ctx, 0)
	if err != nil || len(all) != 2 || all[0].ID != id1 || all[1].ID != id2 {
		t.Fatalf("dead letters = %+v, %v", all, err)
	}
	got, err := l.DeadLetter(ctx, id1)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Payload) != "\xff\x00x" || got.StreamSeq != math.MaxInt64 || got.Deliveries != 5 || got.Reason != "bad json" ||
		got.Consumer != "ledger" || got.Subject != d.Subject || !got.CreatedAt.Equal(created) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("dead letter = %+v", got)
	}
	if got.RetryOf != 0 || got.Retries != 0 || got.FirstFailedAt != nil {
		t.Errorf("a first dead letter names a predecessor: %+v", got)
	}
	// A retry of id2 that failed again: linked to it (migration 0014).
	first := created.Add(-time.Hour)
	d.EventID, d.StreamSeq, d.RetryOf, d.Retries, d.FirstFailedAt = "e2", 43, id2, 1, &first
	id3, err := l.AddDeadLetter(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := l.DeadLetter(ctx, id3); err != nil || got.RetryOf != id2 || got.Retries != 1 || got.FirstFailedAt == nil ||
		!got.FirstFailedAt.Equal(first) {
		t.Errorf("retried-again dead letter = %+v, %v; want retry_of %d, retries 1, first failed %v", got, err, id2, first)
	}
	if err := l.DeleteDeadLetter(ctx, id3); err != nil {
		t.Fatal(err)
	}
	d.RetryOf, d.Retries, d.FirstFailedAt = 0, 0, nil
	if one, err := l.DeadLetters(ctx, 1); err != nil || len(one) != 1 {
		t.Errorf("DeadLetters(1) = %d, %v", len(one), err)
	}
	if err := l.DeleteDeadLetter(ctx, id1); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteDeadLetter(ctx, id1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}
	if _, err := l.DeadLetter(ctx, id1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get deleted = %v, want ErrNotFound", err)
	}
	if _, err := l.AddDeadLetter(ctx, store.DeadLetter{StreamSeq: math.MaxUint64}); err == nil {
		t.Error("stream sequence above MaxInt64 accepted")
	}
}

func testContracts(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for i, st := range []string{"SIGNING", "COMPLETE", "SIGNING", "DRAFT"} {
		ch := change(fmt.Sprintf("e%d", i), fmt.Sprintf("c%d", i), step{status: st, confirmed: true})
		ch.Contract.UpdatedAt = base.Add(time.Duration(i) * time.Hour)
		MustApply(t, l, ch)
	}
	other := change("o1", "c9", step{status: "SIGNING"})
	other.Event.Tenant, other.Contract.Tenant = "other", "other"
	MustApply(t, l, other)
	ids := func(f store.ContractFilter) []string {
		t.Helper()
		cs, err := l.Contracts(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	check := func(name string, f store.ContractFilter, want ...string) {
		t.Helper()
		if got := ids(f); !slices.Equal(got, want) {
			t.Errorf("%s: contracts = %v, want %v", name, got, want)
		}
	}
	check("tenant", store.ContractFilter{Tenant: tenant}, "c3", "c2", "c1", "c0")
	check("status", store.ContractFilter{Tenant: tenant, Status: []string{"SIGNING", "DRAFT"}}, "c3", "c2", "c0")
	check("stale", store.ContractFilter{Tenant: tenant, Status: []string{"SIGNING"}, UpdatedBefore: base.Add(90 * time.Minute)}, "c0")
	check("limit", store.ContractFilter{Tenant: tenant, Limit: 2}, "c3", "c2")
	check("all tenants", store.ContractFilter{Status: []string{"SIGNING"}, UpdatedBefore: base.Add(3 * time.Hour)}, "c2", "c0")
	check("oldest first", store.ContractFilter{Tenant: tenant, OldestFirst: true}, "c0", "c1", "c2", "c3")
	check("id", store.ContractFilter{ID: "c2"}, "c2")
	check("biz id", store.ContractFilter{Tenant: tenant, BizID: "biz-c1"}, "c1")
	check("biz id other tenant", store.ContractFilter{Tenant: "other", BizID: "biz-c1"})
	check("since", store.ContractFilter{Tenant: tenant, UpdatedSince: base.Add(time.Hour)}, "c3", "c2", "c1")
	check("range", store.ContractFilter{Tenant: tenant, UpdatedSince: base.Add(time.Hour), UpdatedBefore: base.Add(3 * time.Hour)}, "c2", "c1")
	testContractSubjects(t, l)
	// Keyset pages in both orders visit every row once.
	for _, oldest := range []bool{true, false} {
		f := store.ContractFilter{Tenant: tenant, OldestFirst: oldest, Limit: 3}
		var seen []string
		for range 4 {
			cs, err := l.Contracts(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				seen = append(seen, c.ID)
			}
			if len(cs) < f.Limit {
				break
			}
			f.After = store.CursorOf(cs[len(cs)-1])
		}
		want := []string{"c0", "c1", "c2", "c3"}
		if !oldest {
			want = []string{"c3", "c2", "c1", "c0"}
		}
		if !slices.Equal(seen, want) {
			t.Errorf("pages (oldest first %v) = %v, want %v", oldest, seen, want)
		}
	}
	cs, err := l.Contracts(ctx, store.ContractFilter{Tenant: tenant, Limit: 1})
	if err != nil || len(cs) != 1 || cs[0].BizID != "biz-c3" || !cs[0].Confirmed || len(cs[0].Detail) == 0 {
		t.Errorf("listed contract = %+v, %v", cs, err)
	}
}

// testContractSubjects checks the subject filter: a substring, ASCII
// case-insensitive, Chinese text, and LIKE wildcards matching themselves.
func testContractSubjects(t *testing.T, l store.Ledger) {
	t.Helper()
	subjects := map[string]string{
		"s1": "Lease 租赁合同 2025",
		"s2": "lease renewal",
		"s3": "100% off_sale",
		"s4": "100 percent offXsale",
	}
	for id, subj := range subjects {
		ch := change("ev-"+id, id, step{status: "SIGNING", confirmed: true})
		ch.Event.Tenant, ch.Contract.Tenant, ch.Contract.Subject = "subjects", "subjects", subj
		MustApply(t, l, ch)
	}
	for _, tc := range []struct{ text, want string }{
		{"LEASE", "s1 s2"},
		{"租赁", "s1"},
		{"100%", "s3"},
		{"f_s", "s3"},
		{`\`, ""},
		{"renewal", "s2"},
	} {
		cs, err := l.Contracts(context.Background(), store.ContractFilter{Tenant: "subjects", Subject: tc.text})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range cs {
			got = append(got, c.ID)
		}
		slices.Sort(got)
		if strings.Join(got, " ") != tc.want {
			t.Errorf("subject %q: contracts = %v, want %q", tc.text, got, tc.want)
		}
	}
}

func testEvents(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	MustApply(t, l, change("e1", "c1", step{status: "COMPLETE", confirmed: true, signed: 3}))
	MustApply(t, l, change("e2", "c1", step{status: "SIGNING", confirmed: true}))
	MustApply(t, l, change("e3", "c1", step{status: "INVALIDED", confirmed: true}))
	MustApply(t, l, change("x1", "c2", step{status: "SIGNING"}))
	_, _ = l.ApplyContract(ctx, change("e2", "c1", step{status: "SIGNING"}))
	evs, err := l.Events(ctx, tenant, "c1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.ID)
	}
	if !slices.Equal(got, []string{"e1", "e2", "e3"}) {
		t.Fatalf("events = %v, want e1 e2 e3 (unchanging e2 recorded, once)", got)
	}
	e := evs[1]
	if e.Tenant != tenant || e.Kind != "contract" || e.Type != "SIGNING" || e.Source != "callback" ||
		string(e.Payload) != `{"event":"e2"}` || e.ReceivedAt.IsZero() || e.AppliedAt.IsZero() {
		t.Errorf("event = %+v", e)
	}
}

func testTimestamps(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	zone := time.FixedZone("UTC+8", 8*3600)
	updated := time.Date(2025, 12, 31, 23, 59, 59, 123456789, zone)
	ch := change("e1", "c1", step{status: "SIGNING", confirmed: true})
	ch.Contract.UpdatedAt = updated
	ch.Event.ReceivedAt = updated
	MustApply(t, l, ch)
	c := MustContract(t, l, "c1")
	want := updated.UTC().Truncate(time.Microsecond)
	if !c.UpdatedAt.Equal(want) || c.UpdatedAt.Location() != time.UTC {
		t.Errorf("UpdatedAt = %v (%v), want %v in UTC", c.UpdatedAt, c.UpdatedAt.Location(), want)
	}
	evs, err := l.Events(ctx, tenant, "c1")
	if err != nil || len(evs) != 1 {
		t.Fatalf("events = %v, %v", evs, err)
	}
	if !evs[0].ReceivedAt.Equal(want) || evs[0].ReceivedAt.Location() != time.UTC || evs[0].AppliedAt.Location() != time.UTC {
		t.Errorf("event times = %v, %v", evs[0].ReceivedAt, evs[0].AppliedAt)
	}
	if d := time.Since(evs[0].AppliedAt); d < 0 || d > time.Minute {
		t.Errorf("AppliedAt = %v, not now", evs[0].AppliedAt)
	}
}

func testNotFound(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	if _, err := l.Contract(ctx, tenant, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Contract err = %v, want ErrNotFound", err)
	}
	if err := l.Ping(ctx); err != nil {
		t.Errorf("Ping = %v", err)
	}
	if evs, err := l.Events(ctx, tenant, "missing"); err != nil || len(evs) != 0 {
		t.Errorf("Events = %v, %v", evs, err)
	}
	if _, err := l.ApplyContract(ctx, store.ContractChange{Contract: store.Contract{ID: "c1", Status: "DRAFT"}}); err == nil {
		t.Error("event without id accepted")
	}
}
