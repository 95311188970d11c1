package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/e2e"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// TestEveryCallbackKind has the fake 契约锁 send every callback type it
// knows, in format A and in format B, to serve's wiring (receiver and
// dispatcher, NATS, SQLite and PostgreSQL when set): each contract callbackType, each certification
// outcome, each notice kind and type. Each must be answered as the platform
// expects on the first attempt, stored on QYS_CALLBACKS with its
// callbackType intact on its kind's subject, and applied: an event in the
// ledger for contract callbacks, a certification row for certifications,
// and an unconfirmed notice fact on qys.ledger.<tenant>.notice.<kind>.<type>.
func TestEveryCallbackKind(t *testing.T) {
	for _, db := range testdb.Kinds() {
		for _, format := range []qys.Format{qys.FormatA, qys.FormatB} {
			t.Run(string(db)+"/format"+string(format), func(t *testing.T) { testEveryCallbackKind(t, db, format) })
		}
	}
}

// sent is one callback the test made the fake send.
type sent struct {
	kind qys.Kind
	typ  string
	id   string // contract, certification or notice key
}

func testEveryCallbackKind(t *testing.T, db testdb.Kind, format qys.Format) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := newStack(t, testdb.URL(t, db))
	sender := qys.SenderConfig{Format: qys.FormatA, Secret: s.secret, Encrypt: true}
	if format == qys.FormatB {
		s.env["QYSHOOK_CALLBACK_FORMAT"] = "B"
		s.env["QYSHOOK_CALLBACK_TOKEN"] = "callback-token-for-b"
		sender = qys.SenderConfig{Format: qys.FormatB, Secret: s.secret, Token: "callback-token-for-b"}
	}
	addr := s.run(t, app.Roles{Receiver: true, Dispatcher: true})
	base := "http://" + addr + "/callbacks/default"
	s.fake.SetCallbackTarget(qystest.CallbackTarget{
		ContractURL: base + "/contract", PersonalAuthURL: base + "/auth/personal",
		CompanyAuthURL: base + "/auth/company", NoticeURL: base + "/notify", Sender: sender,
	})
	var all []sent
	id := s.fake.AddContract(qystest.ContractSpec{Subject: "每一种回调",
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantCompany, TenantName: "甲方科技有限公司", Contact: "13800000000"}}})
	if err := s.fake.Send(id); err != nil {
		t.Fatal(err)
	}
	types := qystest.ContractCallbackTypes
	if format == qys.FormatB {
		types = qystest.ContractCallbackTypesB
		s.fake.SendCheck() // answered, not stored
	}
	contractTypes := map[string]bool{}
	for _, typ := range types {
		if err := s.fake.SendContractCallback(id, typ); err != nil {
			t.Fatal(err)
		}
		contractTypes[typ] = true
		all = append(all, sent{qys.KindContract, typ, id})
	}
	all = append(all, sendCertifications(t, s.fake, format)...)
	for _, kind := range qys.NoticeKinds {
		for _, typ := range qystest.NoticeTypes[kind] {
			key, err := s.fake.SendNotice(kind, typ, "")
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, sent{kind, typ, key})
		}
	}
	if err := s.fake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d callbacks sent (%d deliveries), %d contract types", len(all), len(s.fake.Deliveries()), len(contractTypes))
	checkAnswers(t, s.fake.Deliveries(), format)
	checkStored(t, ctx, s, all)
	checkApplied(t, ctx, s, id, contractTypes, all)
}

// sendCertifications sends every certification outcome: format A the
// company success and failure and the personal pass, fail and manual
// review; format B each USER_AUTH_* and COMPANY_AUTH_* type.
func sendCertifications(t *testing.T, fake *qystest.Server, format qys.Format) []sent {
	t.Helper()
	var out []sent
	if format == qys.FormatB {
		for i, typ := range qystest.CertificationCallbackTypesB {
			id := fmt.Sprint(4100000000000000000 + i)
			if err := fake.SendCertificationCallbackB(typ, id); err != nil {
				t.Fatal(err)
			}
			kind := qys.KindAuthCompany
			if strings.HasPrefix(typ, "USER_") {
				kind = qys.KindAuthPersonal
			}
			out = append(out, sent{kind, typ, id})
		}
		return out
	}
	fake.CompleteCompanyAuth("company-ok", "甲方科技有限公司", true)
	fake.CompleteCompanyAuth("company-failed", "乙方科技有限公司", false)
	out = append(out, sent{qys.KindAuthCompany, qys.CallbackTypeAuth, "company-ok"}, sent{qys.KindAuthCompany, qys.CallbackTypeAuth, "company-failed"})
	for _, status := range []string{"1", "2", "3"} {
		id := "person-" + status
		fake.CompletePersonalAuth(id, "FACE", status)
		out = append(out, sent{qys.KindAuthPersonal, qys.CallbackTypeAuth, id})
	}
	return out
}

// checkAnswers: every callback accepted on its first attempt, with the
// answer its kind expects.
func checkAnswers(t *testing.T, ds []qystest.Delivery, format qys.Format) {
	t.Helper()
	if len(ds) == 0 {
		t.Fatal("no deliveries")
	}
	for _, d := range ds {
		if !d.OK || d.Attempt != 1 || d.StatusCode != 200 {
			t.Fatalf("%s %s: attempt %d answered %d %q (err %v)", d.Kind, d.CallbackType, d.Attempt, d.StatusCode, d.Body, d.Err)
		}
		want := expectedAnswer(d.Kind, format)
		if strings.TrimSpace(d.Body) != want {
			t.Errorf("%s %s answered %q, want %q", d.Kind, d.CallbackType, d.Body, want)
		}
	}
}

