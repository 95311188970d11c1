package qystest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qyshook/qyshook/qys"
)

// TimeLayout is the layout of the open API's times (publishTime, list
// ranges), always in UTC+8.
const TimeLayout = "2006-01-02 15:04:05"

// ChinaTime is the UTC+8 zone the open API's times are written in.
var ChinaTime = time.FixedZone("CST", 8*60*60)

// linkPrefix is where the links of /v2/contract/downloadurl point.
const linkPrefix = "/qystest/link/"

type envelope struct {
	Code         int    `json:"code"`
	Message      string `json:"message"`
	ResponseCode string `json:"responseCode,omitempty"`
	Result       any    `json:"result,omitempty"`
	// Contract duplicates a detail result in the private-cloud dialect.
	Contract any `json:"contract,omitempty"`
}

type handler func(w *recorder, r *http.Request)

func (s *Server) routes() map[string]handler {
	return map[string]handler{
		"/contract/detail":      s.serveDetail,
		"/contract/list":        s.serveList,
		"/document/download":    s.serveDocument,
		"/contract/download":    s.serveContractZip,
		"/contract/downloadurl": s.serveDownloadURLs,
	}
}

func (s *Server) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &recorder{ResponseWriter: rw}
	defer s.record(r, s.now(), w)
	if !s.sleep(r) {
		return
	}
	if strings.HasPrefix(r.URL.Path, linkPrefix) {
		s.serveLink(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, caPrefix) {
		s.serveCA(w, r)
		return
	}
	path := r.URL.Path
	if !s.cfg.private {
		var ok bool
		if path, ok = strings.CutPrefix(path, "/v2"); !ok {
			path = "?"
		}
	}
	h, ok := s.lookupRoute(path, r.URL.Path)
	if !ok {
		writeJSON(w, http.StatusNotFound, envelope{Code: http.StatusNotFound, Message: "NOT FOUND"})
		return
	}
	if r.Method != methodOf(path) {
		writeJSON(w, http.StatusMethodNotAllowed, envelope{Code: qys.CodeParamError,
			Message: "Request method '" + r.Method + "' not supported"})
		return
	}
	if !s.authenticate(w, r) || s.overLimit(w, r) || s.injectFault(w) {
		return
	}
	h(w, r)
}

func writeJSON(w *recorder, status int, e envelope) {
	b, err := json.Marshal(e)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.code = e.Code
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeOK(w *recorder, result any) {
	writeJSON(w, http.StatusOK, envelope{Code: qys.CodeSuccess, Message: "SUCCESS",
		ResponseCode: qys.ResponseCodeSuccess, Result: result})
}

func writeParamError(w *recorder, msg string) {
	writeJSON(w, http.StatusOK, envelope{Code: qys.CodeParamError, Message: msg})
}

func writeNotFound(w *recorder, code int, msg string) {
	writeJSON(w, http.StatusOK, envelope{Code: code, Message: msg})
}

// lookupLocked resolves contractId or bizId (+ tenantName). On failure it
// returns nil and the envelope to answer.
func (s *Server) lookupLocked(r *http.Request) (*contract, envelope) {
	q := r.URL.Query()
	id, bizID, tenant := q.Get("contractId"), q.Get("bizId"), q.Get("tenantName")
	switch {
	case id != "":
		if c := s.contracts[id]; c != nil {
			return c, envelope{}
		}
	case bizID != "":
		for _, cid := range s.order {
			c := s.contracts[cid]
			if c.spec.BizID == bizID && (tenant == "" || tenant == c.spec.TenantName) {
				return c, envelope{}
			}
		}
	default:
		return nil, envelope{Code: qys.CodeParamError, Message: "contractId or bizId is required"}
	}
	return nil, envelope{Code: qys.CodeContractNotFound, Message: "合同不存在"}
}

func (s *Server) serveDetail(w *recorder, r *http.Request) {
	s.mu.Lock()
	c, fail := s.lookupLocked(r)
	if c == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, fail)
		return
	}
	s.detailCalls[c.id]++
	wire := s.wireLocked(c)
	gate := s.takeGateLocked(c.id)
	s.mu.Unlock()
	if gate != nil {
		failure, ok := s.waitGate(gate, r)
		if !ok {
			return
		}
		if failure != 0 {
			writeGatewayFailure(w, failure)
			return
		}
	}
	e := envelope{Code: qys.CodeSuccess, Message: "SUCCESS", ResponseCode: qys.ResponseCodeSuccess, Result: wire}
	if s.cfg.private {
		e.Contract = wire
	}
	writeJSON(w, http.StatusOK, e)
}

type listItem struct {
	ID          string `json:"id"`
	Subject     string `json:"subject"`
	Status      string `json:"status"`
	SN          string `json:"sn"`
	BizID       string `json:"bizId,omitempty"`
	TenantName  string `json:"tenantName,omitempty"`
	PublishTime string `json:"publishTime"`
	CreateTime  string `json:"createTime"`
}

type listResult struct {
	TotalCount int        `json:"totalCount"`
	List       []listItem `json:"list"`
	// ContractList duplicates List in the private-cloud dialect.
	ContractList []listItem `json:"contractList,omitempty"`
}

func (s *Server) serveList(w *recorder, r *http.Request) {
	q := r.URL.Query()
	offset, err1 := intParam(q.Get("selectOffset"), 0)
	limit, err2 := intParam(q.Get("selectLimit"), 1000)
	now := s.now()
	start, err3 := timeParam(q.Get("publishTimeStart"), now.AddDate(0, -6, 0))
	end, err4 := timeParam(q.Get("publishTimeEnd"), now)
	order := strings.ToUpper(q.Get("createTimeOrder"))
	if err1 != nil || err2 != nil || offset < 0 || limit < 0 {
		writeParamError(w, "selectOffset and selectLimit must be non-negative integers")
		return
	}
	if err3 != nil || err4 != nil {
		writeParamError(w, "publishTimeStart/publishTimeEnd must be "+TimeLayout)
		return
	}
	if order != "" && order != "ASC" && order != "DESC" {
		writeParamError(w, "createTimeOrder must be ASC or DESC")
		return
	}
	status, tenant := q.Get("status"), q.Get("tenantName")

	s.mu.Lock()
	var all []*contract
	for _, id := range s.order {
		c := s.contracts[id]
		if c.publish.Before(start) || c.publish.After(end) ||
			(status != "" && c.status != status) || (tenant != "" && c.spec.TenantName != tenant) {
			continue
		}
		all = append(all, c)
	}
	slices.SortStableFunc(all, func(a, b *contract) int {
		if order == "ASC" {
			return a.publish.Compare(b.publish)
		}
		return b.publish.Compare(a.publish)
	})
	res := listResult{TotalCount: len(all), List: []listItem{}}
	for i := offset; i < len(all) && i < offset+limit; i++ {
		c := all[i]
		res.List = append(res.List, listItem{ID: c.id, Subject: c.spec.Subject, Status: c.status,
			SN: c.sn, BizID: c.spec.BizID, TenantName: c.spec.TenantName,
			PublishTime: formatTime(c.publish), CreateTime: formatTime(c.created)})
	}
	s.mu.Unlock()
	if s.cfg.private {
		res.ContractList = res.List
	}
	writeOK(w, res)
}

func intParam(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
}

func timeParam(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	return time.ParseInLocation(TimeLayout, v, ChinaTime)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(ChinaTime).Format(TimeLayout)
}
