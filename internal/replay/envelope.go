package replay

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
}

// Envelope turns a verified callback into the stored event exactly as the
// receiver does, with the same stable event id (the delivery timestamp is
// not part of it), so a re-ingested callback collapses with the one the
// receiver stored. source is events.SourceIngest for files.
//
// It duplicates the receiver's unexported builder (receiver/callback.go);
// the two must stay identical.
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
	if a := cb.Auth; a != nil {
		env.Auth = &events.Auth{RequestID: a.RequestID, Status: a.Status, Success: a.Success, Mode: a.Mode,
			Name: a.Name, FailReason: a.FailReason, ActionEvent: a.ActionEvent}
	}
	if !cb.Timestamp.IsZero() {
		ts := cb.Timestamp.UTC()
		env.OccurredAt = &ts
	}
	subjectID, status := cb.ContractID, cb.ContractStatus
	if cb.Auth != nil {
		subjectID, status = cb.Auth.RequestID, cb.Auth.Status
	}
	env.ID = events.EventID(tenant, kind, subjectID, cb.CallbackType, status, events.ActorKey(env.Actor))
	return env
}