func expectedAnswer(kind qys.Kind, format qys.Format) string {
	const codeZero = `{"code":0,"message":"SUCCESS"}`
	switch {
	case kind == qys.KindPhysicalSeal:
		return codeZero
	case format == qys.FormatB, kind == qys.KindContract, kind == qys.KindPersonalSignAuth:
		return "success"
	case kind == qys.KindSealAudit:
		return `{"code":0,"responseCode":"00000000","message":"SUCCESS"}`
	}
	return codeZero // certifications and the company authorisation
}

// checkStored: each callback is on QYS_CALLBACKS, on its kind's subject,
// with the callbackType it was sent with.
func checkStored(t *testing.T, ctx context.Context, s *stack, all []sent) {
	t.Helper()
	msgs, err := natstest.StreamMessages(ctx, s.nats.JS, s.nats.Names.CallbacksStream())
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, m := range msgs {
		env, err := events.Decode(m.Data)
		if err != nil {
			t.Fatalf("undecodable message on %s: %v", m.Subject, err)
		}
		if want := s.nats.Names.CallbackSubject("default", env.Kind, env.Type); m.Subject != want {
			t.Errorf("%s %s stored on %s, want %s", env.Kind, env.Type, m.Subject, want)
		}
		if env.Type == qystest.CallbackCheck {
			t.Error("CALLBACK_CHECK was stored")
		}
		stored[env.Kind+"|"+env.Type+"|"+storedID(env)] = true
	}
	for _, c := range all {
		if !stored[string(c.kind)+"|"+c.typ+"|"+c.id] {
			t.Errorf("%s %s (%s) is not on %s", c.kind, c.typ, c.id, s.nats.Names.CallbacksStream())
		}
	}
	if len(msgs) != len(all) {
		t.Errorf("%d messages stored, %d callbacks sent", len(msgs), len(all))
	}
}

func storedID(env *events.Envelope) string {
	switch {
	case env.Auth != nil:
		return env.Auth.RequestID
	case env.Notice != nil:
		return env.Notice.Key
	}
	return env.ContractID
}

// checkApplied: the contract's events name every type; every
// certification has its row; every notice has its unconfirmed fact on
// its subject.
func checkApplied(t *testing.T, ctx context.Context, s *stack, contractID string, contractTypes map[string]bool, all []sent) {
	t.Helper()
	l := testdb.OpenURL(t, s.dbURL)
	err := e2e.Eventually(ctx, 60*time.Second, func() string {
		evs, err := l.Events(ctx, "default", contractID)
		if err != nil {
			return err.Error()
		}
		seen := map[string]bool{}
		for _, e := range evs {
			seen[e.Type] = true
		}
		for typ := range contractTypes {
			if !seen[typ] {
				return "contract event " + typ + " not applied"
			}
		}
		for _, c := range all {
			if c.kind != qys.KindAuthCompany && c.kind != qys.KindAuthPersonal {
				continue
			}
			if _, err := l.Certification(ctx, "default", c.id); err != nil {
				return fmt.Sprintf("certification %s (%s): %v", c.id, c.typ, err)
			}
		}
		return checkNoticeFacts(ctx, s, all)
	})
	if err != nil {
		t.Fatal(err)
	}
	if dl, _ := l.DeadLetters(ctx, 10); len(dl) != 0 {
		t.Fatalf("%d dead letters: %s %s", len(dl), dl[0].Subject, dl[0].Reason)
	}
	checkNoticeEvents(t, ctx, l, all)
}

// checkNoticeFacts returns "" once every notice has exactly one fact on
// qys.ledger.default.notice.<kind>.<type>, unconfirmed, with its key.
func checkNoticeFacts(ctx context.Context, s *stack, all []sent) string {
	msgs, err := natstest.StreamMessages(ctx, s.nats.JS, s.nats.Names.LedgerStream())
	if err != nil {
		return err.Error()
	}
	got := map[string]int{}
	for _, m := range msgs {
		var f events.Fact
		if err := json.Unmarshal(m.Data, &f); err != nil {
			return err.Error()
		}
		if f.Kind != events.FactKindNotice {
			continue
		}
		if f.Confirmed || f.Notice == nil || len(f.Detail) == 0 {
			return fmt.Sprintf("notice fact %s: confirmed %v notice %+v", f.ID, f.Confirmed, f.Notice)
		}
		if want := s.nats.Names.LedgerNoticeSubject("default", f.Notice.Kind, f.Notice.Type); m.Subject != want {
			return fmt.Sprintf("notice fact on %s, want %s", m.Subject, want)
		}
		got[f.Notice.Kind+"|"+f.Notice.Type+"|"+f.Notice.Key]++
	}
	for _, c := range all {
		if !c.kind.IsNotice() {
			continue
		}
		if n := got[string(c.kind)+"|"+c.typ+"|"+c.id]; n != 1 {
			return fmt.Sprintf("notice %s %s (%s): %d facts", c.kind, c.typ, c.id, n)
		}
	}
	return ""
}

// checkNoticeEvents: the ledger's events table holds each notice, under
// its kind and type (a notice has no contract: its contract_id is empty).
func checkNoticeEvents(t *testing.T, ctx context.Context, l store.Ledger, all []sent) {
	t.Helper()
	evs, err := l.Events(ctx, "default", "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range evs {
		if events.IsNoticeKind(e.Kind) {
			got[e.Kind+"|"+e.Type]++
		}
	}
	want := map[string]int{}
	for _, c := range all {
		if c.kind.IsNotice() {
			want[string(c.kind)+"|"+c.typ]++
		}
	}
	if len(want) == 0 || !maps.Equal(got, want) {
		t.Fatalf("notice events in the ledger %v, want %v", got, want)
	}
}
