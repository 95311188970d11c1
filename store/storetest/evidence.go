package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/receiptlog"
	"github.com/qyshook/qyshook/store"
)

// RunEvidence is the conformance suite of store.EvidenceStore. open
// returns a fresh, empty ledger; exec runs one SQL statement on it behind
// qyshook's back (a hand edit: the suite undoes it before the test ends).
func RunEvidence(t *testing.T, open func(t *testing.T) store.Ledger, exec func(l store.Ledger, query string) error) {
	t.Helper()
	t.Run("RowEvidence", func(t *testing.T) { testRowEvidence(t, open(t), exec) })
	t.Run("EvidenceDue", func(t *testing.T) { testEvidenceDue(t, open(t)) })
	t.Run("Bundles", func(t *testing.T) { testBundles(t, open(t)) })
	t.Run("EvidenceQueue", func(t *testing.T) { testEvidenceQueue(t, open(t)) })
	t.Run("LateDocument", func(t *testing.T) { testLateDocument(t, open(t)) })
	t.Run("ContractAnswers", func(t *testing.T) { testContractAnswers(t, open(t)) })
}

func evidenceStore(t *testing.T, l store.Ledger) store.EvidenceStore {
	t.Helper()
	es, ok := l.(store.EvidenceStore)
	if !ok {
		t.Fatalf("ledger %T keeps no evidence bundles", l)
	}
	return es
}

// mustRowEvidence reads a row's evidence and checks it against its leaf:
// the content hashes to the leaf's sha256, the body to its body_sha256.
func mustRowEvidence(t *testing.T, es store.EvidenceStore, kind, ref string) store.RowContent {
	t.Helper()
	rc, err := es.RowEvidence(context.Background(), kind, tenant, ref)
	if err != nil {
		t.Fatalf("row evidence of %s %s: %v", kind, ref, err)
	}
	leaf, err := receiptlog.Parse(rc.Leaf.Leaf)
	if err != nil {
		t.Fatalf("leaf of %s %s: %v", kind, ref, err)
	}
	if got := receiptlog.SHA256Hex(rc.Content); got != leaf.SHA256 {
		t.Fatalf("%s %s: content hashes to %s, leaf says %s (content %s)", kind, ref, got, leaf.SHA256, rc.Content)
	}
	if leaf.BodySHA256 != "" && kind != receiptlog.KindDocument && kind != receiptlog.KindBundle {
		if got := receiptlog.SHA256Hex(rc.Body); got != leaf.BodySHA256 {
			t.Fatalf("%s %s: body hashes to %s, leaf says %s", kind, ref, got, leaf.BodySHA256)
		}
	}
	var c struct{ Row []any }
	if err := json.Unmarshal(rc.Content, &c); err != nil || len(c.Row) != len(rc.Columns) {
		t.Fatalf("%s %s: content %s has %d values for columns %v (%v)", kind, ref, rc.Content, len(c.Row), rc.Columns, err)
	}
	if leaf.Kind != kind || leaf.Ref != ref || rc.Leaf.Index < 0 {
		t.Fatalf("%s %s: leaf %+v at %d", kind, ref, leaf, rc.Leaf.Index)
	}
	return rc
}

