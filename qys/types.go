package qys

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// ID is a 契约锁 identifier. The platform sends large ids as JSON strings,
// but some deployments send JSON numbers; ID decodes both without losing
// digits, and encodes as a string.
type ID string

// UnmarshalJSON accepts a JSON string, a JSON number or null.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*id = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("qys: id: %w", err)
		}
		*id = ID(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("qys: id %s: not a string or number", truncate(b, 32))
		}
		*id = ID(n.String())
	}
	return nil
}

// String returns the id.
func (id ID) String() string { return string(id) }

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// Contract is the result of GET /v2/contract/detail. Raw keeps the whole
// JSON object as 契约锁 sent it, unknown fields included.
type Contract struct {
	ID            ID              `json:"id"`
	BizID         string          `json:"bizId,omitempty"`
	TenantName    string          `json:"tenantName,omitempty"`
	Subject       string          `json:"subject,omitempty"`
	Description   string          `json:"description,omitempty"`
	SN            string          `json:"sn,omitempty"`
	Status        string          `json:"status"`
	Signatories   []Signatory     `json:"signatories,omitempty"`
	Documents     []Document      `json:"documents,omitempty"`
	Comments      string          `json:"comments,omitempty"`
	InvalidReason string          `json:"invalidReason,omitempty"`
	BusinessData  string          `json:"businessData,omitempty"`
	PublishTime   string          `json:"publishTime,omitempty"`
	ExpireTime    string          `json:"expireTime,omitempty"`
	EndTime       string          `json:"endTime,omitempty"`
	Raw           json.RawMessage `json:"-"`
}

// Signatory is one party of a contract.
type Signatory struct {
	ID         ID       `json:"id"`
	TenantType string   `json:"tenantType,omitempty"` // PERSONAL or COMPANY
	TenantName string   `json:"tenantName,omitempty"`
	Status     string   `json:"status,omitempty"`
	SerialNo   int      `json:"serialNo,omitempty"`
	Receiver   Receiver `json:"receiver,omitzero"`
	Actions    []Action `json:"actions,omitempty"`
	// CompleteTime is when this signatory finished, as sent (free text).
	CompleteTime string `json:"completeTime,omitempty"`
}

// Signatory status values of the public cloud, as the vendor SDK's
// Signatory model lists them besides the contract statuses (DRAFT,
// SIGNING, REJECTED, RECALLED, EXPIRED, FILLING, INVALIDING, INVALIDED).
// Private cloud 4.0 says COMPLETE where the public cloud says SIGNED.
const (
	SignatorySigned  = "SIGNED"  // 已完成: this signatory has signed
	SignatoryWaiting = "WAITING" // 待签署: not this signatory's turn yet
)

// Action status values of the public cloud (vendor SDK Action model).
const (
	ActionInit   = "INIT"   // 初始化
	ActionStart  = "START"  // 已启动
	ActionFinish = "FINISH" // 已完成
	ActionStop   = "STOP"   // 意外终止
)

// Receiver contact types (contactType).
const (
	ContactMobile = "MOBILE"
	ContactEmail  = "EMAIL"
)

// Receiver is the person who receives a signatory's signing request.
type Receiver struct {
	Name    string `json:"name,omitempty"`
	Contact string `json:"contact,omitempty"`
	// ContactType is MOBILE or EMAIL, as the vendor's User model names it.
	ContactType string `json:"contactType,omitempty"`
	// Type is kept for details that send "type"; the vendor's model has
	// no such field.
	Type string `json:"type,omitempty"`
}

// Action is one signing action of a signatory (seal, operator, legal person…).
type Action struct {
	ID     ID     `json:"id"`
	Type   string `json:"type,omitempty"`
	Name   string `json:"name,omitempty"`
	Status string `json:"status,omitempty"`
}

// Document is one document of a contract.
type Document struct {
	ID    ID     `json:"id"`
	Title string `json:"title,omitempty"`
	// PageCount is the number of pages, as the vendor's Document model
	// names it.
	PageCount int `json:"pageCount,omitempty"`
	// Pages is kept for details that send "pages"; see PageTotal.
	Pages int `json:"pages,omitempty"`
	// CreateTime is when the document was added, as sent (free text).
	CreateTime string `json:"createTime,omitempty"`
}

// PageTotal returns PageCount, or Pages when only that was sent.
func (d Document) PageTotal() int {
	if d.PageCount > 0 {
		return d.PageCount
	}
	return d.Pages
}

// ContractQuery selects one contract: by ContractID, or by BizID (with
// TenantName when the contract belongs to a subsidiary).
type ContractQuery struct {
	ContractID string
	BizID      string
	TenantName string
}

// ListQuery pages through /v2/contract/list.
type ListQuery struct {
	Offset       int       // selectOffset, from 0
	Limit        int       // selectLimit (0 = the platform default, 1000)
	PublishStart time.Time // publishTimeStart (zero = platform default, 6 months ago)
	PublishEnd   time.Time // publishTimeEnd (zero = now)
	TenantName   string
	Status       string
	Order        string // createTimeOrder: ASC or DESC
	// SignatoryType is SPONSOR (platform default), RECEIVER or ALL.
	SignatoryType string
}

