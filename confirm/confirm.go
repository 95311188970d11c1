// Package confirm is the ledger's view of what the 契约锁 open API
// confirms: a contract detail as the ledger row it becomes, the
// signatory progress that names facts and triggers, the fetch instants the
// ledger keeps, and the certification-result calls. The dispatcher applies
// these views and the reconciler compares with the same ones, so the two
// stages agree without importing each other.
package confirm

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

// FetchTime is a fetch's start or end as the ledger keeps it (UTC,
// microseconds): the Contract.FetchedAt and FetchEndedAt of a confirmed
// change.
func FetchTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// ContractFromDetail is the ledger view of a detail, as the dispatcher
// applies it (the reconciler compares with the same view); the caller sets
// FetchedAt and FetchEndedAt, the instants the fetch began and ended.
func ContractFromDetail(tenant string, c *qys.Contract) store.Contract {
	sc := store.Contract{
		Tenant: tenant, ID: string(c.ID), BizID: c.BizID, Subject: c.Subject, Status: c.Status,
		Confirmed: true, UpdatedAt: time.Now().UTC(), Detail: c.Raw,
	}
	for _, s := range c.Signatories {
		sc.Signatories = append(sc.Signatories, store.Signatory{
			ID: string(s.ID), TenantType: s.TenantType, TenantName: s.TenantName, Status: s.Status, SerialNo: s.SerialNo,
		})
	}
	for _, doc := range c.Documents {
		sc.Documents = append(sc.Documents, store.Document{ID: string(doc.ID), ContractID: string(c.ID), Title: doc.Title})
	}
	return sc
}

// ProgressKey names a contract's signatory progress (each signatory's
// status), part of the ids of facts and reconcile triggers.
func ProgressKey(c *store.Contract) string {
	parts := make([]string, 0, len(c.Signatories))
	for _, s := range c.Signatories {
		parts = append(parts, s.ID+"="+s.Status)
	}
	return strings.Join(parts, ",")
}

// CertificationAPI is what confirming a certification needs of a tenant's
// open API (*qys.Client has it). A tenant whose API lacks it, or that has
// no API, gets its certifications recorded unconfirmed.
type CertificationAPI interface {
	CompanyAuthResult(ctx context.Context, q qys.CompanyAuthQuery) (*qys.CompanyAuthResult, error)
	PersonalAuthResult(ctx context.Context, q qys.PersonalAuthQuery) (*qys.PersonalAuthResult, error)
}

// Certification kinds as the ledger names them.
const (
	CertCompany  = "company"
	CertPersonal = "personal"
)

// CertificationResult is one certification-result answer: how it was
// read, the raw result, and the fields worth keeping.
type CertificationResult struct {
	Reading qys.AuthReading
	// Status is the answer's status as sent (company), or
	// "realName=true|false" (personal).
	Status string
	Mode   string
	Name   string
	Raw    []byte
}

// FetchCertificationResult asks the certification-result API about one
// certification (kind CertCompany by request id, else personal by auth
// id). An unknown id is an error matching qys.ErrNotFound.
func FetchCertificationResult(ctx context.Context, api CertificationAPI, kind, requestID string) (CertificationResult, error) {
	if kind == CertCompany {
		r, err := api.CompanyAuthResult(ctx, qys.CompanyAuthQuery{RequestID: requestID})
		if err != nil {
			return CertificationResult{}, err
		}
		return CertificationResult{Reading: r.Reading, Status: r.Status, Name: r.CompanyName, Raw: r.Raw}, nil
	}
	r, err := api.PersonalAuthResult(ctx, qys.PersonalAuthQuery{AuthID: requestID})
	if err != nil {
		return CertificationResult{}, err
	}
	status := r.Status
	if r.RealName != nil {
		status = "realName=" + strconv.FormatBool(*r.RealName)
	}
	return CertificationResult{Reading: r.Reading, Status: status, Mode: r.Mode, Raw: r.Raw}, nil
}
