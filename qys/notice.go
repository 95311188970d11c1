package qys

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Notice kinds: the callbacks 契约锁 documents besides contracts and
// certifications, each configured at its own URL. qyshook cannot confirm
// any of them through the open API, so they are recorded as received
// (docs/qys-callbacks.md gives what is known of each, with its source and
// confidence).
const (
	// KindSealAudit is the seal-image audit (图片印章审核) callback:
	// applyId, result (PASS or REJECT), detail.
	KindSealAudit Kind = "notify.seal-audit"
	// KindPersonalSignAuth is the personal signing authorisation
	// (个人签名授权) callback: content holding companyId, companyName,
	// assignee, user, userType, authDeadline, remark, item (AUTHORIZE or
	// DEAUTHORIZE), deauthorizeDate.
	KindPersonalSignAuth Kind = "notify.personal-sign-auth"
	// KindCompanyAuthorization is the SaaS company authorisation (企业授权)
	// callback. Its payload is not described publicly.
	KindCompanyAuthorization Kind = "notify.company-authorization"
	// KindPhysicalSeal is the private-cloud 4.0 physical-seal (物理用印)
	// callback, "format C": plain form fields, no signature described.
	// 用印结束 sends businessId and status (USING, COMPLETE); 用印图片
	// businessId, number or mobile, imageType (FACE, SIGNATORY,
	// EMERGENCY) and images; 剩余次数 businessId, number or mobile,
	// leftCount and timestamp.
	KindPhysicalSeal Kind = "notify.physical-seal"
)

// NoticeKinds lists the notice kinds, in the order the docs list them.
var NoticeKinds = []Kind{KindSealAudit, KindPersonalSignAuth, KindCompanyAuthorization, KindPhysicalSeal}

// noticePrefix starts every notice kind.
const noticePrefix = "notify."

// IsNotice reports whether k is one of NoticeKinds.
func (k Kind) IsNotice() bool { return slices.Contains(NoticeKinds, k) }

// Segment is the last part of a notice kind: the {kind} of the route
// /callbacks/{tenant}/notify/{kind} ("seal-audit"…); "" for other kinds.
func (k Kind) Segment() string {
	if !k.IsNotice() {
		return ""
	}
	return strings.TrimPrefix(string(k), noticePrefix)
}

// NoticeKind returns the notice kind of a route segment ("seal-audit",
// "personal-sign-auth", "company-authorization", "physical-seal").
func NoticeKind(segment string) (Kind, bool) {
	k := Kind(noticePrefix + segment)
	return k, k.IsNotice()
}

// Types of notices derived from their fields when they send no
// callbackType of their own.
const (
	// NoticeTypeUnknown: no field named the notice's type.
	NoticeTypeUnknown = "UNKNOWN"
	// NoticeTypeSealImage: a physical-seal 用印图片 callback (imageType).
	NoticeTypeSealImage = "IMAGE"
	// NoticeTypeLeftCount: a physical-seal 剩余次数 callback (leftCount).
	NoticeTypeLeftCount = "LEFT_COUNT"
)

// Notice is what qyshook reads of a notice callback: the rest stays in
// Callback.Payload as sent.
type Notice struct {
	// Key names what the notice is about: applyId (seal audit), companyId
	// (signing authorisation; company authorisation when sent), businessId
	// (physical seal); "" when the payload has none of them.
	Key string
	// Digest is the SHA-256 (hex) of the payload without its delivery
	// fields (callbackTime, nonce, signature; timestamp unless it is a
	// physical seal's business field): the notice's identity, equal for
	// 契约锁's retries of one callback and different for two notices that
	// differ in any other field.
	Digest string
}

