package admin

import (
	"encoding/json"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/store"
)

// The view functions build the answers of package adminapi from the
// ledger's rows (times in UTC). Each masks personal data unless unmasked
// is true.

// jsonOut returns stored JSON as is, or masked by key (maskJSONKeys: the
// shapes are masked in the whole answer, by maskingWriter). Stored bytes
// that are not JSON are sent as a JSON string, so the answer stays valid.
func jsonOut(raw []byte, unmasked bool) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	if !unmasked {
		return maskJSONKeys(raw)
	}
	if json.Valid(raw) {
		return raw
	}
	b, _ := json.Marshal(string(raw))
	return b
}

func name(kind maskKind, s string, unmasked bool) string {
	if unmasked {
		return s
	}
	return mask(kind, s)
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func viewContract(c store.Contract, unmasked bool) adminapi.ContractDetail {
	v := adminapi.ContractDetail{Contract: adminapi.Contract{
		Tenant: c.Tenant, ID: c.ID, BizID: c.BizID, Subject: c.Subject, Status: c.Status,
		Confirmed: c.Confirmed, UpdatedAt: c.UpdatedAt.UTC(), CompletedAt: utc(c.CompletedAt),
	}}
	for _, s := range c.Signatories {
		v.Signatories = append(v.Signatories, adminapi.Signatory{
			ID: s.ID, TenantType: s.TenantType, TenantName: name(maskName, s.TenantName, unmasked),
			Status: s.Status, SerialNo: s.SerialNo,
		})
	}
	for _, d := range c.Documents {
		v.Documents = append(v.Documents, adminapi.Document{
			ID: d.ID, ContractID: d.ContractID, Title: d.Title, SHA256: d.SHA256, Size: d.Size,
			Path: d.Path, FetchedAt: utc(d.FetchedAt), ArchiveState: d.ArchiveState, Attempts: d.Attempts,
			LastError: d.LastError, NextAttemptAt: utc(d.NextAttemptAt),
			VerifyVerdict: d.VerifyVerdict, VerifySignatures: d.VerifySignatures,
			VerifiedAt: utc(d.VerifiedAt), VerifyProblem: d.VerifyProblem,
			ValidationSHA256: d.ValidationSHA256, ValidationPath: d.ValidationPath, ValidationStatus: d.ValidationStatus,
			Discrepancies: viewDiscrepancies(d.Discrepancies, unmasked), Compared: d.Discrepancies != "",
		})
	}
	return v
}

func viewEvent(e store.Event, unmasked bool) adminapi.Event {
	return adminapi.Event{
		ID: e.ID, Tenant: e.Tenant, Kind: e.Kind, Type: e.Type, ContractID: e.ContractID, Source: e.Source,
		ReceivedAt: e.ReceivedAt.UTC(), AppliedAt: e.AppliedAt.UTC(), Payload: jsonOut(e.Payload, unmasked),
		TraceID: e.TraceID,
	}
}

func viewCertification(c store.Certification, unmasked bool) adminapi.Certification {
	v := adminapi.Certification{
		Tenant: c.Tenant, RequestID: c.RequestID, Kind: c.Kind, State: c.CertState(), Status: c.Status,
		Success: c.Success, Confirmed: c.Confirmed, Pending: c.Pending, Reason: c.Reason,
		Mode: c.Mode, Name: name(maskName, c.Name, unmasked), FailReason: c.FailReason, UpdatedAt: c.UpdatedAt.UTC(),
	}
	if c.Confirmed {
		v.Reason = ""
	}
	if unmasked && !c.Confirmed {
		v.Answer = jsonOut(c.Answer, true)
	}
	return v
}

func viewDeadLetter(d store.DeadLetter, unmasked, payload bool) adminapi.DeadLetter {
	v := adminapi.DeadLetter{
		ID: d.ID, EventID: d.EventID, Tenant: d.Tenant, Consumer: d.Consumer, Subject: d.Subject,
		StreamSeq: d.StreamSeq, Reason: d.Reason, Deliveries: d.Deliveries, CreatedAt: d.CreatedAt.UTC(),
		Issue: issueKey(&d), RetryOf: d.RetryOf, Retries: d.Retries, FirstFailedAt: utc(d.FirstFailedAt),
	}
	if e := envelopeOf(&d); e != nil {
		v.Kind, v.Type, v.ContractID = e.Kind, e.Type, e.ContractID
		if !e.ReceivedAt.IsZero() {
			t := e.ReceivedAt.UTC()
			v.ReceivedAt = &t
		}
	}
	if payload {
		v.Payload = jsonOut(d.Payload, unmasked)
	}
	return v
}

// viewDiscrepancies decodes a document's discrepancies (a JSON array;
// store.Document.Discrepancies); viewers get the party masked and no
// detail. A value that does not decode is shown as one discrepancy of
// kind "unreadable" rather than hidden.
func viewDiscrepancies(raw string, unmasked bool) []adminapi.Discrepancy {
	if raw == "" {
		return nil
	}
	var in []adminapi.Discrepancy
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return []adminapi.Discrepancy{{Kind: "unreadable", Detail: "the recorded discrepancies do not decode"}}
	}
	out := make([]adminapi.Discrepancy, 0, len(in))
	for _, x := range in {
		x.Party = name(maskName, x.Party, unmasked)
		if !unmasked {
			x.Detail = ""
		}
		out = append(out, x)
	}
	return out
}

func factDiscrepancy(d *events.FactDiscrepancy) *adminapi.FactDiscrepancy {
	if d == nil {
		return nil
	}
	return &adminapi.FactDiscrepancy{Kind: d.Kind, DocumentID: d.DocumentID, SHA256: d.SHA256, EventID: d.EventID}
}
