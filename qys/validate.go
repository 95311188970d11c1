package qys

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalidValue: a verified callback holds a value no ledger keeps as
// sent: a NUL byte or invalid UTF-8 in a text field (PostgreSQL refuses
// both in text columns), or an identifier longer than MaxIDLength.
// Callback.Validate returns it wrapped with the field's name; the receiver
// answers 400, since retrying the same callback cannot succeed.
var ErrInvalidValue = errors.New("qys: callback: value cannot be stored")

// MaxIDLength caps, in bytes, the identifiers and codes of a callback
// (contract and certification ids, callbackType, statuses, modes): the
// platform's are 19-digit numbers and short codes, and the ledger indexes
// them (a PostgreSQL index entry holds at most about 2.7 KB).
const MaxIDLength = 256

// Validate reports the first field of c that cannot be stored as sent
// (ErrInvalidValue, with the field's name; never its content): a NUL byte
// or invalid UTF-8 in any text field or in the payload, or an identifier
// over MaxIDLength bytes. It checks what Verify decoded; Verify itself
// does not call it.
func (c *Callback) Validate() error {
	ids := []field{
		{"callbackType", c.CallbackType}, {"contractId", c.ContractID}, {"contractStatus", c.ContractStatus},
	}
	texts := []field{{"bizId", c.BizID}, {"businessData", c.BusinessData}}
	if a := c.Actor; a != nil {
		texts = append(texts, field{"tenantType", a.TenantType}, field{"tenantName", a.TenantName},
			field{"tenantId", a.TenantID}, field{"contact", a.Contact})
	}
	if a := c.Auth; a != nil {
		ids = append(ids, field{"requestId", a.RequestID}, field{"status", a.Status},
			field{"mode", a.Mode}, field{"actionEvent", a.ActionEvent})
		texts = append(texts, field{"name", a.Name}, field{"rejectReason", a.FailReason})
	}
	if n := c.Notice; n != nil {
		ids = append(ids, field{"notice key", n.Key})
	}
	for _, f := range ids {
		if len(f.value) > MaxIDLength {
			return fmt.Errorf("%w: %s is %d bytes long (at most %d)", ErrInvalidValue, f.name, len(f.value), MaxIDLength)
		}
	}
	for _, f := range append(ids, texts...) {
		if why := badText(f.value); why != "" {
			return fmt.Errorf("%w: %s %s", ErrInvalidValue, f.name, why)
		}
	}
	if why := badText(string(c.Payload)); why != "" {
		return fmt.Errorf("%w: the decoded content %s", ErrInvalidValue, why)
	}
	return nil
}

type field struct{ name, value string }

// badText says why s cannot be stored as text ("" when it can).
func badText(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "holds a NUL byte"
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	return ""
}
