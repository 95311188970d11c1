package dispatcher

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys"
)

// checkStorable refuses, as a permanent unstorable_value failure, an
// envelope holding a value the ledger cannot store: a NUL byte or invalid
// UTF-8 in a text field (PostgreSQL refuses both in text) or in the
// payload, or an id or code over qys.MaxIDLength bytes. The receiver
// refuses such callbacks (qys.Callback.Validate); this catches the ones
// that bypass it (replays, older stream contents), which would otherwise
// fail every delivery. The error names the field, never its content.
func checkStorable(env *events.Envelope) error {
	ids := []field{{"id", env.ID}, {"tenant", env.Tenant}, {"kind", env.Kind}, {"type", env.Type},
		{"contract_id", env.ContractID}, {"contract_status", env.ContractStatus}}
	texts := []field{{"business_data", env.BusinessData}, {"format", env.Format}, {"source", env.Source}}
	if a := env.Actor; a != nil {
		texts = append(texts, field{"actor.tenant_type", a.TenantType}, field{"actor.tenant_name", a.TenantName},
			field{"actor.tenant_id", a.TenantID}, field{"actor.contact", a.Contact})
	}
	if a := env.Auth; a != nil {
		ids = append(ids, field{"auth.request_id", a.RequestID}, field{"auth.status", a.Status},
			field{"auth.mode", a.Mode}, field{"auth.action_event", a.ActionEvent})
		texts = append(texts, field{"auth.name", a.Name}, field{"auth.fail_reason", a.FailReason})
	}
	if n := env.Notice; n != nil {
		ids = append(ids, field{"notice.key", n.Key}, field{"notice.digest", n.Digest})
	}
	for _, f := range ids {
		if len(f.value) > qys.MaxIDLength {
			return permanent(reasonUnstorable, fmt.Errorf("%s is %d bytes long (at most %d)", f.name, len(f.value), qys.MaxIDLength))
		}
	}
	for _, f := range append(append(ids, texts...), field{"payload", string(env.Payload)}) {
		switch {
		case strings.IndexByte(f.value, 0) >= 0:
			return permanent(reasonUnstorable, fmt.Errorf("%s holds a NUL byte", f.name))
		case !utf8.ValidString(f.value):
			return permanent(reasonUnstorable, fmt.Errorf("%s is not valid UTF-8", f.name))
		}
	}
	return nil
}

type field struct{ name, value string }

// storableText returns s with what no text column or NATS header can hold
// escaped: NUL and other control characters (tab excepted) as \xNN, each
// byte of invalid UTF-8 as \xNN, and backslash as \\ so the escaping can
// be read back unambiguously. Text without any of them is returned as is.
func storableText(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\\' || c >= utf8.RuneSelf || (c < 0x20 && c != '\t') || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case (r < 0x20 && r != '\t') || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
