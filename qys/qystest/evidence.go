package qystest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/digitorus/pdfsign/verify"
	"github.com/qyshook/qyshook/qys"
)

// Evidence and certification-result paths the fake serves besides the
// contract routes: /v2/contract/stream, /v2/verify, /companyauth/result,
// /v2/personalauth/result and the SaaS variants
// qys.DefaultSaaSCompanyAuthResult / qys.DefaultSaaSPersonalAuthResult.

// evidenceRoutes are matched on the path without the /v2 prefix (as
// routes()); rootRoutes on the full request path.
func (s *Server) evidenceRoutes() map[string]handler {
	return map[string]handler{
		"/contract/stream":     s.serveStream,
		"/verify":              s.serveVerify,
		"/personalauth/result": s.servePersonalAuthResult,
	}
}

func (s *Server) rootRoutes() map[string]handler {
	return map[string]handler{
		qys.PathCompanyAuthResult:         s.serveCompanyAuthResult,
		qys.DefaultSaaSCompanyAuthResult:  s.serveCompanyAuthResult,
		qys.DefaultSaaSPersonalAuthResult: s.servePersonalAuthResult,
	}
}

// lookupRoute finds the handler of a request path (path is the request
// path with /v2 removed in public mode, "?" when it had no /v2).
func (s *Server) lookupRoute(path, full string) (handler, bool) {
	if h, ok := s.routes()[path]; ok {
		return h, true
	}
	if s.cfg.private && path == qys.PathOperationLog {
		return s.serveOperationLog, true // private cloud only
	}
	if h, ok := s.evidenceRoutes()[path]; ok {
		return h, true
	}
	h, ok := s.rootRoutes()[full]
	return h, ok
}

// methodOf is the HTTP method a route accepts.
func methodOf(path string) string {
	if path == "/verify" {
		return http.MethodPost
	}
	return http.MethodGet
}

// TamperNextDownloads makes the next n document downloads
// (/v2/document/download) serve the document with one byte changed inside
// its first content stream: the PDF still parses, but no signature digest
// covers it any more. n <= 0 cancels.
func (s *Server) TamperNextDownloads(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ev.tamperN = max(n, 0)
}

func (s *Server) takeTamper() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ev.tamperN > 0 {
		s.ev.tamperN--
		return true
	}
	return false
}

// tamperedFile wraps a document file so that its bytes are tampered.
func tamperedFile(f file) file {
	var b bytes.Buffer
	_, _ = io.Copy(&b, f.open())
	t := tamper(b.Bytes())
	f.size = int64(len(t))
	f.open = func() io.Reader { return bytes.NewReader(t) }
	return f
}

// renderDocumentLocked gives a document generated without Content or
// Size a real one-page PDF (nil when rendering fails: the synthetic bytes
// then stay).
func (s *Server) renderDocumentLocked(d *document) []byte {
	b, err := renderPDF(d.id, d.contractID, d.title, s.now())
	if err != nil {
		return nil
	}
	d.pdf = true
	return b
}

// signDocumentsLocked signs every rendered PDF of a completed contract,
// one signature per company signatory (signer name = its tenant name,
// signing time = when it signed). A document is replaced, not changed in
// place, so readers of the unsigned version are not raced.
func (s *Server) signDocumentsLocked(c *contract) {
	var sigs []signature
	for _, sg := range c.signatories {
		if sg.spec.TenantType == TenantCompany && sg.status == SignatoryComplete {
			sigs = append(sigs, signature{name: sg.spec.TenantName, at: sg.done})
		}
	}
	sigs = s.withDiscrepanciesLocked(c, sigs) // discrepancy.go
	if len(sigs) == 0 {
		return
	}
	for i, d := range c.docs {
		if !d.pdf {
			continue
		}
		signed, err := s.signPDFLocked(d.content, sigs)
		if err != nil {
			continue // left unsigned; serveVerify (/v2/verify) then reports no signatures
		}
		nd := &document{id: d.id, contractID: d.contractID, title: d.title, filename: d.filename,
			content: signed, size: int64(len(signed)), pdf: true, signed: true}
		c.docs[i] = nd
		s.docs[d.id] = nd
	}
}

// DocumentSigned reports whether the fake signed the document.
func (s *Server) DocumentSigned(documentID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[documentID]
	return d != nil && d.signed
}

// TamperedContent returns the bytes TamperNextDownloads would serve for a
// document (nil for an unknown id).
func (s *Server) TamperedContent(documentID string) []byte {
	s.mu.Lock()
	d := s.docs[documentID]
	s.mu.Unlock()
	if d == nil {
		return nil
	}
	var b bytes.Buffer
	_, _ = io.Copy(&b, d.open())
	return tamper(b.Bytes())
}

// streamRecord is one entry of the fake's operation log.
type streamRecord struct {
	Operation    string `json:"operation"`
	OperatorName string `json:"operatorName,omitempty"`
	OperateTime  string `json:"operateTime"`
	Description  string `json:"description"`
}