func testRowEvidence(t *testing.T, l store.Ledger, exec func(store.Ledger, string) error) {
	ctx := context.Background()
	es := evidenceStore(t, l)
	ch := change("e1", "c1", step{status: "COMPLETE", confirmed: true, signed: 3})
	ch.ArchiveDocuments = true
	ch.Contract.Documents = []store.Document{{ID: "c1-d00", Title: "doc"}}
	ch.Facts[0].Tenant, ch.Facts[0].ContractID = tenant, "c1"
	MustApply(t, l, ch)
	ids := []string{"c1-d00"}
	doc := store.Document{ID: ids[0], ContractID: "c1", SHA256: strings.Repeat("ab", 32), Size: 9, Path: "documents/sha256/ab/x.pdf"}
	if _, err := l.ArchiveDocument(ctx, tenant, doc, nil); err != nil {
		t.Fatal(err)
	}
	rc := mustRowEvidence(t, es, receiptlog.KindContract, "c1")
	if !strings.Contains(string(rc.Content), `"signatories":[`) || rc.Body == nil {
		t.Fatalf("contract evidence %s, body %q: want signatories and the detail", rc.Content, rc.Body)
	}
	refs, err := es.EvidenceRefs(ctx, tenant, "c1")
	if err != nil || len(refs.Events) != 1 || len(refs.Facts) != 1 || len(refs.Documents) != 1 || refs.Events[0] != "e1" {
		t.Fatalf("evidence refs = %+v, %v", refs, err)
	}
	mustRowEvidence(t, es, receiptlog.KindEvent, "e1")
	mustRowEvidence(t, es, receiptlog.KindFact, refs.Facts[0])
	mustRowEvidence(t, es, receiptlog.KindDocument, ids[0])

	// Edited by hand: refused, and named.
	if err := exec(l, `UPDATE contracts SET subject = 'edited by hand' WHERE id = 'c1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := es.RowEvidence(ctx, receiptlog.KindContract, tenant, "c1"); !errors.Is(err, store.ErrRowEdited) ||
		!strings.Contains(err.Error(), "edited after leaf") {
		t.Fatalf("row evidence of an edited row = %v, want ErrRowEdited", err)
	}
	if err := exec(l, `UPDATE contracts SET subject = 'contract c1' WHERE id = 'c1'`); err != nil {
		t.Fatal(err)
	}
	mustRowEvidence(t, es, receiptlog.KindContract, "c1")

	if _, err := es.RowEvidence(ctx, receiptlog.KindContract, tenant, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("row evidence of a missing row = %v, want ErrNotFound", err)
	}
	if _, err := es.RowEvidence(ctx, receiptlog.KindContract, "other", "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("row evidence of another tenant's row = %v, want ErrNotFound", err)
	}
	if _, err := es.RowEvidence(ctx, "nonsense", tenant, "c1"); err == nil || !strings.Contains(err.Error(), "unknown kind") {
		t.Fatalf("row evidence of an unknown kind = %v", err)
	}
}

// dueIDs lists the contracts EvidenceDue returns.
func dueIDs(t *testing.T, es store.EvidenceStore) map[string]store.DueContract {
	t.Helper()
	due, err := es.EvidenceDue(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.DueContract{}
	for _, d := range due {
		out[d.ID] = d
	}
	return out
}

func logSize(t *testing.T, l store.Ledger) int64 {
	t.Helper()
	head, err := l.(store.ReceiptLog).LogHead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return head.N
}

// testLateDocument: a contract bundled while its document had failed for
// good is due again once the document is requeued and archived (a file
// its bundle's checkpoint does not cover), after version 1; the second
// bundle takes it off the queue.
func testLateDocument(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	es := evidenceStore(t, l)
	ids := queued(t, l, "late1", "late", 1)
	claimed, err := l.ClaimDocuments(ctx, "a", 10, 60e9)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %v, %v", claimed, err)
	}
	if ok, err := l.FailDocument(ctx, store.DocumentFailure{Tenant: tenant, ID: ids[0], Owner: "a", Err: "gone", Permanent: true}); err != nil || !ok {
		t.Fatalf("fail = %v, %v", ok, err)
	}
	d, ok := dueIDs(t, es)["late"]
	if !ok {
		t.Fatal("late not due with its document failed for good")
	}
	save := func(d store.DueContract) {
		t.Helper()
		if err := es.SaveBundle(ctx, store.Bundle{Tenant: tenant, ContractID: d.ID, Version: d.LastVersion + 1, State: d.Status,
			ContractLeaf: d.ContractLeaf, CheckpointSize: logSize(t, l), SHA256: strings.Repeat("0", 64), Size: 1,
			Path: fmt.Sprintf("evidence/default/%s/v%d.zip", d.ID, d.LastVersion+1)}); err != nil {
			t.Fatal(err)
		}
	}
	save(d)
	if _, ok := dueIDs(t, es)["late"]; ok {
		t.Fatal("late due after its bundle")
	}
	if n, err := l.RequeueDocuments(ctx, tenant, []string{"COMPLETE"}, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("requeue = %d, %v", n, err)
	}
	if _, ok := dueIDs(t, es)["late"]; ok {
		t.Fatal("late due while its document is pending again")
	}
	if _, err := l.ArchiveDocument(ctx, tenant, store.Document{ID: ids[0], ContractID: "late", SHA256: strings.Repeat("ef", 32),
		Size: 3, Path: "documents/z"}, nil); err != nil {
		t.Fatal(err)
	}
	d, ok = dueIDs(t, es)["late"]
	if !ok || d.LastVersion != 1 {
		t.Fatalf("late after its document was archived late = %+v, %v; want due after version 1", d, ok)
	}
	save(d)
	if _, ok := dueIDs(t, es)["late"]; ok {
		t.Fatal("late due after its second bundle")
	}
}

func lastContractLeaf(t *testing.T, l store.Ledger, cid string) int64 {
	t.Helper()
	leaves, err := l.(store.ReceiptLog).LogLeaves(context.Background(), receiptlog.KindContract, tenant, cid, 0)
	if err != nil || len(leaves) == 0 {
		t.Fatalf("leaves of %s: %v, %v", cid, leaves, err)
	}
	return leaves[len(leaves)-1].Index
}

func testEvidenceDue(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	es := evidenceStore(t, l)
	MustApply(t, l, change("s1", "signing", step{status: "SIGNING", confirmed: true, signed: 1}))
	MustApply(t, l, change("u1", "unconfirmed", step{status: "COMPLETE", signed: 3}))
	MustApply(t, l, change("r1", "rejected", step{status: "REJECTED", confirmed: true, signed: 1}))
	ids := queued(t, l, "e1", "c1", 2)
	due := dueIDs(t, es)
	if _, ok := due["rejected"]; !ok || len(due) != 1 {
		t.Fatalf("due = %v, want only the rejected contract (the others signing, unconfirmed, or with documents pending)", due)
	}
	if due["rejected"].LastVersion != 0 || due["rejected"].ContractLeaf != lastContractLeaf(t, l, "rejected") {
		t.Fatalf("due = %+v", due["rejected"])
	}
	// One document archived, one still pending: not due; both settled
	// (archived, failed): due.
	if _, err := l.ArchiveDocument(ctx, tenant, store.Document{ID: ids[0], ContractID: "c1", SHA256: strings.Repeat("cd", 32),
		Size: 3, Path: "documents/x"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := dueIDs(t, es)["c1"]; ok {
		t.Fatal("c1 due with a document still pending")
	}
	claimed, err := l.ClaimDocuments(ctx, "a", 10, 60e9)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %v, %v", claimed, err)
	}
	if _, ok := dueIDs(t, es)["c1"]; ok {
		t.Fatal("c1 due with a document claimed")
	}
	if ok, err := l.FailDocument(ctx, store.DocumentFailure{Tenant: tenant, ID: ids[1], Owner: "a", Err: "gone", Permanent: true}); err != nil || !ok {
		t.Fatalf("fail = %v, %v", ok, err)
	}
	d, ok := dueIDs(t, es)["c1"]
	if !ok || d.Status != "COMPLETE" || d.ContractLeaf != lastContractLeaf(t, l, "c1") {
		t.Fatalf("c1 due = %+v, %v; want due with its last leaf", d, ok)
	}
	// A bundle over that leaf, proven in a checkpoint of the whole log: no
	// longer due.
	if err := es.SaveBundle(ctx, store.Bundle{Tenant: tenant, ContractID: "c1", Version: 1, State: "COMPLETE",
		ContractLeaf: d.ContractLeaf, CheckpointSize: logSize(t, l), SHA256: strings.Repeat("0", 64), Size: 1,
		Path: "evidence/default/c1/v1.zip"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := dueIDs(t, es)["c1"]; ok {
		t.Fatal("c1 due after its bundle")
	}
	// A void: INVALIDING is not an end, INVALIDED is; a new contract
	// leaf makes it due again, after version 1.
	MustApply(t, l, change("e2", "c1", step{status: "INVALIDING", confirmed: true, signed: 3}))
	if _, ok := dueIDs(t, es)["c1"]; ok {
		t.Fatal("c1 due while voiding")
	}
	MustApply(t, l, change("e3", "c1", step{status: "INVALIDED", confirmed: true, signed: 3}))
	d, ok = dueIDs(t, es)["c1"]
	if !ok || d.LastVersion != 1 || d.Status != "INVALIDED" || d.ContractLeaf != lastContractLeaf(t, l, "c1") {
		t.Fatalf("c1 due after the void = %+v, %v; want due after version 1", d, ok)
	}
	if got, err := es.EvidenceDue(ctx, 1); err != nil || len(got) != 1 {
		t.Fatalf("due limit 1 = %v, %v", got, err)
	}
}

func testBundles(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	es := evidenceStore(t, l)
	if _, err := es.Bundle(ctx, tenant, "c1", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bundle before any = %v, want ErrNotFound", err)
	}
	if err := es.SaveBundle(ctx, store.Bundle{Tenant: tenant, ContractID: "c1"}); err == nil {
		t.Fatal("bundle without version, hash and path saved")
	}
	b := store.Bundle{Tenant: tenant, ContractID: "c1", Version: 1, State: "COMPLETE", ContractLeaf: 4, CheckpointSize: 9,
		SHA256: strings.Repeat("1f", 32), Size: 1234, Path: "evidence/default/c1/v1.zip", Items: 12, Discrepancies: 1}
	if err := es.SaveBundle(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := es.SaveBundle(ctx, b); !errors.Is(err, store.ErrDuplicate) || strings.Contains(err.Error(), "event") ||
		!strings.Contains(err.Error(), "already recorded") {
		t.Fatalf("second save = %v, want ErrDuplicate saying the bundle version is already recorded", err)
	}
	b2 := b
	b2.Version, b2.State, b2.ContractLeaf, b2.Path = 2, "INVALIDED", 20, "evidence/default/c1/v2.zip"
	if err := es.SaveBundle(ctx, b2); err != nil {
		t.Fatal(err)
	}
	got, err := es.Bundle(ctx, tenant, "c1", 0)
	if err != nil || got.Version != 2 || got.State != "INVALIDED" || got.BuiltAt.IsZero() {
		t.Fatalf("latest = %+v, %v", got, err)
	}
	got, err = es.Bundle(ctx, tenant, "c1", 1)
	if err != nil || got.Version != 1 || got.SHA256 != b.SHA256 || got.Size != 1234 || got.Items != 12 ||
		got.Discrepancies != 1 || got.ContractLeaf != 4 || got.CheckpointSize != 9 || got.Path != b.Path {
		t.Fatalf("v1 = %+v, %v", got, err)
	}
	if _, err := es.Bundle(ctx, tenant, "c1", 3); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("v3 = %v, want ErrNotFound", err)
	}
	all, err := es.Bundles(ctx, tenant, "c1")
	if err != nil || len(all) != 2 || all[0].Version != 2 || all[1].Version != 1 {
		t.Fatalf("bundles = %+v, %v", all, err)
	}
	// Each bundle row has its leaf, carrying the zip's hash.
	rc := mustRowEvidence(t, es, receiptlog.KindBundle, "c1/v1")
	leaf, _ := receiptlog.Parse(rc.Leaf.Leaf)
	if leaf.BodySHA256 != b.SHA256 || leaf.Size != b.Size {
		t.Fatalf("bundle leaf %+v", leaf)
	}
}

// testEvidenceQueue: EvidenceDue reads a queue written with the contract
// leaf. Reading it takes nothing off (a pass that crashes before its
// bundle is saved finds the contract again); a failed save takes nothing
// off; a bundle over a leaf older than the contract's latest leaves it
// due; a contract waiting for its documents stays queued however many
// other bundles are saved, and is due once they settle.
func testEvidenceQueue(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	es := evidenceStore(t, l)
	ids := queued(t, l, "w1", "waits", 1) // COMPLETE, one document pending
	for i := range 5 {
		MustApply(t, l, change(fmt.Sprintf("q%d", i), fmt.Sprintf("q%d", i), step{status: "COMPLETE", confirmed: true, signed: 3}))
	}
	due := dueIDs(t, es)
	if len(due) != 5 {
		t.Fatalf("due = %v, want the five COMPLETE contracts without documents", due)
	}
	// Listed again and again until a bundle is saved (a crash between the
	// two loses nothing).
	if again := dueIDs(t, es); len(again) != 5 {
		t.Fatalf("due listed again = %v", again)
	}
	save := func(d store.DueContract) error {
		return es.SaveBundle(ctx, store.Bundle{Tenant: tenant, ContractID: d.ID, Version: d.LastVersion + 1, State: d.Status,
			ContractLeaf: d.ContractLeaf, CheckpointSize: d.ContractLeaf + 1, SHA256: strings.Repeat("0", 64), Size: 1,
			Path: fmt.Sprintf("evidence/default/%s/v%d.zip", d.ID, d.LastVersion+1)})
	}
	for _, d := range due {
		if d.ID == "q0" {
			continue
		}
		if err := save(d); err != nil {
			t.Fatal(err)
		}
	}
	// q1's bundle saved twice: the second is refused and changes nothing.
	if err := save(due["q1"]); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("second save = %v, want ErrDuplicate", err)
	}
	if got := dueIDs(t, es); len(got) != 1 || got["q0"].ID != "q0" {
		t.Fatalf("due after four bundles = %v, want q0 only", got)
	}
	// q0 changes (a new confirmed detail: a new leaf) while its bundle is
	// built over the older leaf: saved, it stays due at the new leaf.
	MustApply(t, l, change("q0b", "q0", step{status: "COMPLETE", confirmed: true, signed: 3, detail: `{"id":"q0","again":true}`}))
	newLeaf := lastContractLeaf(t, l, "q0")
	if newLeaf <= due["q0"].ContractLeaf {
		t.Fatalf("no new leaf for q0: %d after %d", newLeaf, due["q0"].ContractLeaf)
	}
	if err := save(due["q0"]); err != nil {
		t.Fatal(err)
	}
	d, ok := dueIDs(t, es)["q0"]
	if !ok || d.ContractLeaf != newLeaf || d.LastVersion != 1 {
		t.Fatalf("q0 after a bundle over its older leaf = %+v, %v; want due at leaf %d after version 1", d, ok, newLeaf)
	}
	if err := save(d); err != nil {
		t.Fatal(err)
	}
	if got := dueIDs(t, es); len(got) != 0 {
		t.Fatalf("due = %v, want none (waits has a document pending)", got)
	}
	// The waiting contract's document settles: due, with no new contract leaf.
	before := lastContractLeaf(t, l, "waits")
	if _, err := l.ArchiveDocument(ctx, tenant, store.Document{ID: ids[0], ContractID: "waits", SHA256: strings.Repeat("ab", 32),
		Size: 3, Path: "documents/y"}, nil); err != nil {
		t.Fatal(err)
	}
	d, ok = dueIDs(t, es)["waits"]
	if !ok || d.ContractLeaf != before {
		t.Fatalf("waits after its document settled = %+v, %v; want due at leaf %d", d, ok, before)
	}
}

// SeedEvidenceBackfill writes, in a ledger about to go back to the
// schema before the evidence queue (migration 0018), contracts the
// migration must queue or leave: "due" COMPLETE without a bundle, "done"
// with its bundle, "signing" not ended, "waits" with a document pending.
func SeedEvidenceBackfill(t *testing.T, l store.Ledger) {
	t.Helper()
	es := evidenceStore(t, l)
	MustApply(t, l, change("e-due", "due", step{status: "COMPLETE", confirmed: true, signed: 3}))
	MustApply(t, l, change("e-done", "done", step{status: "REJECTED", confirmed: true, signed: 1}))
	MustApply(t, l, change("e-signing", "signing", step{status: "SIGNING", confirmed: true, signed: 1}))
	queued(t, l, "e-waits", "waits", 1)
	leaf := lastContractLeaf(t, l, "done")
	if err := es.SaveBundle(context.Background(), store.Bundle{Tenant: tenant, ContractID: "done", Version: 1, State: "REJECTED",
		ContractLeaf: leaf, CheckpointSize: leaf + 1, SHA256: strings.Repeat("0", 64), Size: 1,
		Path: "evidence/default/done/v1.zip"}); err != nil {
		t.Fatal(err)
	}
}

// CheckEvidenceBackfill checks, after the ledger SeedEvidenceBackfill
// wrote went down below migration 0018 and up again, that the contract
// ended before the queue existed is due, and that the one waiting for
// its document was queued too: due once the document settles.
func CheckEvidenceBackfill(t *testing.T, l store.Ledger) {
	t.Helper()
	es := evidenceStore(t, l)
	due := dueIDs(t, es)
	if _, ok := due["due"]; !ok || len(due) != 1 {
		t.Fatalf("due after the migration = %v, want the COMPLETE contract without a bundle only", due)
	}
	c := MustContract(t, l, "waits")
	if _, err := l.ArchiveDocument(context.Background(), tenant, store.Document{ID: c.Documents[0].ID, ContractID: "waits",
		SHA256: strings.Repeat("ab", 32), Size: 3, Path: "documents/z"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := dueIDs(t, es)["waits"]; !ok {
		t.Fatal("the contract waiting for its document before the migration is not due once it settles")
	}
}

// answerSums returns the sha256 of each kept answer of cid (checking it
// hashes its bytes) and the body_sha256 of each of its contract leaves.
func answerSums(t *testing.T, l store.Ledger, cid string) (answers, bodies []string) {
	t.Helper()
	ctx := context.Background()
	got, err := evidenceStore(t, l).ContractAnswers(ctx, tenant, cid)
	if err != nil {
		t.Fatalf("answers of %s: %v", cid, err)
	}
	for _, a := range got {
		if receiptlog.SHA256Hex(a.Answer) != a.SHA256 || a.FirstAt.IsZero() {
			t.Fatalf("answer of %s %+v: its bytes hash to %s", cid, a, receiptlog.SHA256Hex(a.Answer))
		}
		answers = append(answers, a.SHA256)
	}
	leaves, err := l.(store.ReceiptLog).LogLeaves(ctx, receiptlog.KindContract, tenant, cid, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ll := range leaves {
		leaf, err := receiptlog.Parse(ll.Leaf)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, leaf.BodySHA256)
	}
	return answers, bodies
}

// testContractAnswers: each confirmed state's detail answer is kept under
// its leaf's body_sha256, once, by both write paths; a callback-only
// change keeps none.
func testContractAnswers(t *testing.T, l store.Ledger) {
	ctx := context.Background()
	MustApply(t, l, change("a1", "two", step{status: "SIGNING", confirmed: true, signed: 1}))
	MustApply(t, l, change("a2", "two", step{status: "COMPLETE", confirmed: true, signed: 3}))
	answers, bodies := answerSums(t, l, "two")
	if len(answers) != 2 || len(bodies) != 2 || answers[0] != bodies[0] || answers[1] != bodies[1] || bodies[0] == bodies[1] {
		t.Fatalf("answers %v, leaves' body_sha256 %v: want the two confirmed answers, oldest first", answers, bodies)
	}
	before, err := evidenceStore(t, l).ContractAnswers(ctx, tenant, "two")
	if err != nil {
		t.Fatal(err)
	}
	if string(before[0].Answer) != `{"id":"two","status":"SIGNING","signed":1}` {
		t.Fatalf("first answer %q: want the SIGNING answer byte for byte", before[0].Answer)
	}

	MustApply(t, l, change("b1", "callback", step{status: "SIGNING", signed: 1}))
	if answers, bodies := answerSums(t, l, "callback"); len(answers) != 0 || len(bodies) != 1 || bodies[0] != "" {
		t.Fatalf("callback-only contract: answers %v, leaves' body_sha256 %q; want none kept", answers, bodies)
	}

	same := `{"id":"same","status":"SIGNING"}`
	MustApply(t, l, change("s1", "same", step{status: "SIGNING", confirmed: true, signed: 1, detail: same}))
	MustApply(t, l, change("s2", "same", step{status: "SIGNING", confirmed: true, signed: 2, detail: same}))
	if answers, bodies := answerSums(t, l, "same"); len(answers) != 1 || len(bodies) != 2 || bodies[0] != answers[0] || bodies[1] != answers[0] {
		t.Fatalf("the same answer twice: answers %v, leaves' body_sha256 %v; want it kept once", answers, bodies)
	}

	// The batch path: one new contract, one changed, one callback-only.
	MustApply(t, l, change("p0", "batch-old", step{status: "SIGNING", confirmed: true, signed: 1}))
	chs := []store.ContractChange{
		change("p1", "batch-new", step{status: "SIGNING", confirmed: true, signed: 1}),
		change("p2", "batch-old", step{status: "COMPLETE", confirmed: true, signed: 3}),
		change("p3", "batch-cb", step{status: "SIGNING", signed: 1}),
	}
	if _, errs, err := l.ApplyContracts(ctx, chs); err != nil || errors.Join(errs...) != nil {
		t.Fatalf("apply batch: %v %v", err, errs)
	}
	for cid, want := range map[string]int{"batch-new": 1, "batch-old": 2, "batch-cb": 0} {
		answers, bodies := answerSums(t, l, cid)
		kept := map[string]bool{}
		for _, a := range answers {
			kept[a] = true
		}
		for _, b := range bodies {
			if b != "" && !kept[b] {
				t.Fatalf("%s: leaf body_sha256 %s has no kept answer (answers %v)", cid, b, answers)
			}
		}
		if len(answers) != want {
			t.Fatalf("%s after the batch: %d answers %v, want %d", cid, len(answers), answers, want)
		}
	}
}

// SeedAnswersBackfill writes a contract confirmed twice (SIGNING, then
// COMPLETE with a detail holding non-ASCII text and spacing as the API
// sent it) and one known from callbacks only, for a test that takes the
// ledger below migration 0019 and up again (CheckAnswersBackfill).
func SeedAnswersBackfill(t *testing.T, l store.Ledger) {
	t.Helper()
	MustApply(t, l, change("m1", "kept", step{status: "SIGNING", confirmed: true, signed: 1}))
	MustApply(t, l, change("m2", "kept", step{status: "COMPLETE", confirmed: true, signed: 3,
		detail: "{\"id\": \"kept\",  \"subject\":\"合同 é\"}"}))
	MustApply(t, l, change("m3", "callback", step{status: "SIGNING", signed: 1}))
}

// CheckAnswersBackfill checks that migration 0019 kept the current answer
// of the confirmed contract under its latest leaf's body_sha256 (the
// earlier one was overwritten before the table existed), and none of the
// callback-only one.
func CheckAnswersBackfill(t *testing.T, l store.Ledger) {
	t.Helper()
	answers, bodies := answerSums(t, l, "kept")
	if len(answers) != 1 || len(bodies) != 2 || answers[0] != bodies[1] {
		t.Fatalf("kept after the migration: answers %v, leaves' body_sha256 %v; want the current answer under the last leaf's", answers, bodies)
	}
	if answers, _ := answerSums(t, l, "callback"); len(answers) != 0 {
		t.Fatalf("callback-only contract after the migration: answers %v, want none", answers)
	}
}
