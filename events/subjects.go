package events

import (
	"fmt"
	"regexp"
	"strings"
)

// Stream names (before any namespace prefix).
const (
	StreamCallbacks = "QYS_CALLBACKS"
	StreamLedger    = "QYS_LEDGER"
	StreamDLQ       = "QYS_DLQ"
)

// Durable consumer names (before any namespace prefix). They are never
// renamed: a renamed durable re-consumes the whole stream.
const (
	DurableLedger = "qyshook_ledger"
)

// Event kinds.
const (
	KindContract     = "contract"
	KindAuthPersonal = "auth.personal"
	KindAuthCompany  = "auth.company"
	// The notice kinds: callbacks qyshook records as received and cannot
	// confirm (docs/qys-callbacks.md). Each is "notify." + its route segment.
	KindSealAudit            = "notify.seal-audit"
	KindPersonalSignAuth     = "notify.personal-sign-auth"
	KindCompanyAuthorization = "notify.company-authorization"
	KindPhysicalSeal         = "notify.physical-seal"
)

// NoticeKinds lists the notice kinds.
var NoticeKinds = []string{KindSealAudit, KindPersonalSignAuth, KindCompanyAuthorization, KindPhysicalSeal}

// noticePrefix starts every notice kind.
const noticePrefix = "notify."

