package dispatcher_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/qyshook/qyshook/crosscheck"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/stagetest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// matrixN is how many contracts of each kind TestDiscrepancyMatrix runs:
// QYSHOOK_DISCREPANCY_N, 100 by default (the figure issue 20 asks for).
func matrixN(t *testing.T) int {
	n := 100
	if v := os.Getenv("QYSHOOK_DISCREPANCY_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("QYSHOOK_DISCREPANCY_N=%q: want a positive count", v)
		}
	}
	if testing.Short() || raceDetector {
		n = min(n, 10)
	}
	return n
}

// waitSettled polls cond for up to five minutes: hundreds of contracts
// archived and verified at once take longer than stagetest's minute on a
// loaded machine (a safety net, not a timing claim).
func waitSettled(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Minute); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestDiscrepancyMatrix: every kind of discrepancy the fake can produce,
// N contracts each (and N ordinary ones beside them), through the whole
// pipeline at once: each contract of a kind is flagged with exactly that
// kind, on its PDF's row and as a published fact; no ordinary contract
// is flagged. The tampered downloads run in a second phase, since the
// fake tampers downloads by count, not by contract.
func TestDiscrepancyMatrix(t *testing.T) {
	n := matrixN(t)
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	type kase struct {
		inject qystest.Discrepancy
		// before: a callback that arrives before completion and that the
		// detail contradicts (a stranger's SEAL, a REJECTED claim).
		before func(id string) events.Envelope
		want   crosscheck.Kind
	}
	claim := func(id, typ, status, tenant string) events.Envelope {
		payload := fmt.Sprintf(`{"contractId":%q,"contractStatus":%q`, id, status)
		if tenant != "" {
			payload += fmt.Sprintf(`,"tenantName":%q`, tenant)
		}
		env := events.Envelope{Schema: events.SchemaCallbackV1, Tenant: "default", Kind: events.KindContract, Type: typ,
			ContractID: id, ContractStatus: lifecycle.Signing, ReceivedAt: time.Now().UTC(), Format: "A",
			Source: events.SourceCallback, Payload: json.RawMessage(payload + "}")}
		env.ID = events.EventID("default", events.KindContract, id, typ, status, tenant)
		return env
	}
	kinds := map[string]kase{
		"stranger":     {before: func(id string) events.Envelope { return claim(id, "SEAL", "SIGNING", "Mallory") }, want: crosscheck.CallbackUnknownParty},
		"contradicted": {before: func(id string) events.Envelope { return claim(id, "REJECTED", "REJECTED", "") }, want: crosscheck.CallbackContradicted},
		"missing":      {inject: qystest.DiscrepancyMissingSignature, want: crosscheck.MissingSignature},
		"unknown":      {inject: qystest.DiscrepancyUnknownSigner, want: crosscheck.UnknownSigner},
		"late":         {inject: qystest.DiscrepancyLateSignature, want: crosscheck.SignedAfterCompletion},
		"ordinary":     {},
	}
	add := func(name string, k kase) string {
		id := h.Fake.AddContract(qystest.ContractSpec{Subject: name, Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantCompany, TenantName: "甲公司"},
			{TenantType: qystest.TenantPersonal, TenantName: "张三"},
			{TenantType: qystest.TenantCompany, TenantName: "乙公司"}}})
		if k.inject != "" {
			if err := h.Fake.InjectDiscrepancy(id, k.inject); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.Fake.Send(id); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := h.Fake.Sign(id, i); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	want := map[string]crosscheck.Kind{} // contract → the kind it must be flagged with ("" none)
	var phaseA []string
	kindOf := map[string]string{}
	for name, k := range kinds {
		for range n {
			id := add(name, k)
			want[id] = k.want
			kindOf[id] = name
			phaseA = append(phaseA, id)
		}
	}
	h.Start()
	for _, id := range phaseA {
		if k := kinds[kindOf[id]]; k.before != nil {
			h.PublishEnvelope(k.before(id))
		}
	}
	for _, id := range phaseA {
		h.PublishContract(id, "COMPLETE", lifecycle.Complete)
	}
	settled := func(ids []string) func() bool {
		return func() bool {
			for _, id := range ids {
				c := h.Contract(id)
				if c == nil || c.Status != lifecycle.Complete || len(c.Documents) == 0 {
					return false
				}
				for _, d := range c.Documents {
					if d.ArchiveState != store.ArchiveArchived {
						return false
					}
				}
			}
			return true
		}
	}
	waitSettled(t, "phase A archived", settled(phaseA))

	// Phase B: every document download tampered, for N new contracts.
	var phaseB []string
	for range n {
		id := add("tampered", kase{})
		want[id] = crosscheck.DocumentInvalid
		phaseB = append(phaseB, id)
	}
	h.Fake.TamperNextDownloads(1 << 30)
	for _, id := range phaseB {
		h.PublishContract(id, "COMPLETE", lifecycle.Complete)
	}
	waitSettled(t, "phase B archived", settled(phaseB))
	h.Fake.TamperNextDownloads(0)

	flagged := map[crosscheck.Kind]int{}
	for id, k := range want {
		c := h.Contract(id)
		got := map[crosscheck.Kind]bool{}
		for _, d := range c.Documents {
			if d.VerifyVerdict == "" || d.Discrepancies == "" {
				continue
			}
			var found []crosscheck.Discrepancy
			if err := json.Unmarshal([]byte(d.Discrepancies), &found); err != nil {
				t.Fatalf("%s: discrepancies %q: %v", id, d.Discrepancies, err)
			}
			for _, f := range found {
				got[f.Kind] = true
			}
		}
		switch {
		case k == "" && len(got) > 0:
			t.Errorf("ordinary contract %s flagged %v", id, got)
		case k != "" && (!got[k] || len(got) != 1):
			t.Errorf("contract %s (%s) flagged %v: %+v", id, k, got, c.Documents)
		case k != "":
			flagged[k]++
		}
	}
	published := map[string]map[string]bool{}
	waitSettled(t, "discrepancy facts published", func() bool {
		clear(published)
		for _, f := range h.Facts() {
			if f.Kind == events.FactKindDiscrepancy && f.Discrepancy != nil {
				if published[f.ContractID] == nil {
					published[f.ContractID] = map[string]bool{}
				}
				published[f.ContractID][f.Discrepancy.Kind] = true
			}
		}
		return len(published) >= 6*n
	})
	for id, k := range want {
		if k == "" && len(published[id]) > 0 {
			t.Errorf("ordinary contract %s: published %v", id, published[id])
		}
		if k != "" && !published[id][string(k)] {
			t.Errorf("contract %s: %s not published (%v)", id, k, published[id])
		}
	}
	t.Logf("flagged per kind (of %d each): %v; ordinary contracts: %d, none flagged", n, flagged, n)
}

