package qys

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// PathOperationLog is the private-cloud 4.0 operation-log call
// (查询合同操作日志, GET /contract/operationlog; the vendor's private-cloud
// API document, docs/qys-protocol.md §1.4 and §8.3). It takes contractId
// (required), operation (DOWNLOADCONTRACT or PRINTCONTRACT; absent: both)
// and operatorContact, and answers `result` as a list of audit records.
const PathOperationLog = "/contract/operationlog"

// Operations of the private-cloud operation log (its `operation`
// parameter and the records' `operation` field).
const (
	OperationDownloadContract = "DOWNLOADCONTRACT" // 文件下载
	OperationPrintContract    = "PRINTCONTRACT"    // 文件打印
)

// WithOperationLogPath makes OperationLog call p instead of the contract
// stream (/v2/contract/stream, or /contract/stream in private-cloud
// mode). A path whose last element is "operationlog" (PathOperationLog)
// is called with the private-cloud 4.0 parameters: contractId only (no
// bizId), at most one operation of OperationDownloadContract and
// OperationPrintContract. Any other path is called as the stream. p must
// be an absolute path.
func WithOperationLogPath(p string) Option {
	return func(c *Client) error {
		if err := CheckOperationLogPath(p); err != nil {
			return err
		}
		c.oplogPath = p
		return nil
	}
}

// CheckOperationLogPath reports whether WithOperationLogPath takes p: a
// clean absolute path without query, fragment or spaces.
func CheckOperationLogPath(p string) error {
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?# \t\r\n") || path.Clean(p) != p {
		return fmt.Errorf("%w: operation log path %q must be a clean absolute path such as %s", ErrInvalidOption, p, PathOperationLog)
	}
	return nil
}

// OperationLogPath is the path OperationLog calls.
func (c *Client) OperationLogPath() string {
	if c.oplogPath != "" {
		return c.oplogPath
	}
	return c.apiPath(PathContractStream)
}

// privateOperationLog reports whether p is called with the private-cloud
// 4.0 operation-log parameters.
func privateOperationLog(p string) bool { return path.Base(p) == "operationlog" }

// OperationLog fetches a contract's operation log from OperationLogPath:
// the contract stream by default, the private-cloud /contract/operationlog
// with WithOperationLogPath. The answer is read by its shape, whichever
// path gave it: a `result` object with `list` (the stream) or a `result`
// list of audit records (the private cloud). Raw is the `result` as sent.
func (c *Client) OperationLog(ctx context.Context, q StreamQuery) (*OperationLog, error) {
	p := c.OperationLogPath()
	if !privateOperationLog(p) {
		return c.contractStream(ctx, p, q)
	}
	if strings.TrimSpace(q.ContractID) == "" {
		return nil, fmt.Errorf("%w: operation log %s: ContractID is required (it takes no bizId)", ErrInvalidOption, p)
	}
	v := url.Values{}
	v.Set("contractId", q.ContractID)
	switch ops := joinItems(q.Operations); ops {
	case "":
	case OperationDownloadContract, OperationPrintContract:
		v.Set("operation", ops)
	default:
		return nil, fmt.Errorf("%w: operation log %s: operation %q is not %s or %s", ErrInvalidOption, p, ops,
			OperationDownloadContract, OperationPrintContract)
	}
	setNonEmpty(v, "operatorContact", q.OperatorContact)
	env, err := c.getJSON(ctx, p, v)
	if err != nil {
		return nil, err
	}
	return decodeOperationLog(p, env.Result)
}

// contractStream calls the contract stream at p.
func (c *Client) contractStream(ctx context.Context, p string, q StreamQuery) (*OperationLog, error) {
	v, err := ContractQuery{ContractID: q.ContractID, BizID: q.BizID, TenantName: q.TenantName}.values("contract stream")
	if err != nil {
		return nil, err
	}
	setNonEmpty(v, "operation", joinItems(q.Operations))
	env, err := c.getJSON(ctx, p, v)
	if err != nil {
		return nil, err
	}
	return decodeOperationLog(p, env.Result)
}

// auditRecord is one record of the private-cloud operation log
// (SystemAuditLog).
type auditRecord struct {
	EntityID          flexString            `json:"entityId"`
	EntityName        flexString            `json:"entityName"`
	OperatorID        flexString            `json:"operatorId"`
	Operator          flexString            `json:"operator"`
	Mobile            flexString            `json:"mobile"`
	Number            flexString            `json:"number"`
	Email             flexString            `json:"email"`
	Departments       []OperationDepartment `json:"departments"`
	DetailedOperation flexString            `json:"detailedOperation"`
	Operation         flexString            `json:"operation"`
	OperationDesc     flexString            `json:"operationDesc"`
	CreateTime        flexString            `json:"createTime"`
}

// decodeOperationLog reads an operation log's `result` by its shape.
func decodeOperationLog(p string, result json.RawMessage) (*OperationLog, error) {
	if isJSONNull(result) {
		return nil, fmt.Errorf("qys: %s: response has no result", p)
	}
	out := &OperationLog{Raw: append(json.RawMessage(nil), result...)}
	b := bytes.TrimSpace(result)
	if len(b) > 0 && b[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, fmt.Errorf("qys: %s: decode operation log: %w", p, err)
		}
		for _, item := range items {
			var a auditRecord
			if err := json.Unmarshal(item, &a); err != nil {
				return nil, fmt.Errorf("qys: %s: decode operation record: %w", p, err)
			}
			desc := a.DetailedOperation.v
			if desc == "" {
				desc = a.OperationDesc.v
			}
			out.Records = append(out.Records, OperationRecord{
				Operation: a.Operation.v, OperatorName: a.Operator.v, OperateTime: a.CreateTime.v, Description: desc,
				EntityID: a.EntityID.v, EntityName: a.EntityName.v, OperatorID: a.OperatorID.v,
				OperatorMobile: a.Mobile.v, OperatorNumber: a.Number.v, OperatorEmail: a.Email.v,
				Departments: a.Departments, OperationDesc: a.OperationDesc.v,
				Raw: append(json.RawMessage(nil), item...),
			})
		}
		out.TotalCount = len(out.Records)
		return out, nil
	}
	var res struct {
		TotalCount flexInt           `json:"totalCount"`
		List       []json.RawMessage `json:"list"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("qys: %s: decode operation log: %w", p, err)
	}
	out.TotalCount = res.TotalCount.v
	for _, item := range res.List {
		var r OperationRecord
		if err := json.Unmarshal(item, &r); err != nil {
			return nil, fmt.Errorf("qys: %s: decode operation record: %w", p, err)
		}
		r.Raw = append(json.RawMessage(nil), item...)
		out.Records = append(out.Records, r)
	}
	if !res.TotalCount.set {
		out.TotalCount = len(out.Records)
	}
	return out, nil
}

// OperationDepartment is a department of an operator in the private-cloud
// operation log: type CORPORATE (总公司), CHILD (子公司), COMPANY (外部企业)
// or SECTION (部门).
type OperationDepartment struct {
	ID          string `json:"-"`
	CompanyName string `json:"companyName"`
	Type        string `json:"type"`
}

// UnmarshalJSON reads id as text or number.
func (d *OperationDepartment) UnmarshalJSON(b []byte) error {
	var w struct {
		ID          flexString `json:"id"`
		CompanyName flexString `json:"companyName"`
		Type        flexString `json:"type"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*d = OperationDepartment{ID: w.ID.v, CompanyName: w.CompanyName.v, Type: w.Type.v}
	return nil
}