// classifyNotice fills cb.CallbackType and cb.Notice from obj. Nothing is
// required beyond a JSON object: the payloads are known only from
// secondary sources, and a field missing is no reason to refuse (and so
// lose) a verified callback.
func classifyNotice(cb *Callback, kind Kind, obj map[string]json.RawMessage) error {
	n := &Notice{}
	typ := str(obj, "callbackType")
	switch kind {
	case KindSealAudit:
		n.Key = str(obj, "applyId")
		typ = or(typ, strings.ToUpper(str(obj, "result")))
	case KindPersonalSignAuth:
		n.Key = str(obj, "companyId")
		typ = or(typ, strings.ToUpper(str(obj, "item")))
	case KindCompanyAuthorization:
		n.Key = firstOf(obj, "companyId", "requestId", "tenantId", "authId")
		typ = or(typ, strings.ToUpper(firstOf(obj, "status", "authStatus", "item", "result")))
	case KindPhysicalSeal:
		n.Key = str(obj, "businessId")
		switch {
		case typ != "":
		case str(obj, "status") != "":
			typ = strings.ToUpper(str(obj, "status"))
		case str(obj, "imageType") != "":
			typ = NoticeTypeSealImage
		case str(obj, "leftCount") != "":
			typ = NoticeTypeLeftCount
		}
	default:
		return fmt.Errorf("%w: %q is not a notice kind", ErrMalformed, truncate([]byte(kind), 32))
	}
	if strings.ContainsAny(n.Key, "{[") {
		return fmt.Errorf("%w: the notice's key field is not a string or number", ErrMalformed)
	}
	cb.CallbackType = or(typ, NoticeTypeUnknown)
	d, err := noticeDigest(kind, obj)
	if err != nil {
		return err
	}
	n.Digest = d
	cb.Notice = n
	return nil
}

// noticeDigest hashes obj without its delivery fields, members sorted
// (encoding/json sorts map keys), so a retry with a new callbackTime or
// nonce has the same digest.
func noticeDigest(kind Kind, obj map[string]json.RawMessage) (string, error) {
	kept := make(map[string]json.RawMessage, len(obj))
	for k, v := range obj {
		switch k {
		case "callbackTime", fieldNonce, fieldSignature:
			continue
		case fieldTimestamp:
			if kind != KindPhysicalSeal {
				continue
			}
		}
		kept[k] = v
	}
	b, err := json.Marshal(kept)
	if err != nil {
		return "", fmt.Errorf("%w: notice payload: %w", ErrMalformed, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// verifyC verifies a physical-seal callback ("format C", private cloud
// 4.0): form, multipart or JSON fields, sent in the clear. The vendor
// document describes no signature; a signature that is present is checked
// as format A's (MD5(timestamp + secret)) and a wrong one refused, and a
// policy stricter than AcceptUnsigned requires one. The fields are never
// decrypted, and timestamp stays in the payload (剩余次数 sends one as
// data): it bounds the callback's age only when a signature is sent.
func (v *Verifier) verifyC(req RawRequest, accept Accept) (*Callback, map[string]json.RawMessage, Accept, error) {
	f, err := parseFields(req)
	if err != nil {
		return nil, nil, "", err
	}
	sig, err := f.one(req.Query, fieldSignature)
	if err != nil {
		return nil, nil, "", err
	}
	cb := &Callback{Format: FormatA, SecretIndex: -1}
	shape := AcceptUnsigned
	if sig != "" || accept != AcceptUnsigned {
		ts, err := f.one(req.Query, fieldTimestamp)
		if err != nil {
			return nil, nil, "", err
		}
		if cb.SecretIndex, cb.Timestamp, err = v.signedTime(accept, sig, ts); err != nil {
			return nil, nil, "", err
		}
		shape = AcceptPlain
	}
	obj, err := f.plainPayload()
	if err != nil {
		return nil, nil, "", err
	}
	if ts := firstValue(f, fieldTimestamp); ts != "" && sig == "" {
		b, _ := json.Marshal(ts) // a string: cannot fail
		obj[fieldTimestamp] = b
	}
	cb.Payload, err = json.Marshal(obj)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	return cb, obj, shape, nil
}

// firstValue is a field's first value as text ("" when absent).
func firstValue(f *fields, key string) string {
	if f.obj != nil {
		return str(f.obj, key)
	}
	if vs := f.vals[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}