// TestNoFalseDiscrepancyUnderLoad: ordinary lifecycles (one to three
// signatories of both kinds, each signature's callback naming its
// signatory, completions, voids after completion, refusals, recalls) run
// for QYSHOOK_DISCREPANCY_LOAD (a duration; 15 s by default, 3 s with
// -short; issue 20's figure is 10m) at about 20 contracts a second: no
// contract is flagged and no discrepancy fact is published.
func TestNoFalseDiscrepancyUnderLoad(t *testing.T) {
	d := 15 * time.Second
	if v := os.Getenv("QYSHOOK_DISCREPANCY_LOAD"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d <= 0 {
			t.Fatalf("QYSHOOK_DISCREPANCY_LOAD=%q: want a duration", v)
		}
	} else if testing.Short() || raceDetector {
		d = 3 * time.Second
	}
	h := stagetest.New(t, testdb.Open(t, testdb.SQLite))
	h.Start()
	publish := func(id, typ, status string, sg *qystest.SignatorySpec) {
		payload := fmt.Sprintf(`{"contractId":%q,"callbackType":%q,"contractStatus":%q`, id, typ, status)
		tenant := ""
		if sg != nil {
			tenant = sg.TenantName
			payload += fmt.Sprintf(`,"tenantType":%q,"tenantName":%q`, sg.TenantType, sg.TenantName)
		}
		env := events.Envelope{Schema: events.SchemaCallbackV1, Tenant: "default", Kind: events.KindContract, Type: typ,
			ContractID: id, ContractStatus: status, ReceivedAt: time.Now().UTC(), Format: "A",
			Source: events.SourceCallback, Payload: json.RawMessage(payload + "}")}
		env.ID = events.EventID("default", events.KindContract, id, typ, status, tenant)
		h.PublishEnvelope(env)
	}
	names := []qystest.SignatorySpec{{TenantType: qystest.TenantCompany, TenantName: "甲公司"},
		{TenantType: qystest.TenantPersonal, TenantName: "张三"}, {TenantType: qystest.TenantCompany, TenantName: "乙公司"},
		{TenantType: qystest.TenantPersonal, TenantName: "李四"}}
	type lc struct{ id, end string }
	var all []lc
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(d)
	for i := 0; time.Now().Before(deadline); i++ {
		<-tick.C
		var sigs []qystest.SignatorySpec
		for j := range 1 + i%3 {
			sigs = append(sigs, names[(i+j)%len(names)])
		}
		id := h.Fake.AddContract(qystest.ContractSpec{Subject: "load", Signatories: sigs})
		if err := h.Fake.Send(id); err != nil {
			t.Fatal(err)
		}
		publish(id, "SEND_SIGNING", lifecycle.Signing, nil)
		end := lifecycle.Complete
		switch i % 20 {
		case 3:
			end = lifecycle.Rejected
		case 7:
			end = lifecycle.Recalled
		case 11, 15:
			end = lifecycle.Invalided
		}
		switch end {
		case lifecycle.Rejected:
			if err := h.Fake.Reject(id, 0); err != nil {
				t.Fatal(err)
			}
			publish(id, "REJECTED", lifecycle.Rejected, &sigs[0])
		case lifecycle.Recalled:
			if err := h.Fake.Recall(id); err != nil {
				t.Fatal(err)
			}
			publish(id, "RECALLED", lifecycle.Recalled, nil)
		default:
			for j := range sigs {
				if err := h.Fake.Sign(id, j); err != nil {
					t.Fatal(err)
				}
				typ, status := "PERSONAL", lifecycle.Signing
				if sigs[j].TenantType == qystest.TenantCompany {
					typ = "SEAL"
				}
				if j == len(sigs)-1 {
					status = lifecycle.Complete
				}
				publish(id, typ, status, &sigs[j])
			}
			publish(id, "COMPLETE", lifecycle.Complete, nil)
			if end == lifecycle.Invalided {
				if err := h.Fake.Invalidate(id); err != nil {
					t.Fatal(err)
				}
				publish(id, "SEND_INVALID", lifecycle.Invaliding, nil)
				publish(id, "INVALIDED", lifecycle.Invalided, nil)
			}
		}
		all = append(all, lc{id, end})
	}
	unsettled := ""
	settled := func() bool {
		for _, c := range all {
			row := h.Contract(c.id)
			if row == nil || row.Status != c.end {
				unsettled = fmt.Sprintf("%s: want %s, have %+v", c.id, c.end, row)
				return false
			}
			for _, doc := range row.Documents {
				if lifecycle.Signed(c.end) && doc.ArchiveState != store.ArchiveArchived {
					unsettled = fmt.Sprintf("%s: document %s %s", c.id, doc.ID, doc.ArchiveState)
					return false
				}
			}
		}
		return true
	}
	for wait := time.Now().Add(5 * time.Minute); !settled(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(wait) {
			t.Fatalf("not settled: %s", unsettled)
		}
	}
	compared := 0
	for _, c := range all {
		for _, doc := range h.Contract(c.id).Documents {
			if doc.VerifyVerdict == "" {
				continue
			}
			compared++
			if doc.Discrepancies != "[]" {
				t.Errorf("contract %s (%s): false discrepancies %s", c.id, c.end, doc.Discrepancies)
			}
		}
	}
	for _, f := range h.Facts() {
		if f.Kind == events.FactKindDiscrepancy {
			t.Errorf("false discrepancy fact for %s: %+v", f.ContractID, f.Discrepancy)
		}
	}
	if compared == 0 {
		t.Fatal("no PDF was compared")
	}
	t.Logf("%d lifecycles in %v, %d signed PDFs compared, 0 discrepancies", len(all), d, compared)
}
