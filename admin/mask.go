package admin

import (
	"bytes"
	"encoding/json"
	"io"
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
	out, err := json.Marshal(maskValue("", v, true))
	if err != nil {
		return json.RawMessage(`"[masked]"`)
	}
	return out
}

// maskJSONKeys is MaskJSON by key only: the values under personal keys,
// at any depth (also in JSON held in a string). It is what the handlers
// apply to stored JSON for a viewer; the numbers with a personal shape
// are masked once, in the whole answer, by maskingWriter.
func maskJSONKeys(raw []byte) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	v, ok := decodeJSON(raw)
	if !ok {
		return json.RawMessage(`"[masked: not JSON]"`)
	}
	out, err := json.Marshal(maskValue("", v, false))
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

// maskValue masks v, found under key: by key, and by shape too when
// byShape.
func maskValue(key string, v any, byShape bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = maskValue(k, e, byShape)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = maskValue(key, e, byShape)
		}
		return x
	case json.Number:
		if kind := keyKind(key); kind != maskNone {
			return mask(kind, x.String())
		}
		if !byShape {
			return x
		}
		if s := maskText(key, x.String()); s != x.String() {
			return s
		}
		return x
	case string:
		if kind := keyKind(key); kind != maskNone {
			return mask(kind, x)
		}
		if b, ok := maskHeldJSON(x, func(inner any) any { return maskValue("", inner, byShape) }); ok {
			return b
		}
		if !byShape {
			return x
		}
		return maskText(key, x)
	}
	return v
}

// maskHeldJSON returns s, a JSON document held in a string (a payload
// inside an envelope), with f applied, and true; false when s holds none.
func maskHeldJSON(s string, f func(any) any) (string, bool) {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") {
		return "", false
	}
	inner, ok := decodeJSON([]byte(t))
	if !ok {
		return "", false
	}
	b, err := json.Marshal(f(inner))
	if err != nil {
		return "", false
	}
	return string(b), true
}

// Masking by value: a personal number in free text ("businessData":
// "idcard=110101199003071234") is masked whatever its key. A run of digits
// (with an ID card's trailing X) that no ASCII letter or digit touches is
// masked when it has the shape of
//   - a mainland ID card: 18 characters, 17 digits then a digit or X, with
//     a birth date 19xx/20xx-MM-DD at 7–14; or 15 digits with YYMMDD at 7–12;
//   - a mobile number: 11 digits, 1[3-9]…;
//   - a bank card: 16 to 19 digits (so an 18-digit ID card whatever its date).
// The digits may come in groups separated by single spaces or dashes, all
// the same within the number, as people write them: a mobile number
// 3-4-4 (138 1234 5678), an ID card 6-8-4 (110101 19900307 123X), a bank
// card in groups of four with a last group of one to four (6222 0212 3456
// 7890); and a mobile number may follow +86 or 0086 (+8613812345678,
// tel:+86-138-1234-5678), which stays. Only the digits are masked, the
// separators stay (138 **** 5678).
// Values under keys that name identifiers (see identifierKey) are left
// alone: a 19-digit contract id is not a card number, and the console
// needs it whole to link it.

// numberRun is digit groups separated by single spaces or dashes, maybe
// with a final X.
var numberRun = regexp.MustCompile(`[0-9]+(?:[ -][0-9]+)*[Xx]?`)

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

// groupedPersonal reports whether groups (of digits, the last maybe with
// a final X), written with separators, have one of the grouped shapes
// above.
func groupedPersonal(groups []string) bool {
	lens := make([]int, len(groups))
	for i, g := range groups {
		lens[i] = len(g)
	}
	joined := strings.Join(groups, "")
	switch {
	case len(groups) == 1:
		return personalNumber(joined)
	case len(groups) == 3 && lens[0] == 3 && lens[1] == 4 && lens[2] == 4: // mobile
		return personalNumber(joined)
	case len(groups) == 3 && lens[0] == 6 && lens[1] == 8 && lens[2] == 4: // ID card
		return personalNumber(joined)
	}
	// A bank card: groups of four, the last of one to four digits.
	for _, n := range lens[:len(lens)-1] {
		if n != 4 {
			return false
		}
	}
	last := groups[len(groups)-1]
	total := len(joined)
	return len(last) >= 1 && len(last) <= 4 && total >= 16 && total <= 19 && !strings.ContainsAny(last, "Xx")
}

