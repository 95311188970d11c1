package qystest

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
)

// Tenant types of a signatory.
const (
	TenantPersonal = "PERSONAL"
	TenantCompany  = "COMPANY"
)

// Signatory states the fake keeps, as the private-cloud 4.0 doc names
// them, plus REJECTED. The public-cloud detail shows COMPLETE as SIGNED
// and a signatory whose turn has not come as WAITING (see qys.Signatory*).
const (
	SignatoryDraft    = "DRAFT"
	SignatorySigning  = "SIGNING"
	SignatoryComplete = "COMPLETE"
	SignatoryRejected = "REJECTED"
)

// ContractSpec describes a contract to add with AddContract.
type ContractSpec struct {
	// ID is the contract id; generated (a large numeric string, like the
	// platform's) when empty.
	ID string
	// BizID is the caller's business id (lookup by bizId).
	BizID string
	// Subject is the contract title.
	Subject string
	// TenantName is the sponsoring company.
	TenantName string
	// BusinessData is echoed back in every contract callback.
	BusinessData string
	// Status is the initial status (default DRAFT). No callback is sent.
	Status string
	// PublishTime is the publish time used by /v2/contract/list (default:
	// the time of AddContract, truncated to the second).
	PublishTime time.Time
	// Signatories in signing order.
	Signatories []SignatorySpec
	// Documents of the contract (default: one small generated document).
	Documents []DocumentSpec
}

// SignatorySpec describes one signatory of a contract.
type SignatorySpec struct {
	// TenantType is TenantPersonal or TenantCompany (default PERSONAL).
	TenantType string
	// TenantName is the person's or company's name.
	TenantName string
	// Contact is the receiver's mobile number or e-mail.
	Contact string
	// ReceiverName is the person receiving the request (default TenantName).
	ReceiverName string
}

type signatory struct {
	spec     SignatorySpec
	id       string
	tenantID string
	status   string
	done     time.Time
}

type contract struct {
	spec        ContractSpec
	id          string
	sn          string
	status      string
	created     time.Time
	publish     time.Time
	end         time.Time
	comments    string
	invalid     string
	signatories []*signatory
	docs        []*document
	log         []string
	audit       []auditEntry // the private cloud's operation log (oplog.go)
}

// Id bases: real ids are 19-digit numbers; each kind gets its own range.
const (
	contractIDBase  = 3121362688614077231
	documentIDBase  = 3121362700000000000
	signatoryIDBase = 3121362800000000000
	tenantIDBase    = 2422042838839468036
)

// idSpan bounds the per-run offset added to the id bases: ids stay
// positive 19-digit int64 values.
const idSpan = 5e17

// idOffset is the offset a seed gives, or a random one without a seed.
func idOffset(seed *uint64) int64 {
	if seed != nil {
		return int64(*seed % idSpan)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:]) % idSpan)
}

func (s *Server) nextIDLocked(base int64) string {
	s.seq++
	return strconv.FormatInt(base+s.idOffset+s.seq*7919, 10)
}

func (s *Server) tenantIDLocked(name string) string {
	id, ok := s.tenantIDs[name]
	if !ok {
		id = s.nextIDLocked(tenantIDBase)
		s.tenantIDs[name] = id
	}
	return id
}

