package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/store"
)

// TestMaskTextCorpus: personal numbers are masked by their shape in free
// text, and numbers of other shapes stay (issue 21).
func TestMaskTextCorpus(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// ID cards: 18 characters (digit or X last), 15 digits.
		{"idcard=110101199003071234", "idcard=110***********1234"},
		{"身份证11010119900307123X。", "身份证110***********123X。"},
		{"id 11010119900307123x", "id 110***********123x"},
		{"old 110101900307123", "old 110********7123"},
		// Mobile numbers.
		{"手机13812345678", "手机138****5678"},
		{"tel:+86 19912345678;", "tel:+86 199****5678;"},
		{"(15012345678)", "(150****5678)"},
		// Bank cards, 16 to 19 digits.
		{"card 6222020200112233 ok", "card 622*********2233 ok"},
		{"卡号6217000010001234567", "卡号621************4567"},
		{"6222020200112233445", "622************3445"},
		{"a=13812345678&b=110101199003071234", "a=138****5678&b=110***********1234"},
	} {
		if got := MaskText(tc.in); got != tc.want {
			t.Errorf("MaskText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, keep := range []string{
		"20260101", "amount 12345.67", "ts 1733580000000", "12345678901", // 11 digits not 1[3-9]
		"10012345678",        // 11 digits, second digit 0
		"123456789012",       // 12 digits
		"12345678901234",     // 14 digits
		"123456789012345",    // 15 digits, no birth date (month 90)
		"11010119901307123X", // X but month 13
		"1101011990030712X",  // 17 characters with X
		"abc13812345678",     // touches letters: part of an identifier
		"13812345678def",     //
		"sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"12345678901234567890", // 20 digits
		"v1.2.3 build 42",
		"",
	} {
		if got := MaskText(keep); got != keep {
			t.Errorf("MaskText(%q) = %q, want it unchanged", keep, got)
		}
	}
}

// TestViewerMaskedByValue: a viewer reading an event whose payload holds
// an ID card in a free-text field (and a contract whose subject holds a
// mobile number) sees them masked; ids stay whole; the operator sees all.
// Failed before: "businessData":"idcard=110101…" reached the viewer.
func TestViewerMaskedByValue(t *testing.T) {
	f := newFixture(t)
	const id = "3121362688600000009" // a 19-digit contract id: not a card number
	applyPayload(t, f, id, `{"contractId":"`+id+`","businessData":"idcard=110101199003071234 tel 13987654321","amount":"12345.67"}`,
		"联系人13912345678的合同")
	var c adminapi.ContractDetail
	if st := f.get(t, viewerToken, "/contracts/default/"+id, &c); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	var all strings.Builder
	for _, e := range c.Events {
		all.Write(e.Payload)
	}
	all.WriteString(c.Subject)
	got := all.String()
	for _, leak := range []string{"110101199003071234", "13987654321", "13912345678"} {
		if strings.Contains(got, leak) {
			t.Errorf("a viewer received %s:\n%s", leak, got)
		}
	}
	for _, keep := range []string{"110***********1234", `"contractId":"` + id + `"`, "12345.67", "139****5678"} {
		if !strings.Contains(got, keep) {
			t.Errorf("viewer answer lacks %s:\n%s", keep, got)
		}
	}
	if c.ID != id {
		t.Errorf("the contract id was masked: %q", c.ID)
	}
	var op adminapi.ContractDetail
	f.get(t, operatorToken, "/contracts/default/"+id, &op)
	if !strings.Contains(op.Subject, "13912345678") {
		t.Errorf("operator subject %q", op.Subject)
	}
}

// applyPayload applies one more event to contract id with payload and
// sets its subject.
func applyPayload(t *testing.T, f *fixture, id, payload, subject string) {
	t.Helper()
	ch := store.ContractChange{
		Event: store.Event{ID: "ev-free-" + id, Tenant: "default", Kind: "contract", Type: "SIGNED", ContractID: id,
			Source: "callback", ReceivedAt: base.Add(time.Minute), Payload: json.RawMessage(payload)},
		Contract: store.Contract{Tenant: "default", ID: id, Subject: subject, Status: "SIGNING", UpdatedAt: base.Add(time.Minute)},
	}
	if _, err := f.ledger.ApplyContract(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
}

// TestMaskTextSeparatedAndPrefixed reproduces "personal numbers viewers
// still receive unmasked": mobile numbers with +86/0086 and digit groups
// separated by single spaces or dashes, spaced or dashed bank cards and ID
// cards are masked; dates, amounts and other grouped numbers stay.
// Failed before: each of these reached a viewer whole.
func TestMaskTextSeparatedAndPrefixed(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+8613812345678", "+86138****5678"},
		{"tel 008613812345678", "tel 0086138****5678"},
		{"138 1234 5678", "138 **** 5678"},
		{"手机：138-1234-5678。", "手机：138-****-5678。"},
		{"tel:+86-138-1234-5678", "tel:+86-138-****-5678"},
		{"+86 138 1234 5678", "+86 138 **** 5678"},
		{"0086-13812345678", "0086-138****5678"},
		{"card 6222 0212 3456 7890 ok", "card 622* **** **** 7890 ok"},
		{"6222-0212-3456-7890", "622*-****-****-7890"},
		{"6217 0000 1000 1234 567", "621* **** **** ***4 567"},
		{"身份证 110101 19900307 123X", "身份证 110*** ******** 123X"},
		{"tel 13987654321 2026", "tel 139****4321 2026"},
	} {
		if got := MaskText(tc.in); got != tc.want {
			t.Errorf("MaskText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, keep := range []string{
		"2026-12-07", "2026-12-07 17:20:00", "2026 12 07", "amount 1 234 567.89", "12 345 678 901",
		"HT-2026-0001-000123456789", "+86 10 1234 5678", // a landline
		"+8612345678901",     // +86 then not a mobile
		"1234 5678 90",       // 10 digits
		"138 1234 567",       // 10 digits
		"order 2026-0001-23", //
		"86 138 1234 5678x",  // touches a letter
		"abc008613812345678", // part of an identifier
	} {
		if got := MaskText(keep); got != keep {
			t.Errorf("MaskText(%q) = %q, want it unchanged", keep, got)
		}
	}
}

// TestIdentifierKeysAreWholeNames: only keys that name identifiers (id,
// …_id, …Id, ids, …_ids, …Ids, tenant, sha256, path, cursor) keep their
// values whole; a key that merely ends in "id" (paid, uuid, valid) is
// masked by value like any other. Failed before: any suffix "id" was an
// identifier.
func TestIdentifierKeysAreWholeNames(t *testing.T) {
	const contractID = "3121362688600000009" // 19 digits: not a card under an id key
	in := `{"paid":"110101199003071234","uuid":"13812345678","valid":"6222 0212 3456 7890","PAID":"13812345678",` +
		`"id":"` + contractID + `","contract_id":"` + contractID + `","contractId":"` + contractID + `","contractID":"` + contractID + `",` +
		`"ids":["` + contractID + `"],"contract_ids":["` + contractID + `"],"contractIds":["` + contractID + `"],` +
		`"tenant":"` + contractID + `","sha256":"` + contractID + `","path":"` + contractID + `","next_cursor":"` + contractID + `","cursor":"` + contractID + `",` +
		`"date":"2026-12-07","amount":"12345.67"}`
	var got map[string]any
	if err := json.Unmarshal(maskJSONText([]byte(in)), &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"paid": "110***********1234", "uuid": "138****5678", "valid": "622* **** **** 7890", "PAID": "138****5678",
		"date": "2026-12-07", "amount": "12345.67"} {
		if got[k] != want {
			t.Errorf("%s: %v, want %s", k, got[k], want)
		}
	}
	for _, k := range []string{"id", "contract_id", "contractId", "contractID", "tenant", "sha256", "path", "next_cursor", "cursor"} {
		if got[k] != contractID {
			t.Errorf("%s: %v, want the id whole", k, got[k])
		}
	}
	for _, k := range []string{"ids", "contract_ids", "contractIds"} {
		if l, _ := got[k].([]any); len(l) != 1 || l[0] != contractID {
			t.Errorf("%s: %v, want the id whole", k, got[k])
		}
	}
}