var knownOperations = map[string]bool{qys.OperationAll: true, qys.OperationView: true,
	qys.OperationModify: true, qys.OperationDownload: true, qys.OperationPrint: true}

// serveStream answers /v2/contract/stream: the contract's lifecycle as
// MODIFY records (the fake records no VIEW, DOWNLOAD or PRINT operations).
func (s *Server) serveStream(w *recorder, r *http.Request) {
	ops := map[string]bool{}
	if v := r.URL.Query().Get("operation"); v != "" {
		for op := range strings.SplitSeq(v, ",") {
			op = strings.ToUpper(strings.TrimSpace(op))
			if !knownOperations[op] {
				writeParamError(w, "unknown operation "+strconv.Quote(op))
				return
			}
			ops[op] = true
		}
	}
	all := len(ops) == 0 || ops[qys.OperationAll]
	s.mu.Lock()
	c, fail := s.lookupLocked(r)
	if c == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, fail)
		return
	}
	list := []streamRecord{}
	if all || ops[qys.OperationModify] {
		for _, line := range c.log {
			at, desc, _ := strings.Cut(line, "  ")
			list = append(list, streamRecord{Operation: qys.OperationModify, OperatorName: c.spec.TenantName,
				OperateTime: at, Description: desc})
		}
	}
	s.mu.Unlock()
	writeOK(w, map[string]any{"totalCount": len(list), "list": list})
}

// maxVerifyFile bounds an uploaded file (the platform's limit is unknown).
const maxVerifyFile = 64 << 20

// verifyResult is the fake's /v2/verify result (field names are the
// fake's: the platform's are not documented publicly).
type verifyResult struct {
	Valid      bool              `json:"valid"`
	Signatures []verifySignature `json:"signatures"`
}

type verifySignature struct {
	Signer   string `json:"signer"`
	SignTime string `json:"signTime,omitempty"`
	Valid    bool   `json:"valid"`
	Modified bool   `json:"modified"`
}

// serveVerify answers POST /v2/verify (multipart field `file`, PDF only)
// with the verdict of digitorus/pdfsign/verify: a signature is valid when
// its digest and CMS signature check out; modified when the file has bytes
// after the last signed revision.
func (s *Server) serveVerify(w *recorder, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		writeParamError(w, "Content-Type must be multipart/form-data")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxVerifyFile+1<<20)
	if err := r.ParseMultipartForm(maxVerifyFile); err != nil {
		writeParamError(w, "cannot read multipart body")
		return
	}
	defer func() { _ = r.MultipartForm.RemoveAll() }()
	f, _, err := r.FormFile("file")
	if err != nil {
		writeParamError(w, "file is required")
		return
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		writeParamError(w, "file must be a PDF")
		return
	}
	res := verifyResult{Signatures: []verifySignature{}}
	opts := verify.DefaultVerifyOptions()
	resp, err := verify.VerifyWithOptions(bytes.NewReader(b), int64(len(b)), opts)
	if err == nil && resp != nil {
		end := lastRevisionEnd(b)
		res.Valid = len(resp.Signers) > 0
		for _, sg := range resp.Signers {
			v := verifySignature{Signer: sg.Name, Valid: sg.ValidSignature, Modified: end < int64(len(b))}
			if sg.SignatureTime != nil {
				v.SignTime = sg.SignatureTime.In(ChinaTime).Format(TimeLayout)
			}
			res.Valid = res.Valid && v.Valid && !v.Modified
			res.Signatures = append(res.Signatures, v)
		}
	}
	writeOK(w, res)
}

// lastRevisionEnd is where the last signed revision ends: the end of the
// last "%%EOF" line (the fake signs with incremental updates, so the file
// ends with the last signature's revision).
func lastRevisionEnd(b []byte) int64 {
	i := bytes.LastIndex(b, []byte("%%EOF"))
	if i < 0 {
		return 0
	}
	end := i + len("%%EOF")
	for end < len(b) && (b[end] == '\r' || b[end] == '\n') {
		end++
	}
	return int64(end)
}

// CompanyAuth is a company certification the fake answers on
// /companyauth/result.
type CompanyAuth struct {
	RequestID   string
	CompanyName string
	RegisterNo  string
	LegalPerson string
	// Status is the callback's code: qys.AuthStatusInProgress,
	// AuthStatusSuccess or AuthStatusFailed. The documented answer
	// translates it (0 → 4 认证中, 1 → 2 通过, 2 → 3 不通过).
	Status string
	// ResultStatus, when set, is the documented status to answer verbatim
	// (-1 none, 1 未提交, 2 通过, 3 不通过, 4 认证中, 6 已过期, or any other
	// code to try a reader), whatever Status says.
	ResultStatus string
	// Result, when set, is answered verbatim as the result object (a
	// hand-made answer of any shape).
	Result json.RawMessage
}

