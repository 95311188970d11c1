package qystest

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/qyshook/qyshook/qys"
)

// The private cloud's operation log (GET /contract/operationlog, private
// mode only; docs/qys-protocol.md §1.4, §8.3): the documented audit of a
// contract's downloads (DOWNLOADCONTRACT) and prints (PRINTCONTRACT). The
// fake records every download through the open API (as the app's
// operator, apiOperator) and the prints PrintContract simulates.

// auditEntry is one record of the private operation log.
type auditEntry struct {
	operation, detail string
	who               Operator
	at                string
}

// Operator is a person acting on a contract in the platform's console.
type Operator struct {
	ID, Name, Mobile, Email, Number string
	// Department is the operator's department ("" for none).
	Department string
}

// apiOperator is whom the fake names for the open API's own operations.
var apiOperator = Operator{ID: "2570809757352608417", Name: "开放平台"}

// auditOperations are the documented values of `operation`, with their
// operationDesc.
var auditOperations = map[string]string{
	qys.OperationDownloadContract: "文件下载",
	qys.OperationPrintContract:    "文件打印",
}

func (s *Server) auditDownload(contractID, title string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.contracts[contractID]; c != nil {
		s.auditLocked(c, qys.OperationDownloadContract, apiOperator, "下载了文件：《"+title+"》")
	}
}

func (s *Server) auditLocked(c *contract, operation string, who Operator, detail string) {
	c.audit = append(c.audit, auditEntry{operation: operation, detail: detail, who: who, at: formatTime(s.now())})
}

// PrintContract records that who printed the contract in the console (a
// PRINTCONTRACT record of the private operation log). No callback.
func (s *Server) PrintContract(id string, who Operator) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contracts[id]
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownContract, id)
	}
	s.auditLocked(c, qys.OperationPrintContract, who, "打印了合同：《"+c.spec.Subject+"》")
	return nil
}

// auditRecord is the documented record shape (SystemAuditLog).
type auditRecord struct {
	EntityID          string            `json:"entityId"`
	EntityName        string            `json:"entityName"`
	OperatorID        string            `json:"operatorId"`
	Operator          string            `json:"operator"`
	Mobile            string            `json:"mobile,omitempty"`
	Number            string            `json:"number,omitempty"`
	Email             string            `json:"email,omitempty"`
	Departments       []auditDepartment `json:"departments"`
	DetailedOperation string            `json:"detailedOperation"`
	Operation         string            `json:"operation"`
	OperationDesc     string            `json:"operationDesc"`
	CreateTime        string            `json:"createTime"`
}

type auditDepartment struct {
	ID          string `json:"id"`
	CompanyName string `json:"companyName"`
	Type        string `json:"type"`
}

// serveOperationLog answers GET /contract/operationlog as documented:
// contractId is required (a number; bizId is not taken), operation is
// DOWNLOADCONTRACT or PRINTCONTRACT (absent: both), operatorContact
// selects one operator by mobile or email; `result` is the list.
func (s *Server) serveOperationLog(w *recorder, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("contractId")
	if id == "" {
		writeParamError(w, "contractId is required")
		return
	}
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		writeParamError(w, "contractId must be a number")
		return
	}
	op := q.Get("operation")
	if _, ok := auditOperations[op]; op != "" && !ok {
		writeParamError(w, "unknown operation "+strconv.Quote(op))
		return
	}
	contact := q.Get("operatorContact")
	s.mu.Lock()
	c := s.contracts[id]
	if c == nil {
		s.mu.Unlock()
		writeNotFound(w, qys.CodeContractNotFound, "合同不存在")
		return
	}
	list := []auditRecord{}
	for _, e := range c.audit {
		if op != "" && e.operation != op || contact != "" && contact != e.who.Mobile && contact != e.who.Email {
			continue
		}
		rec := auditRecord{EntityID: c.id, EntityName: c.spec.Subject, OperatorID: e.who.ID, Operator: e.who.Name,
			Mobile: e.who.Mobile, Number: e.who.Number, Email: e.who.Email, Departments: []auditDepartment{},
			DetailedOperation: e.detail, Operation: e.operation, OperationDesc: auditOperations[e.operation], CreateTime: e.at}
		if e.who.Department != "" {
			rec.Departments = append(rec.Departments, auditDepartment{ID: e.who.ID + "1", CompanyName: e.who.Department, Type: "SECTION"})
		}
		list = append(list, rec)
	}
	s.mu.Unlock()
	writeOK(w, list)
}
