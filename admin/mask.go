package admin

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// maskKind is how a personal value is masked.
type maskKind int

const (
	maskNone   maskKind = iota
	maskNumber          // phone, ID, card and account numbers, e-mail addresses
	maskName            // names of persons and companies
)

// numberKeys and nameKeys are the JSON keys (lower case, without '_' and
// '-') whose values are personal. Keys ending in "name" are names too,
// except those in notPersonal.
var (
	numberKeys = map[string]bool{
		"mobile": true, "phone": true, "tel": true, "telephone": true, "contact": true,
		"contactmobile": true, "contactphone": true, "mobileno": true, "phoneno": true,
		"idcardno": true, "idcard": true, "idno": true, "idnumber": true, "cardno": true,
		"paperno": true, "papersno": true, "bankcardno": true, "bankaccount": true, "accountno": true,
		"email": true, "mail": true, "registerno": true, "creditcode": true,
		"receivercontact": true, "signercontact": true,
		// The physical-seal notice's mobile number.
		"number": true,
	}
	nameKeys = map[string]bool{
		"legalperson": true, "legalrepresentative": true, "applicant": true, "signer": true,
		"operator": true, "creator": true, "receiver": true,
		// The signing-authorisation notice's people.
		"assignee": true, "user": true,
	}
	notPersonal = map[string]bool{
		"filename": true, "documentname": true, "templatename": true, "categoryname": true,
		"typename": true, "statusname": true, "sealname": true, "subjectname": true,
	}
)

// keyKind classifies a JSON key or field name.
func keyKind(key string) maskKind {
	k := strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(key))
	switch {
	case numberKeys[k]:
		return maskNumber
	case nameKeys[k], strings.HasSuffix(k, "name") && !notPersonal[k]:
		return maskName
	}
	return maskNone
}

// mask masks one personal value: a number keeps its first three and last
// four characters ("138****5678"), an e-mail address its first character
// and domain ("a***@example.com"), a name its first character ("张*",
// "上********"). Short values are masked whole. Empty stays empty.
func mask(kind maskKind, s string) string {
	if s == "" || kind == maskNone {
		return s
	}
	r := []rune(s)
	if kind == maskName {
		return string(r[0]) + strings.Repeat("*", max(len(r)-1, 1))
	}
	if at := strings.LastIndexByte(s, '@'); at > 0 {
		first, _ := utf8.DecodeRuneInString(s)
		return string(first) + "***" + s[at:]
	}
	if len(r) < 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}

// MaskField masks value when the field or key name marks it personal.
func MaskField(key, value string) string { return mask(keyKind(key), value) }

// MaskJSON returns raw with every personal value masked, at any depth:
// strings and numbers under a personal key (see keyKind), and JSON
// documents held in string values (a payload inside an envelope). Input
// that is not JSON comes back as a JSON string saying so, never as is.
func MaskJSON(raw []byte) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	v, ok := decodeJSON(raw)
	if !ok {
		return json.RawMessage(`"[masked: not JSON]"`)
	}
	out, err := json.Marshal(maskValue("", v))
	if err != nil {
		return json.RawMessage(`"[masked]"`)
	}
	return out
}

func decodeJSON(raw []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	return v, true
}

// maskValue masks v, found under key.
func maskValue(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = maskValue(k, e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = maskValue(key, e)
		}
		return x
	case json.Number:
		if kind := keyKind(key); kind != maskNone {
			return mask(kind, x.String())
		}
		return x
	case string:
		if kind := keyKind(key); kind != maskNone {
			return mask(kind, x)
		}
		if t := strings.TrimSpace(x); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			if inner, ok := decodeJSON([]byte(t)); ok {
				b, err := json.Marshal(maskValue("", inner))
				if err == nil {
					return string(b)
				}
			}
		}
		return x
	}
	return v
}
