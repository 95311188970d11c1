package events

import (
	"encoding/json"
	"unicode/utf8"
)

// AppendEncode appends Encode's bytes to dst. An envelope whose payload is
// valid JSON (or nil) is written field by field without reflection, the
// payload compacted and HTML-escaped in one pass as encoding/json does;
// any other envelope goes through encoding/json. Both give the same bytes
// (TestAppendEncodeMatchesMarshal, FuzzAppendEncode).
func (e *Envelope) AppendEncode(dst []byte) ([]byte, error) {
	if out, ok := e.appendFast(dst); ok {
		return out, nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// appendFast appends e as json.Marshal writes it; ok is false, and in is
// returned as it was, when the payload or a time needs encoding/json.
func (e *Envelope) appendFast(in []byte) (_ []byte, ok bool) {
	if e.Payload != nil && !json.Valid(e.Payload) {
		return in, false // json.Marshal reports the error
	}
	if e.Notice != nil {
		return in, false // notices are rare: encoding/json writes them
	}
	dst := in
	dst = append(dst, `{"schema":`...)
	dst = appendString(dst, e.Schema)
	dst = append(dst, `,"id":`...)
	dst = appendString(dst, e.ID)
	dst = append(dst, `,"tenant":`...)
	dst = appendString(dst, e.Tenant)
	dst = append(dst, `,"kind":`...)
	dst = appendString(dst, e.Kind)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, e.Type)
	dst = appendOmit(dst, `,"contract_id":`, e.ContractID)
	dst = appendOmit(dst, `,"contract_status":`, e.ContractStatus)
	if a := e.Actor; a != nil {
		dst = append(dst, `,"actor":{`...)
		m := len(dst)
		dst = appendOmit(dst, `,"tenant_type":`, a.TenantType)
		dst = appendOmit(dst, `,"tenant_name":`, a.TenantName)
		dst = appendOmit(dst, `,"tenant_id":`, a.TenantID)
		dst = appendOmit(dst, `,"contact":`, a.Contact)
		dst = dropComma(dst, m)
		dst = append(dst, '}')
	}
	dst = appendOmit(dst, `,"business_data":`, e.BusinessData)
	if a := e.Auth; a != nil {
		dst = append(dst, `,"auth":{"request_id":`...)
		dst = appendString(dst, a.RequestID)
		dst = append(dst, `,"status":`...)
		dst = appendString(dst, a.Status)
		if a.Success {
			dst = append(dst, `,"success":true`...)
		} else {
			dst = append(dst, `,"success":false`...)
		}
		dst = appendOmit(dst, `,"mode":`, a.Mode)
		dst = appendOmit(dst, `,"name":`, a.Name)
		dst = appendOmit(dst, `,"fail_reason":`, a.FailReason)
		dst = appendOmit(dst, `,"action_event":`, a.ActionEvent)
		dst = append(dst, '}')
	}
	var err error
	if e.OccurredAt != nil {
		dst = append(dst, `,"occurred_at":"`...)
		if dst, err = e.OccurredAt.AppendText(dst); err != nil {
			return in, false
		}
		dst = append(dst, '"')
	}
	dst = append(dst, `,"received_at":"`...)
	if dst, err = e.ReceivedAt.AppendText(dst); err != nil {
		return in, false
	}
	dst = append(dst, `","format":`...)
	dst = appendString(dst, e.Format)
	dst = append(dst, `,"source":`...)
	dst = appendString(dst, e.Source)
	dst = append(dst, `,"payload":`...)
	if e.Payload == nil {
		dst = append(dst, "null"...)
	} else {
		dst = appendCompactHTML(dst, e.Payload)
	}
	return append(dst, '}'), true
}

// appendCompactHTML appends valid JSON p as encoding/json writes a
// json.RawMessage: white space outside strings dropped, and <, >, &,
// U+2028 and U+2029 escaped as \u00XX / \u202X.
func appendCompactHTML(dst, p []byte) []byte {
	const hex = "0123456789abcdef"
	start := 0
	inStr, esc := false, false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '<' || c == '>' || c == '&':
			dst = append(dst, p[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			start = i + 1
		case c == 0xE2 && i+2 < len(p) && p[i+1] == 0x80 && p[i+2]&^1 == 0xA8:
			dst = append(dst, p[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[p[i+2]&0xF])
			i += 2
			start = i + 1
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			dst = append(dst, p[start:i]...)
			start = i + 1
		}
	}
	return append(dst, p[start:]...)
}

func appendOmit(dst []byte, key, s string) []byte {
	if s == "" {
		return dst
	}
	dst = append(dst, key...)
	return appendString(dst, s)
}

// dropComma removes the comma that begins dst[m:] (the first member of an
// object whose members all start with one).
func dropComma(dst []byte, m int) []byte {
	if len(dst) > m && dst[m] == ',' {
		return append(dst[:m], dst[m+1:]...)
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendString quotes s exactly as encoding/json does (HTML-escaping,
// invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
