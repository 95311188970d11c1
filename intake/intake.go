// Package intake turns a verified 契约锁 callback (qys.Callback) into the
// event stored on QYS_CALLBACKS (events.Envelope). The receiver translates
// each callback it accepts with it, and replay's ingest each callback
// re-read from a file, so both give one callback the same event id.
package intake

import (
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys"
)

// eventKinds translates qys kinds to event kinds.
var eventKinds = map[qys.Kind]string{
	qys.KindContract:     events.KindContract,
	qys.KindAuthPersonal: events.KindAuthPersonal,
	qys.KindAuthCompany:  events.KindAuthCompany,

	qys.KindSealAudit:            events.KindSealAudit,
	qys.KindPersonalSignAuth:     events.KindPersonalSignAuth,
	qys.KindCompanyAuthorization: events.KindCompanyAuthorization,
	qys.KindPhysicalSeal:         events.KindPhysicalSeal,
}

// Envelope turns a verified callback into the event stored on
// QYS_CALLBACKS. Its id is the stable identity of the callback (tenant,
// kind, contract or certification id, callbackType, status and acting
// signatory; not the delivery time), so 契约锁's retries, and the same
// callback re-ingested from a file (source events.SourceIngest), collapse.
func Envelope(tenant string, cb *qys.Callback, receivedAt time.Time, source string) *events.Envelope {
	kind := eventKinds[cb.Kind]
	env := &events.Envelope{
		Schema:         events.SchemaCallbackV1,
		Tenant:         tenant,
		Kind:           kind,
		Type:           cb.CallbackType,
		ContractID:     cb.ContractID,
		ContractStatus: cb.ContractStatus,
		BusinessData:   cb.BusinessData,
		ReceivedAt:     receivedAt.UTC(),
		Format:         string(cb.Format),
		Source:         source,
		Payload:        cb.Payload,
	}
	if a := cb.Actor; a != nil {
		env.Actor = &events.Actor{TenantType: a.TenantType, TenantName: a.TenantName, TenantID: a.TenantID, Contact: a.Contact}
	}
	if n := cb.Notice; n != nil {
		env.Notice = &events.Notice{Key: n.Key, Digest: n.Digest}
	}
	if a := cb.Auth; a != nil {
		env.Auth = &events.Auth{RequestID: a.RequestID, Status: a.Status, Success: a.Success, Mode: a.Mode,
			Name: a.Name, FailReason: a.FailReason, ActionEvent: a.ActionEvent}
	}
	if !cb.Timestamp.IsZero() {
		ts := cb.Timestamp.UTC()
		env.OccurredAt = &ts
	}
	subjectID, status := cb.ContractID, cb.ContractStatus
	if a := cb.Auth; a != nil {
		// Steps of one certification can share a status (company
		// actionEvent 0 then 1 are both "0"): they are distinct events.
		subjectID, status = a.RequestID, a.Status+"|"+a.ActionEvent+"|"+a.FailReason
	}
	if n := cb.Notice; n != nil {
		// Two notices of one key differ in their other fields (a seal's
		// images, its remaining count): the digest of the payload tells
		// them apart, and is the same for 契约锁's retries of one.
		subjectID, status = n.Key, n.Digest
	}
	env.ID = events.EventID(tenant, kind, subjectID, cb.CallbackType, status, events.ActorKey(env.Actor))
	return env
}