// AddContract adds a contract and its documents and returns its id. It
// panics when the id or a document id is already taken (a test bug).
func (s *Server) AddContract(spec ContractSpec) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if spec.ID == "" {
		spec.ID = s.nextIDLocked(contractIDBase)
	}
	if _, dup := s.contracts[spec.ID]; dup {
		panic("qystest: AddContract: duplicate contract id " + spec.ID)
	}
	now := s.now()
	c := &contract{spec: spec, id: spec.ID, status: spec.Status, created: now, publish: spec.PublishTime}
	if c.status == "" {
		c.status = lifecycle.Draft
	}
	if c.publish.IsZero() {
		c.publish = now
	}
	c.publish = c.publish.Truncate(time.Second)
	c.sn = fmt.Sprintf("QYS%s%04d", now.In(ChinaTime).Format("20060102"), len(s.order)+1)
	for _, sp := range spec.Signatories {
		if sp.TenantType == "" {
			sp.TenantType = TenantPersonal
		}
		if sp.ReceiverName == "" {
			sp.ReceiverName = sp.TenantName
		}
		c.signatories = append(c.signatories, &signatory{spec: sp, id: s.nextIDLocked(signatoryIDBase),
			tenantID: s.tenantIDLocked(sp.TenantName), status: SignatoryDraft})
	}
	docs := spec.Documents
	if len(docs) == 0 {
		docs = []DocumentSpec{{}}
	}
	for _, d := range docs {
		c.docs = append(c.docs, s.newDocumentLocked(c.id, d, len(c.docs)+1))
	}
	c.spec.Signatories, c.spec.Documents = nil, nil
	c.logf(now, "创建合同 %s", spec.Subject)
	s.contracts[c.id] = c
	s.order = append(s.order, c.id)
	return c.id
}

// SetDocument adds a document to a contract, or replaces the one with the
// same ID, and returns the document id.
func (s *Server) SetDocument(contractID string, spec DocumentSpec) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contracts[contractID]
	if c == nil {
		return "", fmt.Errorf("%w: %s", ErrUnknownContract, contractID)
	}
	if old := s.docs[spec.ID]; old != nil {
		if old.contractID != contractID {
			return "", fmt.Errorf("qystest: document %s belongs to contract %s", spec.ID, old.contractID)
		}
		delete(s.docs, spec.ID)
		i := indexOf(c.docs, old)
		d := s.newDocumentLocked(contractID, spec, i+1)
		c.docs[i] = d
		return d.id, nil
	}
	d := s.newDocumentLocked(contractID, spec, len(c.docs)+1)
	c.docs = append(c.docs, d)
	return d.id, nil
}

func indexOf(docs []*document, d *document) int {
	for i, x := range docs {
		if x == d {
			return i
		}
	}
	return -1
}

// Contract returns the contract as /v2/contract/detail would answer it.
func (s *Server) Contract(id string) (qys.Contract, bool) {
	s.mu.Lock()
	c := s.contracts[id]
	if c == nil {
		s.mu.Unlock()
		return qys.Contract{}, false
	}
	wire := s.wireLocked(c)
	s.mu.Unlock()
	raw, _ := json.Marshal(wire)
	var out qys.Contract
	_ = json.Unmarshal(raw, &out)
	out.Raw = raw
	return out, true
}

// SetStatus sets a contract's status without sending any callback (to set
// up reconciliation cases). Signatories are left as they are.
func (s *Server) SetStatus(id, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contracts[id]
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownContract, id)
	}
	c.status = status
	return nil
}

func (c *contract) logf(at time.Time, format string, args ...any) {
	c.log = append(c.log, formatTime(at)+"  "+fmt.Sprintf(format, args...))
}

type wireContract struct {
	ID            string          `json:"id"`
	BizID         string          `json:"bizId,omitempty"`
	TenantName    string          `json:"tenantName,omitempty"`
	Subject       string          `json:"subject"`
	SN            string          `json:"sn"`
	Status        string          `json:"status"`
	Signatories   []wireSignatory `json:"signatories"`
	Documents     []wireDocument  `json:"documents"`
	Comments      string          `json:"comments,omitempty"`
	InvalidReason string          `json:"invalidReason,omitempty"`
	BusinessData  string          `json:"businessData,omitempty"`
	CreateTime    string          `json:"createTime"`
	PublishTime   string          `json:"publishTime,omitempty"`
	EndTime       string          `json:"endTime,omitempty"`
}

type wireSignatory struct {
	ID           string       `json:"id"`
	TenantType   string       `json:"tenantType"`
	TenantName   string       `json:"tenantName"`
	TenantID     string       `json:"tenantId"`
	Status       string       `json:"status"`
	SerialNo     int          `json:"serialNo"`
	Receiver     wireReceiver `json:"receiver"`
	Actions      []wireAction `json:"actions"`
	CompleteTime string       `json:"completeTime,omitempty"`
}

