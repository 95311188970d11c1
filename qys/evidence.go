package qys

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
)

// Paths of the evidence and certification-result calls (public cloud).
// The SaaS variants are chosen with WithSaaSAuthPaths.
const (
	PathContractStream     = "/v2/contract/stream"
	PathFileVerify         = "/v2/verify"
	PathCompanyAuthResult  = "/companyauth/result"
	PathPersonalAuthResult = "/v2/personalauth/result"
	// DefaultSaaSCompanyAuthResult and DefaultSaaSPersonalAuthResult are
	// qyshook's guess at the SaaS variants: the vendor SDK has
	// SaaSCompanyAuthResultRequest / SaaSUserAuthResultRequest, but their
	// paths were not retrieved (docs/evidence.md). Override them with
	// WithSaaSAuthPaths.
	DefaultSaaSCompanyAuthResult  = "/saas/v2/companyauth/result"
	DefaultSaaSPersonalAuthResult = "/saas/v2/personalauth/result"
)

// Stream operations (operation parameter of /v2/contract/stream).
const (
	OperationAll      = "ALL"
	OperationView     = "VIEW"
	OperationModify   = "MODIFY"
	OperationDownload = "DOWNLOAD"
	OperationPrint    = "PRINT"
)

type saasPaths struct{ company, personal string }

// WithSaaSAuthPaths makes CompanyAuthResult and PersonalAuthResult call
// the SaaS variants. Empty arguments keep DefaultSaaSCompanyAuthResult /
// DefaultSaaSPersonalAuthResult; a given path must start with "/".
func WithSaaSAuthPaths(company, personal string) Option {
	return func(c *Client) error {
		if company == "" {
			company = DefaultSaaSCompanyAuthResult
		}
		if personal == "" {
			personal = DefaultSaaSPersonalAuthResult
		}
		for _, p := range []string{company, personal} {
			if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?# \r\n") {
				return fmt.Errorf("%w: SaaS auth path %q must be an absolute path", ErrInvalidOption, p)
			}
		}
		c.saas = &saasPaths{company: company, personal: personal}
		return nil
	}
}

// StreamQuery selects a contract's operation log. ContractID or BizID is
// required; Operations are sent comma-separated (none = the platform
// default, ALL).
type StreamQuery struct {
	ContractID string
	BizID      string
	TenantName string
	Operations []string
	// OperatorContact selects one operator's records; only the
	// private-cloud operation log (PathOperationLog) takes it.
	OperatorContact string
}

// OperationLog is the answer of /v2/contract/stream or of the private
// cloud's /contract/operationlog (Client.OperationLog). Raw is the
// `result` exactly as sent, which is what an archive should keep.
type OperationLog struct {
	TotalCount int
	Records    []OperationRecord
	Raw        json.RawMessage
}

// OperationRecord is one entry of the operation log. The public cloud's
// item fields are not documented; these names are qyshook's (and the
// fake's) choice. The private cloud's records (SystemAuditLog) are
// documented: operation, operator, createTime and detailedOperation fill
// the first four fields, the others the private-cloud fields. Raw always
// holds the entry as sent.
type OperationRecord struct {
	Operation    string `json:"operation"`
	OperatorName string `json:"operatorName"`
	OperateTime  string `json:"operateTime"`
	Description  string `json:"description"`

	// Private cloud only (/contract/operationlog).
	EntityID       string                `json:"-"`
	EntityName     string                `json:"-"`
	OperatorID     string                `json:"-"`
	OperatorMobile string                `json:"-"`
	OperatorNumber string                `json:"-"` // employee number
	OperatorEmail  string                `json:"-"`
	Departments    []OperationDepartment `json:"-"`
	OperationDesc  string                `json:"-"`

	Raw json.RawMessage `json:"-"`
}

// ContractStream calls GET /v2/contract/stream (合同管理-获取合同操作记录),
// /contract/stream in private-cloud mode, whatever WithOperationLogPath
// says (OperationLog follows it).
func (c *Client) ContractStream(ctx context.Context, q StreamQuery) (*OperationLog, error) {
	return c.contractStream(ctx, c.apiPath(PathContractStream), q)
}