// IsNoticeKind reports whether kind is one of NoticeKinds.
func IsNoticeKind(kind string) bool {
	for _, k := range NoticeKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// NoticeSegment is a notice kind without its "notify." prefix
// ("seal-audit"…), as it appears in routes and subjects.
func NoticeSegment(kind string) string { return strings.TrimPrefix(kind, noticePrefix) }

// Subject roots (before any namespace prefix).
const (
	subjectCallbackRoot = "qys.callback"
	subjectLedgerRoot   = "qys.ledger"
	subjectDLQRoot      = "qys.dlq"
)

// Fact kinds published on QYS_LEDGER.
const (
	FactContractStatus    = "contract.status"
	FactDocumentsArchived = "documents.archived"
	// FactKindDiscrepancy: the sources disagree about a contract (package
	// crosscheck); the fact's Discrepancy says which kind, about which
	// document.
	FactKindDiscrepancy = "discrepancy"
	// FactCertificationStatus: a certification reached a new state (or
	// was confirmed through the certification-result API).
	FactCertificationStatus = "certification.status"
	// FactKindNotice: a notice callback (a notice kind) was received and
	// recorded. Always unconfirmed: no API confirms these callbacks.
	FactKindNotice = "notice"
)

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidToken reports whether s is safe to use as one NATS subject token
// (tenant names, namespaces, consumer names): 1 to 64 characters of
// letters, digits, '-' and '_'.
func ValidToken(s string) bool { return tokenRE.MatchString(s) }

// SubjectToken makes an arbitrary value (a callbackType or a contract status
// sent by 契约锁) safe as one subject token: characters outside
// [A-Za-z0-9_-] become '_', and an empty value becomes "UNKNOWN".
func SubjectToken(s string) string {
	if s == "" {
		return "UNKNOWN"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}

// Names builds every stream, subject and durable name for one deployment.
// Namespace, when set, prefixes all of them so several deployments (or
// parallel test runs) can share one NATS account. The zero value is the
// un-namespaced deployment.
type Names struct {
	Namespace string
}

// NewNames returns the names for namespace ns ("" for none). It fails when
// ns is not a valid subject token.
func NewNames(ns string) (Names, error) {
	if ns != "" && !ValidToken(ns) {
		return Names{}, fmt.Errorf("events: namespace %q: only letters, digits, '-' and '_' (1-64)", ns)
	}
	return Names{Namespace: ns}, nil
}

func (n Names) stream(s string) string {
	if n.Namespace == "" {
		return s
	}
	return n.Namespace + "_" + s
}

func (n Names) subject(s string) string {
	if n.Namespace == "" {
		return s
	}
	return n.Namespace + "." + s
}

// CallbacksStream is the name of the stream holding verified callbacks.
func (n Names) CallbacksStream() string { return n.stream(StreamCallbacks) }

// LedgerStream is the name of the stream holding ledger facts.
func (n Names) LedgerStream() string { return n.stream(StreamLedger) }

// DLQStream is the name of the dead-letter stream.
func (n Names) DLQStream() string { return n.stream(StreamDLQ) }

// Durable returns the namespaced name of a durable consumer.
func (n Names) Durable(name string) string { return n.stream(name) }

// CallbackSubject is the subject a verified callback is published on:
// qys.callback.<tenant>.contract.<callbackType>,
// qys.callback.<tenant>.auth.<personal|company>, or for a notice
// qys.callback.<tenant>.notify.<kind>.<type> (kind the route segment,
// such as seal-audit). All are inside CallbacksWildcard, the callback
// stream's one subject filter, so a stream provisioned before a kind
// existed already stores it.
func (n Names) CallbackSubject(tenant, kind, callbackType string) string {
	if IsNoticeKind(kind) {
		return n.subject(subjectCallbackRoot + "." + tenant + ".notify." + NoticeSegment(kind) + "." + SubjectToken(callbackType))
	}
	switch kind {
	case KindAuthPersonal:
		return n.subject(subjectCallbackRoot + "." + tenant + ".auth.personal")
	case KindAuthCompany:
		return n.subject(subjectCallbackRoot + "." + tenant + ".auth.company")
	default:
		return n.subject(subjectCallbackRoot + "." + tenant + ".contract." + SubjectToken(callbackType))
	}
}

// CallbacksWildcard matches every callback subject.
func (n Names) CallbacksWildcard() string { return n.subject(subjectCallbackRoot + ".>") }

// CallbacksTenantWildcard matches every callback subject of one tenant.
func (n Names) CallbacksTenantWildcard(tenant string) string {
	return n.subject(subjectCallbackRoot + "." + tenant + ".>")
}

// LedgerContractSubject is the subject of a contract fact:
// qys.ledger.<tenant>.contract.<status>.
func (n Names) LedgerContractSubject(tenant, status string) string {
	return n.subject(subjectLedgerRoot + "." + tenant + ".contract." + SubjectToken(status))
}

// LedgerCertificationSubject is the subject of a certification fact:
// qys.ledger.<tenant>.certification.<state> when the state was confirmed
// through the certification-result API, and
// qys.ledger.<tenant>.certification.unconfirmed.<state> when it is a
// callback's word only, so a subscriber tells them apart by subject
// (certification.* matches confirmed facts only). state is one of the
// lifecycle.Cert* words (NOT_SUBMITTED, NOT_CERTIFIED, IN_PROGRESS, REVIEW,
// FAILED, SUCCESS, EXPIRED, INVALID).
func (n Names) LedgerCertificationSubject(tenant, state string, confirmed bool) string {
	if !confirmed {
		return n.subject(subjectLedgerRoot + "." + tenant + ".certification.unconfirmed." + SubjectToken(state))
	}
	return n.subject(subjectLedgerRoot + "." + tenant + ".certification." + SubjectToken(state))
}

// LedgerNoticeSubject is the subject of a notice fact:
// qys.ledger.<tenant>.notice.<kind>.<type> (kind the route segment, such
// as seal-audit; type the notice's type, such as PASS).
func (n Names) LedgerNoticeSubject(tenant, kind, typ string) string {
	return n.subject(subjectLedgerRoot + "." + tenant + ".notice." + SubjectToken(NoticeSegment(kind)) + "." + SubjectToken(typ))
}

// LedgerDocumentsSubject is the subject of a documents-archived fact:
// qys.ledger.<tenant>.documents.archived.
func (n Names) LedgerDocumentsSubject(tenant string) string {
	return n.subject(subjectLedgerRoot + "." + tenant + ".documents.archived")
}

// LedgerDiscrepancySubject is the subject of a discrepancy fact:
// qys.ledger.<tenant>.discrepancy.<kind> (kind: missing_signature,
// unknown_signer, signed_after_completion, document_invalid,
// callback_unknown_party, callback_contradicted).
func (n Names) LedgerDiscrepancySubject(tenant, kind string) string {
	return n.subject(subjectLedgerRoot + "." + tenant + ".discrepancy." + SubjectToken(kind))
}

// LedgerTenantWildcard matches every ledger fact subject of one tenant.
func (n Names) LedgerTenantWildcard(tenant string) string {
	return n.subject(subjectLedgerRoot + "." + tenant + ".>")
}

// LedgerWildcard matches every ledger fact subject.
func (n Names) LedgerWildcard() string { return n.subject(subjectLedgerRoot + ".>") }

// DLQSubject is the dead-letter subject of a consumer: qys.dlq.<consumer>.
func (n Names) DLQSubject(consumer string) string {
	return n.subject(subjectDLQRoot + "." + SubjectToken(consumer))
}

// DLQWildcard matches every dead-letter subject.
func (n Names) DLQWildcard() string { return n.subject(subjectDLQRoot + ".>") }

// SplitCallbackSubject parses a callback subject back into tenant and kind.
// ok is false when subj is not a callback subject of this namespace.
func (n Names) SplitCallbackSubject(subj string) (tenant, kind string, ok bool) {
	prefix := n.subject(subjectCallbackRoot) + "."
	if !strings.HasPrefix(subj, prefix) {
		return "", "", false
	}
	parts := strings.Split(strings.TrimPrefix(subj, prefix), ".")
	if len(parts) == 4 && parts[1] == "notify" && IsNoticeKind(noticePrefix+parts[2]) {
		return parts[0], noticePrefix + parts[2], true
	}
	if len(parts) != 3 {
		return "", "", false
	}
	switch parts[1] {
	case "contract":
		return parts[0], KindContract, true
	case "auth":
		if parts[2] == "personal" {
			return parts[0], KindAuthPersonal, true
		}
		if parts[2] == "company" {
			return parts[0], KindAuthCompany, true
		}
	}
	return "", "", false
}