// PersonalAuth is a personal certification the fake answers on
// /v2/personalauth/result.
type PersonalAuth struct {
	AuthID      string
	Contact     string
	ContactType string // qys.ContactMobile or qys.ContactEmail
	Mode        string
	// Status is the callback's code, qys.AuthStatusInProgress …
	// AuthStatusReview; the documented answer says realName true for
	// AuthStatusSuccess, false otherwise.
	Status string
	// Result, when set, is answered verbatim as the result object.
	Result json.RawMessage
}

// documentedCompanyStatus translates a callback code into the documented
// result code.
var documentedCompanyStatus = map[string]string{
	qys.AuthStatusInProgress: "4", qys.AuthStatusSuccess: "2", qys.AuthStatusFailed: "3",
}

// SetCompanyAuth records (or replaces) a company certification; no
// callback is sent (CompleteCompanyAuth records one and sends it).
func (s *Server) SetCompanyAuth(a CompanyAuth) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ev.companies == nil {
		s.ev.companies = map[string]CompanyAuth{}
	}
	s.ev.companies[a.RequestID] = a
}

// SetPersonalAuth records (or replaces) a personal certification; no
// callback is sent.
func (s *Server) SetPersonalAuth(a PersonalAuth) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setPersonalAuthLocked(a)
}

func (s *Server) setPersonalAuthLocked(a PersonalAuth) {
	if s.ev.persons == nil {
		s.ev.persons = map[string]PersonalAuth{}
	}
	if old, ok := s.ev.persons[a.AuthID]; ok && a.Contact == "" {
		a.Contact, a.ContactType = old.Contact, old.ContactType
	}
	s.ev.persons[a.AuthID] = a
}

func (s *Server) recordCompanyAuthLocked(requestID, name, registerNo, status string) {
	if s.ev.companies == nil {
		s.ev.companies = map[string]CompanyAuth{}
	}
	s.ev.companies[requestID] = CompanyAuth{RequestID: requestID, CompanyName: name,
		RegisterNo: registerNo, LegalPerson: "张三", Status: status}
}

// codeAuthNotFound is the platform's code for an unknown certification
// (1604 INVALID_AUTHID, from a secondary source).
const codeAuthNotFound = qys.CodeAuthNotFound

func (s *Server) serveCompanyAuthResult(w *recorder, r *http.Request) {
	q := r.URL.Query()
	id, name := q.Get("requestId"), q.Get("companyName")
	if id == "" && name == "" {
		writeParamError(w, "requestId or companyName is required")
		return
	}
	s.mu.Lock()
	a, ok := s.ev.companies[id]
	if id == "" {
		for _, c := range s.ev.companies {
			if c.CompanyName == name {
				a, ok = c, true
				break
			}
		}
	}
	legacy := s.cfg.legacyAuth
	s.mu.Unlock()
	if !ok {
		writeNotFound(w, codeAuthNotFound, "INVALID_AUTHID")
		return
	}
	switch {
	case a.Result != nil:
		writeOK(w, a.Result)
	case legacy:
		writeOK(w, map[string]any{"requestId": a.RequestID, "companyName": a.CompanyName,
			"registerNo": a.RegisterNo, "legalPerson": a.LegalPerson, "status": number(a.Status)})
	default:
		status := a.ResultStatus
		if status == "" {
			status = documentedCompanyStatus[a.Status]
		}
		if status == "" {
			status = "1" // 未提交
		}
		res := map[string]any{"companyName": a.CompanyName, "status": number(status),
			"basicStatus": number(status), "basicReason": "", "operAuthorizationReason": "",
			"applicantName": a.LegalPerson, "authEndTime": nil}
		if status == "2" {
			res["authEndTime"] = "2026-12-07 10:00:00"
		}
		if status == "3" {
			res["basicReason"] = "营业执照信息不符"
		}
		writeOK(w, res)
	}
}

func (s *Server) servePersonalAuthResult(w *recorder, r *http.Request) {
	q := r.URL.Query()
	id, contact, ctype := q.Get("authId"), q.Get("contact"), q.Get("contactType")
	switch {
	case id != "":
	case contact != "" && (ctype == qys.ContactMobile || ctype == qys.ContactEmail):
	default:
		writeParamError(w, "authId, or contact and contactType (MOBILE/EMAIL), is required")
		return
	}
	s.mu.Lock()
	a, ok := s.ev.persons[id]
	if id == "" {
		for _, p := range s.ev.persons {
			if p.Contact == contact && p.ContactType == ctype {
				a, ok = p, true
				break
			}
		}
	}
	legacy := s.cfg.legacyAuth
	s.mu.Unlock()
	if !ok {
		writeNotFound(w, codeAuthNotFound, "INVALID_AUTHID")
		return
	}
	switch {
	case a.Result != nil:
		writeOK(w, a.Result)
	case legacy:
		writeOK(w, map[string]any{"authId": a.AuthID, "mode": a.Mode, "status": number(a.Status)})
	default:
		writeOK(w, map[string]any{"realName": a.Status == qys.AuthStatusSuccess, "mode": a.Mode})
	}
}