func birthDate(y, m, d string) bool {
	yy, err1 := strconv.Atoi(y)
	mm, err2 := strconv.Atoi(m)
	dd, err3 := strconv.Atoi(d)
	return err1 == nil && err2 == nil && err3 == nil && yy >= 1900 && yy < 2100 && mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31
}

// numberGroup is one group of a numberRun match, at s[start:end].
type numberGroup struct {
	start, end int
	sep        byte // the separator before it; 0 for the first or after a split +86
	prefix     bool // the country code 86 of +86, or 0086: never masked
}

// MaskText masks every personal number in s by its shape (see above),
// keeping its first three and last four digits.
func MaskText(s string) string {
	if len(s) < 11 {
		return s
	}
	locs := numberRun.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	var groups []numberGroup
	for _, l := range locs {
		if l[1]-l[0] < 11 {
			continue
		}
		groups = splitGroups(s, l[0], l[1], groups[:0])
		// A group touching an ASCII letter or digit outside the match is
		// part of a longer identifier.
		first, end := 0, len(groups)
		if l[0] > 0 && asciiAlnum(s[l[0]-1]) {
			// (and a group split off it: 0086 glued to a letter)
			for first = 1; first < len(groups) && groups[first].sep == 0; first++ {
			}
		}
		if l[1] < len(s) && asciiAlnum(s[l[1]]) {
			end--
		}
		for i := first; i < end; {
			if groups[i].prefix {
				i++
				continue
			}
			j := longestPersonal(s, groups, i, end)
			if j < 0 {
				i++
				continue
			}
			b.WriteString(s[last:groups[i].start])
			maskGroups(&b, s, groups[i:j+1])
			last = groups[j].end
			i = j + 1
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// splitGroups appends the groups of the match s[from:to] to gs, the
// country code of a leading +86 or 0086 split off as a prefix group.
func splitGroups(s string, from, to int, gs []numberGroup) []numberGroup {
	var sep byte
	start := from
	for i := from; i <= to; i++ {
		if i < to && s[i] != ' ' && s[i] != '-' {
			continue
		}
		gs = append(gs, numberGroup{start: start, end: i, sep: sep})
		if i < to {
			sep, start = s[i], i+1
		}
	}
	g := &gs[0]
	cc := ""
	switch {
	case from > 0 && s[from-1] == '+' && strings.HasPrefix(s[g.start:g.end], "86"):
		cc = "86"
	case strings.HasPrefix(s[g.start:g.end], "0086"):
		cc = "0086"
	}
	if cc != "" {
		if g.end-g.start == len(cc) {
			g.prefix = true
		} else {
			rest := numberGroup{start: g.start + len(cc), end: g.end}
			g.end, g.prefix = g.start+len(cc), true
			gs = append(gs[:1], append([]numberGroup{rest}, gs[1:]...)...)
		}
	}
	return gs
}

// longestPersonal returns the last group j < end such that groups i..j,
// written with one separator throughout, are a personal number; -1 when
// there is none.
func longestPersonal(s string, groups []numberGroup, i, end int) int {
	texts := make([]string, 0, end-i)
	for k := i; k < end; k++ {
		texts = append(texts, s[groups[k].start:groups[k].end])
	}
	for j := end - 1; j >= i; j-- {
		same := true
		for k := i + 2; k <= j; k++ {
			same = same && groups[k].sep == groups[i+1].sep
		}
		if same && groupedPersonal(texts[:j-i+1]) {
			return j
		}
	}
	return -1
}

// maskGroups writes groups (of s) masked, their separators kept.
func maskGroups(b *strings.Builder, s string, groups []numberGroup) {
	var digits strings.Builder
	for _, g := range groups {
		digits.WriteString(s[g.start:g.end])
	}
	m := mask(maskNumber, digits.String())
	k := 0
	for i, g := range groups {
		if i > 0 {
			b.WriteString(s[groups[i-1].end:g.start])
		}
		n := g.end - g.start
		b.WriteString(m[k : k+n])
		k += n
	}
}

func asciiAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// identifierKey reports whether key names an identifier, whose value
// MaskText leaves alone: the whole names id, ids, tenant, sha256, path and
// cursor, and names ending in _id, _ids or _cursor (or -id…), or in camel
// case Id, ID, Ids, IDs or Cursor after a lower-case letter or digit
// (contractId, requestID, contractIds, nextCursor). A key that merely
// ends in the letters "id" (paid, uuid, valid) is not one.
func identifierKey(key string) bool {
	switch strings.ToLower(key) {
	case "id", "ids", "tenant", "sha256", "path", "cursor":
		return true
	}
	lower := strings.ToLower(key)
	for _, suf := range []string{"_id", "-id", "_ids", "-ids", "_cursor", "-cursor"} {
		if strings.HasSuffix(lower, suf) {
			return true
		}
	}
	for _, suf := range []string{"Id", "ID", "Ids", "IDs", "Cursor"} {
		if rest, ok := strings.CutSuffix(key, suf); ok && rest != "" {
			c := rest[len(rest)-1]
			if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
				return true
			}
		}
	}
	return false
}

// maskText applies MaskText to a value found under key.
func maskText(key, s string) string {
	if identifierKey(key) {
		return s
	}
	return MaskText(s)
}

// maskAllText masks by value every string (and every number with a
// personal shape) of a decoded JSON value, at any depth and in JSON held
// in a string, outside identifier keys: what a viewer receives, whatever
// built it.
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
		if b, ok := maskHeldJSONText(x); ok {
			return b
		}
		return maskText(key, x)
	case json.Number:
		if s := maskText(key, x.String()); s != x.String() {
			return s
		}
	}
	return v
}

