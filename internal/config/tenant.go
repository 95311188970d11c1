package config

import (
	"encoding/hex"
	"fmt"
	"net/url"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys"
)

// Tenant is one 契约锁 account whose callbacks arrive on
// /callbacks/{Name}/…: how its callbacks are verified, and how its open
// API is called.
type Tenant struct {
	// Name is the tenant's path and subject token (letters, digits, '-', '_').
	Name string
	// Format is the callback wire format, A (default) or B.
	Format qys.Format
	// Secrets are the callback secrets, newest first; several during a
	// rotation. Each is the 16-character AES key that also signs format A.
	Secrets []Secret
	// Cipher is format A's content cipher, AES_ECB (default) or AES_CBC.
	Cipher qys.Cipher
	// IV is the AES_CBC IV (16 characters, or 32 hex digits).
	IV Secret
	// Token is format B's callback token (IV = SHA-256(token)[:16]).
	Token Secret
	// SignatureB is how format B's signature field is checked: "none"
	// (default; its formula is not published, so authenticity rests on the
	// secret decrypting the content) or "md5" (MD5(timestamp + secret)).
	SignatureB string
	// Accept is what is accepted per callback kind (encrypted, plain or
	// unsigned); empty fields take qys.DefaultPolicy(Format).
	Accept qys.Policy
	// AuthAnswer is the body answered to a stored certification callback:
	// "json" ({"code":0,"message":"SUCCESS"}, the default) or "success".
	AuthAnswer string
	// AllowUnsigned accepts callbacks of every kind without a signature
	// (legacy; prefer Accept).
	AllowUnsigned bool
	// AllowPlain accepts callbacks of every kind whose fields are not
	// encrypted (legacy; prefer Accept).
	AllowPlain bool
	// Window bounds the callback timestamp (copied from Config.Window).
	Window Window
	// QYS is how the tenant's open API is called.
	QYS QYS

	// setting names the setting behind a field in error messages.
	setting func(field string) string
}

// QYS holds the open-API settings of a tenant.
type QYS struct {
	// BaseURL is the API root (default https://openapi.qiyuesuo.cn).
	BaseURL string
	// AppToken is the app's access token.
	AppToken Secret
	// AppSecret is the app's access secret.
	AppSecret Secret
	// PrivateCloud selects the private-cloud header family and paths.
	PrivateCloud bool
	// AgentToken and AgentSecret call the open API in SaaS agent mode
	// (x-qys-open-agentaccesstoken, x-qys-open-agentsignature), for an
	// integrator acting for other companies. Both or neither.
	AgentToken  Secret
	AgentSecret Secret
	// VerifyOnline also sends each archived PDF to 契约锁's file
	// verification (POST /v2/verify) besides the offline check
	// ([tenant.qys] verify_online, QYSHOOK_QYS_VERIFY_ONLINE; default
	// false: the file leaves the service).
	VerifyOnline bool
	// AuthResultShape is how certification-result answers are read:
	// "auto" (default: by the fields present), "documented" or "legacy"
	// (qys.WithAuthResultShape; [tenant.qys] auth_result_shape,
	// QYSHOOK_QYS_AUTH_RESULT_SHAPE).
	AuthResultShape string
	// OplogPath is the path of the operation-log call the archiver makes
	// for each signed contract ([tenant.qys] oplog_path,
	// QYSHOOK_QYS_OPLOG_PATH; default "": /v2/contract/stream, or
	// /contract/stream with PrivateCloud). "/contract/operationlog" is the
	// private cloud 4.0's documented call (qys.PathOperationLog).
	OplogPath string
	// APIRate is the tenant's budget of open-API requests per second in
	// this process, shared by the dispatcher, the archiver, the reconciler
	// and certification lookups; 0 means no rate limit ([tenant.qys]
	// api_rate, else QYSHOOK_API_RATE; default 0).
	APIRate int
	// APIInFlight bounds the tenant's open-API requests under way at once
	// in this process; 0 means no bound ([tenant.qys] api_inflight, else
	// QYSHOOK_API_INFLIGHT; default 0).
	APIInFlight int
}

// Credentials reports whether the tenant can call the open API: an app
// token and secret, or an agent token and secret.
func (q QYS) Credentials() bool {
	return (q.AppToken != "" && q.AppSecret != "") || (q.AgentToken != "" && q.AgentSecret != "")
}

// Policy is what the tenant accepts per callback kind, defaults and the
// legacy all-kinds switches applied.
func (t *Tenant) Policy() qys.Policy { return t.VerifierConfig().EffectivePolicy() }

// VerifierConfig is the tenant's callback verification for qys.NewVerifier.
func (t *Tenant) VerifierConfig() qys.VerifierConfig {
	secrets := make([]string, len(t.Secrets))
	for i, s := range t.Secrets {
		secrets[i] = s.Reveal()
	}
	iv, _ := parseIV(t.IV.Reveal())
	return qys.VerifierConfig{
		Format:        t.Format,
		Secrets:       secrets,
		Cipher:        t.Cipher,
		IV:            iv,
		Token:         t.Token.Reveal(),
		SignatureB:    t.SignatureB,
		Window:        qys.Window{Past: t.Window.Past, Future: t.Window.Future},
		Policy:        t.Accept,
		AllowUnsigned: t.AllowUnsigned,
		AllowPlain:    t.AllowPlain,
	}
}

// parseIV accepts 16 characters or 32 hex digits.
func parseIV(s string) ([]byte, error) {
	switch len(s) {
	case 0:
		return nil, nil
	case 16:
		return []byte(s), nil
	case 32:
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("32 characters but not hex")
		}
		return b, nil
	}
	return nil, fmt.Errorf("must be 16 characters or 32 hex digits (got %d characters)", len(s))
}