// ContractSummary is one item of a contract list page.
type ContractSummary struct {
	ID          ID     `json:"id"`
	Subject     string `json:"subject,omitempty"`
	Status      string `json:"status"`
	SN          string `json:"sn,omitempty"`
	BizID       string `json:"bizId,omitempty"`
	PublishTime string `json:"publishTime,omitempty"`
	ExpireTime  string `json:"expireTime,omitempty"`
	Category    any    `json:"category,omitempty"`
}

// ContractPage is one page of /v2/contract/list.
type ContractPage struct {
	TotalCount int               `json:"totalCount"`
	List       []ContractSummary `json:"list"`
}

// DownloadURL is one link from /v2/contract/downloadurl (valid 60 minutes).
type DownloadURL struct {
	ContractID    ID     `json:"contractId,omitempty"`
	DocumentID    ID     `json:"documentId,omitempty"`
	Title         string `json:"title,omitempty"`
	DownloadItems string `json:"downloadItems,omitempty"`
	DownloadURL   string `json:"downloadUrl"`
}

// Download is a streamed file from a download endpoint. The caller must
// Close Body. Size is -1 when the platform sent no Content-Length.
type Download struct {
	Body        io.ReadCloser
	ContentType string
	Filename    string // from Content-Disposition, untrusted: never use as a path
	Size        int64
}

// Callback kinds.
type Kind string

// The callback kinds qyshook receives.
const (
	KindContract     Kind = "contract"
	KindAuthPersonal Kind = "auth.personal"
	KindAuthCompany  Kind = "auth.company"
)

// Format is a callback wire format.
type Format string

// Callback wire formats (docs/qys-protocol.md §3).
const (
	// FormatA is the public-cloud form POST: plain fields, or `content`
	// encrypted with AES-128 (ECB, or CBC when configured), and
	// signature = MD5(timestamp + secret).
	FormatA Format = "A"
	// FormatB is the private-cloud JSON envelope {signature, timestamp,
	// nonce, encrypted} with AES-CBC, IV = SHA-256(token)[:16].
	FormatB Format = "B"
)

// Cipher is the encryption of a format-A callback's content.
type Cipher string

// Ciphers for format A.
const (
	CipherECB Cipher = "AES_ECB" // the platform default
	CipherCBC Cipher = "AES_CBC" // IV configurable (not documented publicly)
)

// RawRequest is a callback exactly as it arrived: the receiver reads the
// body once (under its size cap) and verification works on these bytes.
type RawRequest struct {
	Method      string
	ContentType string
	Query       url.Values
	Header      http.Header
	Body        []byte
}

// Actor is the signatory acting in a contract callback.
type Actor struct {
	TenantType string
	TenantName string
	TenantID   string
	Contact    string
}

// Auth is the result of a certification (real-name) callback.
type Auth struct {
	// RequestID identifies the certification: requestId (company), authId
	// (personal), or the company/user id in format B and SaaS mode.
	RequestID string
	// Status as sent: company "0" in progress, "1" success, "2" failure;
	// personal "1" pass, "2" fail, "3" manual review; format B AUTH_SUCCESS…
	Status string
	// Success is true when Status means the certification passed.
	Success bool
	// Mode is the personal certification mode (IVS, FACE, BANK, MANUAL).
	Mode string
	// Name is the certified company or person. Personal data: never log it.
	Name string
	// FailReason is rejectReason or the failure detail, when sent.
	FailReason string
	// ActionEvent is the company-auth actionEvent code, when sent.
	ActionEvent string
}

// Callback is a verified, decrypted and classified 契约锁 callback.
type Callback struct {
	Kind   Kind
	Format Format
	// CallbackType is callbackType as sent (SEAL, COMPLETE, CONTRACT_SIGN,
	// CALLBACK_CHECK…). Auth callbacks without a type get "AUTH".
	CallbackType   string
	ContractID     string
	ContractStatus string
	BizID          string
	Actor          *Actor
	BusinessData   string
	Auth           *Auth
	// Notice is set for the notice kinds (NoticeKinds).
	Notice *Notice
	// Timestamp is the callback's signed timestamp; zero when none was sent.
	Timestamp time.Time
	// Payload is the decrypted JSON object; for plain form callbacks, the
	// form fields as a JSON object of strings.
	Payload json.RawMessage
	// SecretIndex is the index of the secret that verified the callback
	// (rotation): by signature, or for format B with SignatureNone by
	// decryption; -1 when the callback carried no signature and no
	// encrypted content.
	SecretIndex int
	Raw         RawRequest
}

// IsCheck reports whether the callback is a URL check (format B
// CALLBACK_CHECK): answer success and store nothing.
func (c *Callback) IsCheck() bool { return c.Format == FormatB && c.CallbackType == "CALLBACK_CHECK" }