// maskHeldJSONText returns s, a JSON document held in a string, masked by
// shape in place (MaskText on each value outside identifier keys, every
// other byte kept: a receipt-log leaf is hashed as sent), and true; false
// when s holds no JSON document.
func maskHeldJSONText(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") {
		return "", false
	}
	type frame struct {
		obj     bool
		key     string
		wantKey bool
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var (
		stack []frame
		b     strings.Builder
		last  int
	)
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].wantKey = true
		}
	}
	for {
		start := int(dec.InputOffset())
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", false
		}
		end := int(dec.InputOffset())
		top := len(stack) - 1
		switch x := tok.(type) {
		case json.Delim:
			switch x {
			case '{':
				stack = append(stack, frame{obj: true, wantKey: true})
			case '[':
				key := ""
				if top >= 0 {
					key = stack[top].key
				}
				stack = append(stack, frame{key: key})
			default:
				stack = stack[:top]
				valueDone()
			}
			continue
		case string:
			if top >= 0 && stack[top].obj && stack[top].wantKey {
				stack[top].key, stack[top].wantKey = x, false
				continue
			}
		case json.Number:
		default: // true, false, null
			valueDone()
			continue
		}
		key := ""
		if top >= 0 {
			key = stack[top].key
		}
		if m := maskText(key, s[start:end]); m != s[start:end] {
			b.WriteString(s[last:start])
			b.WriteString(m)
			last = end
		}
		valueDone()
	}
	if len(stack) > 0 { // cut short
		return "", false
	}
	b.WriteString(s[last:])
	return b.String(), true
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
