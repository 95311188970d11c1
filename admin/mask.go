package admin

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
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
		if s := maskText(key, x.String()); s != x.String() {
			return s
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
		return maskText(key, x)
	}
	return v
}

// Masking by value: a personal number in free text ("businessData":
// "idcard=110101199003071234") is masked whatever its key. A run of digits
// (with an ID card's trailing X) that no ASCII letter or digit touches is
// masked when it has the shape of
//   - a mainland ID card: 18 characters, 17 digits then a digit or X, with
//     a birth date 19xx/20xx-MM-DD at 7–14; or 15 digits with YYMMDD at 7–12;
//   - a mobile number: 11 digits, 1[3-9]…;
//   - a bank card: 16 to 19 digits (so an 18-digit ID card whatever its date).
// Values under keys that name identifiers (…id, …ids, sha256, path,
// cursor) are left alone: a 19-digit contract id is not a card number,
// and the console needs it whole to link it.

var digitRun = regexp.MustCompile(`[0-9]+[Xx]?`)

// personalNumber reports whether run (digits, maybe a final X) has one of
// the shapes above.
func personalNumber(run string) bool {
	switch n := len(run); {
	case run[n-1] == 'X' || run[n-1] == 'x':
		return n == 18 && birthDate(run[6:10], run[10:12], run[12:14])
	case n == 15:
		return birthDate("19"+run[6:8], run[8:10], run[10:12])
	case n == 11:
		return run[0] == '1' && run[1] >= '3'
	case n >= 16 && n <= 19:
		return true
	}
	return false
}

func birthDate(y, m, d string) bool {
	yy, err1 := strconv.Atoi(y)
	mm, err2 := strconv.Atoi(m)
	dd, err3 := strconv.Atoi(d)
	return err1 == nil && err2 == nil && err3 == nil && yy >= 1900 && yy < 2100 && mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31
}

// MaskText masks every personal number in s by its shape (see above),
// keeping its first three and last four characters.
func MaskText(s string) string {
	if len(s) < 11 {
		return s
	}
	locs := digitRun.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		run := s[l[0]:l[1]]
		if (l[0] > 0 && asciiAlnum(s[l[0]-1])) || (l[1] < len(s) && asciiAlnum(s[l[1]])) || !personalNumber(run) {
			continue
		}
		b.WriteString(s[last:l[0]])
		b.WriteString(mask(maskNumber, run))
		last = l[1]
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func asciiAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// identifierKey reports whether key names an identifier, whose value
// MaskText leaves alone.
func identifierKey(key string) bool {
	k := strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(key))
	return strings.HasSuffix(k, "id") || strings.HasSuffix(k, "ids") || k == "sha256" || k == "path" ||
		strings.HasSuffix(k, "cursor") || k == "tenant"
}

// maskText applies MaskText to a value found under key.
func maskText(key, s string) string {
	if identifierKey(key) {
		return s
	}
	return MaskText(s)
}

// maskAllText masks by value every string (and every number with a
// personal shape) of a decoded JSON value, at any depth, outside
// identifier keys: what a viewer receives, whatever built it.
func maskAllText(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = maskAllText(k, e)
		}
	case []any:
		for i, e := range x {
			x[i] = maskAllText(key, e)
		}
	case string:
		return maskText(key, x)
	case json.Number:
		if s := maskText(key, x.String()); s != x.String() {
			return s
		}
	}
	return v
}

// maskJSONText returns raw with maskAllText applied; raw that is not JSON
// comes back unchanged (the caller made it).
func maskJSONText(raw []byte) []byte {
	v, ok := decodeJSON(raw)
	if !ok {
		return raw
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(maskAllText("", v)); err != nil {
		return raw
	}
	if !bytes.HasSuffix(raw, []byte("\n")) {
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	return buf.Bytes()
}