// PlatformVerification is the answer of /v2/verify. Its fields are not
// documented publicly; qyshook reads `valid` and `signatures` (the fake's
// shape) and keeps the `result` as sent in Raw, so a verdict can be
// archived even when the field names differ.
type PlatformVerification struct {
	// Valid is the platform's overall verdict.
	Valid      bool
	Signatures []PlatformSignature
	Raw        json.RawMessage
}

// PlatformSignature is the platform's verdict on one signature.
type PlatformSignature struct {
	Signer   string `json:"signer"`
	SignTime string `json:"signTime"`
	Valid    bool   `json:"valid"`
	// Modified: the document was changed after this signature.
	Modified bool `json:"modified"`
}

// VerifyFile calls POST /v2/verify (辅助工具-文件验签) with the PDF as the
// multipart field `file` (name is its file name; showImg is not sent).
// The body is re-read from r for each attempt; the platform's verdict is
// returned even when it says the file is invalid.
func (c *Client) VerifyFile(ctx context.Context, name string, r io.ReaderAt, size int64) (*PlatformVerification, error) {
	if r == nil || size <= 0 {
		return nil, fmt.Errorf("%w: verify file: empty file", ErrInvalidOption)
	}
	if name == "" {
		name = "document.pdf"
	}
	path := c.apiPath(PathFileVerify)
	ctx, cancel := c.withDefaultTimeout(ctx)
	defer cancel()
	var env *envelope
	err := c.withRetries(ctx, path, func(ctx context.Context, _ *permit) (bool, time.Duration, error) {
		req, err := c.newRequest(ctx, path, nil, "application/json")
		if err != nil {
			return false, 0, err
		}
		body, ctype, err := multipartFile(name, io.NewSectionReader(r, 0, size))
		if err != nil {
			return false, 0, fmt.Errorf("qys: %s: %w", path, err)
		}
		req.Method = http.MethodPost
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", ctype)
		resp, err := c.hc.Do(req)
		if err != nil {
			return retryable(ctx, err), 0, fmt.Errorf("qys: %s: %w", path, stripURL(err))
		}
		defer resp.Body.Close()
		e, retry, err := c.readJSON(path, resp)
		if err != nil {
			return retry, retryAfterOf(err), err
		}
		env = e
		return false, 0, nil
	})
	if err != nil {
		return nil, err
	}
	if isJSONNull(env.Result) {
		return nil, fmt.Errorf("qys: %s: response has no result", path)
	}
	out := &PlatformVerification{Raw: append(json.RawMessage(nil), env.Result...)}
	if b := bytes.TrimSpace(env.Result); len(b) > 0 && b[0] == '[' {
		err = json.Unmarshal(b, &out.Signatures)
		out.Valid = len(out.Signatures) > 0
		for _, s := range out.Signatures {
			out.Valid = out.Valid && s.Valid && !s.Modified
		}
	} else {
		var res struct {
			Valid      bool                `json:"valid"`
			Signatures []PlatformSignature `json:"signatures"`
		}
		err = json.Unmarshal(b, &res)
		out.Valid, out.Signatures = res.Valid, res.Signatures
	}
	if err != nil {
		return nil, fmt.Errorf("qys: %s: decode verification: %w", path, err)
	}
	return out, nil
}

// maxVerifyUpload bounds the file VerifyFile sends (it is buffered once
// per attempt so that retries and Content-Length work).
const maxVerifyUpload = 256 << 20

func multipartFile(name string, r *io.SectionReader) ([]byte, string, error) {
	if r.Size() > maxVerifyUpload {
		return nil, "", fmt.Errorf("file of %d bytes is larger than %d", r.Size(), maxVerifyUpload)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		return nil, "", err
	}
	if _, err := io.Copy(fw, r); err != nil {
		return nil, "", fmt.Errorf("read file: %w", err)
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}