type wireReceiver struct {
	Name        string `json:"name"`
	Contact     string `json:"contact,omitempty"`
	ContactType string `json:"contactType,omitempty"`
}

type wireAction struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

type wireDocument struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	PageCount  int    `json:"pageCount"`
	Size       int64  `json:"size"`
	CreateTime string `json:"createTime,omitempty"`
}

// privateActionStatus: the private-cloud 4.0 action statuses, by
// signatory status.
var privateActionStatus = map[string]string{SignatoryDraft: "WAITING", SignatorySigning: "SIGNING",
	SignatoryComplete: "SIGNED", SignatoryRejected: "REJECTED"}

func (s *Server) wireLocked(c *contract) wireContract {
	w := wireContract{ID: c.id, BizID: c.spec.BizID, TenantName: c.spec.TenantName,
		Subject: c.spec.Subject, SN: c.sn, Status: c.status, Comments: c.comments,
		InvalidReason: c.invalid, BusinessData: c.spec.BusinessData,
		CreateTime: formatTime(c.created), PublishTime: formatTime(c.publish), EndTime: formatTime(c.end),
		Signatories: []wireSignatory{}, Documents: []wireDocument{}}
	turn := true // the first signatory still to sign has the turn
	for i, sg := range c.signatories {
		typ := TenantPersonal
		if sg.spec.TenantType == TenantCompany {
			typ = TenantCompany
		}
		status, action := s.wireStatus(c, sg, turn)
		turn = turn && sg.status != SignatorySigning
		w.Signatories = append(w.Signatories, wireSignatory{ID: sg.id, TenantType: sg.spec.TenantType,
			TenantName: sg.spec.TenantName, TenantID: sg.tenantID, Status: status, SerialNo: i + 1,
			Receiver: wireReceiver{Name: sg.spec.ReceiverName, Contact: sg.spec.Contact,
				ContactType: contactType(sg.spec.Contact)},
			Actions:      []wireAction{{ID: sg.id + "1", Type: typ, Name: sg.spec.TenantName, Status: action}},
			CompleteTime: formatTime(sg.done)})
	}
	for _, d := range c.docs {
		w.Documents = append(w.Documents, wireDocument{ID: d.id, Title: d.title, PageCount: 1, Size: d.size,
			CreateTime: formatTime(c.created)})
	}
	return w
}

// wireStatus returns a signatory's status and its action's status as the
// detail shows them. Public cloud (vendor SDK models): SIGNED once signed;
// while signing, SIGNING for the first signatory still to sign and WAITING
// for the later ones; RECALLED or EXPIRED with the contract; actions INIT,
// START, FINISH, STOP. Private cloud 4.0: COMPLETE once signed, actions
// WAITING, SIGNING, SIGNED, REJECTED.
func (s *Server) wireStatus(c *contract, sg *signatory, turn bool) (status, action string) {
	if s.cfg.private {
		return sg.status, privateActionStatus[sg.status]
	}
	switch sg.status {
	case SignatoryComplete:
		return qys.SignatorySigned, qys.ActionFinish
	case SignatoryRejected:
		return SignatoryRejected, qys.ActionStop
	case SignatoryDraft:
		return SignatoryDraft, qys.ActionInit
	}
	switch c.status {
	case lifecycle.Recalled, lifecycle.Expired:
		return c.status, qys.ActionStop
	case lifecycle.Rejected:
		return SignatorySigning, qys.ActionStop
	}
	if turn {
		return SignatorySigning, qys.ActionStart
	}
	return qys.SignatoryWaiting, qys.ActionInit
}

// contactType is EMAIL for an address with "@", else MOBILE (empty when
// there is no contact).
func contactType(contact string) string {
	switch {
	case contact == "":
		return ""
	case strings.Contains(contact, "@"):
		return qys.ContactEmail
	}
	return qys.ContactMobile
}
