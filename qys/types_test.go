package qys_test

import (
	"encoding/json"
	"testing"

	"github.com/qyshook/qyshook/qys"
)

// TestContractVendorFieldNames: the detail as the vendor's models name its
// fields (documents pageCount/createTime, receivers contactType) decodes
// into Contract, and the older names still do.
func TestContractVendorFieldNames(t *testing.T) {
	const detail = `{"id":"1","status":"SIGNING",
	 "signatories":[
	  {"id":"11","tenantType":"PERSONAL","status":"SIGNED","receiver":{"name":"张三","contact":"13800000000","contactType":"MOBILE"},
	   "actions":[{"id":"111","type":"PERSONAL","status":"FINISH"}]},
	  {"id":"12","tenantType":"COMPANY","status":"WAITING","receiver":{"name":"李四","contact":"a@example.com","contactType":"EMAIL","type":"COMPANY"},
	   "actions":[{"id":"121","type":"COMPANY","status":"INIT"}]}],
	 "documents":[{"id":"21","title":"正文","pageCount":3,"createTime":"2026-12-01 10:00:00"},{"id":"22","pages":2}]}`
	var c qys.Contract
	if err := json.Unmarshal([]byte(detail), &c); err != nil {
		t.Fatal(err)
	}
	s0, s1 := c.Signatories[0], c.Signatories[1]
	if s0.Status != qys.SignatorySigned || s1.Status != qys.SignatoryWaiting {
		t.Errorf("signatory statuses %q %q", s0.Status, s1.Status)
	}
	if s0.Receiver.ContactType != qys.ContactMobile || s1.Receiver.ContactType != qys.ContactEmail || s1.Receiver.Type != "COMPANY" {
		t.Errorf("receivers %+v %+v", s0.Receiver, s1.Receiver)
	}
	if s0.Actions[0].Status != qys.ActionFinish || s1.Actions[0].Status != qys.ActionInit {
		t.Errorf("action statuses %q %q", s0.Actions[0].Status, s1.Actions[0].Status)
	}
	d0, d1 := c.Documents[0], c.Documents[1]
	if d0.PageCount != 3 || d0.CreateTime != "2026-12-01 10:00:00" || d1.Pages != 2 {
		t.Errorf("documents %+v %+v", d0, d1)
	}
	if d0.PageTotal() != 3 || d1.PageTotal() != 2 {
		t.Errorf("PageTotal = %d, %d; want 3, 2", d0.PageTotal(), d1.PageTotal())
	}
}