func (t *Tenant) name(field string) string {
	if t.setting != nil {
		return t.setting(field)
	}
	return fmt.Sprintf("tenant %q: %s", t.Name, field)
}

// validate returns one error per problem; no message holds a secret.
func (t *Tenant) validate(needs Need) []error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{t.name(field)}, args...)...))
	}
	if !events.ValidToken(t.Name) {
		add("name", "%q is not a valid tenant name (letters, digits, '-' and '_', 1-64)", t.Name)
	}
	t.validateCallbacks(needs, add)
	t.validateQYS(needs, add)
	return errs
}

// adder records one problem of a setting.
type adder func(field, format string, args ...any)

// validateCallbacks checks how callbacks are read: format, cipher and IV,
// secrets, format B's signature and token, the accept policies and the
// answer.
func (t *Tenant) validateCallbacks(needs Need, add adder) {
	switch t.Format {
	case qys.FormatA, qys.FormatB:
	default:
		add("format", "%q: must be A or B", t.Format)
	}
	t.validateCipher(add)
	for i, s := range t.Secrets {
		n := len(s.Reveal())
		if n != SecretLen && (t.Format != qys.FormatB || n < SecretLen) {
			add("secret", "secret #%d must be %d characters (got %d)", i+1, SecretLen, n)
		}
	}
	switch t.SignatureB {
	case "", qys.SignatureNone, qys.SignatureMD5:
	default:
		add("signature_b", "%q: must be none or md5", t.SignatureB)
	}
	if t.Format == qys.FormatB && t.Token == "" {
		add("token", "required for format B")
	}
	for _, a := range []struct {
		field string
		v     qys.Accept
	}{{"accept_contract", t.Accept.Contract}, {"accept_auth_personal", t.Accept.AuthPersonal}, {"accept_auth_company", t.Accept.AuthCompany},
		{"accept_notify", t.Accept.Notice}, {"accept_physical_seal", t.Accept.PhysicalSeal}} {
		if a.v == "" {
			continue
		}
		if _, err := qys.ParseAccept(string(a.v)); err != nil {
			add(a.field, "%q: must be encrypted, plain or unsigned", a.v)
		}
	}
	switch t.AuthAnswer {
	case "", "json", "success":
	default:
		add("auth_answer", "%q: must be json or success", t.AuthAnswer)
	}
	if needs&NeedCallbackSecrets != 0 && len(t.Secrets) == 0 && !t.acceptsAllUnsigned() {
		add("secret", "required (the %d-character callback secret)", SecretLen)
	}
}

// validateCipher checks the cipher and its IV.
func (t *Tenant) validateCipher(add adder) {
	switch t.Cipher {
	case qys.CipherECB:
		if t.IV != "" {
			add("iv", "set, but the cipher is AES_ECB")
		}
	case qys.CipherCBC:
		if t.IV == "" && t.Format != qys.FormatB {
			add("iv", "required with AES_CBC: no public source gives 契约锁's IV, so there is no default")
		}
	default:
		add("cipher", "%q: must be AES_ECB or AES_CBC", t.Cipher)
	}
	if _, err := parseIV(t.IV.Reveal()); err != nil {
		add("iv", "%v", err)
	}
}

// validateQYS checks the open-API settings.
func (t *Tenant) validateQYS(needs Need, add adder) {
	q := t.QYS
	if (q.AppToken == "") != (q.AppSecret == "") {
		add("qys_app_token", "the app token and the app secret go together")
	}
	if (q.AgentToken == "") != (q.AgentSecret == "") {
		add("qys_agent_token", "the agent token and the agent secret go together")
	}
	if q.AuthResultShape != "" && !qys.ValidAuthShape(q.AuthResultShape) {
		add("auth_result_shape", "%q: must be %s, %s or %s", q.AuthResultShape, qys.AuthShapeAuto,
			qys.AuthShapeDocumented, qys.AuthShapeLegacy)
	}
	if q.APIRate < 0 || q.APIRate > MaxAPIRate {
		add("api_rate", "%d: must be 0 (no rate limit) or 1 to %d requests per second", q.APIRate, MaxAPIRate)
	}
	if q.APIInFlight < 0 || q.APIInFlight > MaxAPIInFlight {
		add("api_inflight", "%d: must be 0 (no bound) or 1 to %d requests", q.APIInFlight, MaxAPIInFlight)
	}
	if q.OplogPath != "" {
		if err := qys.CheckOperationLogPath(q.OplogPath); err != nil {
			add("qys_oplog_path", "%q: must be a clean absolute path such as %s", q.OplogPath, qys.PathOperationLog)
		}
	}
	if u, err := url.Parse(q.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		add("qys_base_url", "must be an http(s) URL")
	}
	if needs&NeedQYSCredentials != 0 && !(q.AgentToken != "" && q.AgentSecret != "") {
		if q.AppToken == "" {
			add("qys_app_token", "required")
		}
		if q.AppSecret == "" {
			add("qys_app_secret", "required")
		}
	}
}

// acceptsAllUnsigned reports whether a format-A tenant accepts every kind
// unsigned: only then can it do without a callback secret.
func (t *Tenant) acceptsAllUnsigned() bool {
	if t.Format == qys.FormatB {
		return false
	}
	p := t.Policy()
	for _, k := range []qys.Kind{qys.KindContract, qys.KindAuthPersonal, qys.KindAuthCompany} {
		if p.For(k) != qys.AcceptUnsigned {
			return false
		}
	}
	return true
}
