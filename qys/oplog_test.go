package qys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// privateOplog is a private-cloud fake and a client calling its
// documented operation log, with one contract completed.
func privateOplog(t *testing.T) (*qystest.Server, *qys.Client, string) {
	t.Helper()
	srv := qystest.NewServer(qystest.WithPrivateCloud())
	t.Cleanup(srv.Close)
	c, err := srv.Client(qys.WithOperationLogPath(qys.PathOperationLog))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := completed(t, srv)
	return srv, c, id
}

// TestOperationLogPrivateCloud: with the path set to /contract/operationlog
// the client sends the documented parameters and reads the documented
// answer (a list of SystemAuditLog records), keeping it verbatim.
func TestOperationLogPrivateCloud(t *testing.T) {
	srv, c, id := privateOplog(t)
	ctx := context.Background()
	if c.OperationLogPath() != qys.PathOperationLog {
		t.Fatalf("path %q", c.OperationLogPath())
	}
	ct, _ := srv.Contract(id)
	dl, err := c.DownloadDocument(ctx, ct.Documents[0].ID.String())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, dl.Body)
	dl.Body.Close()
	clerk := qystest.Operator{ID: "2599505559033049496", Name: "张三", Mobile: "15000000000", Number: "789456123", Department: "产品组"}
	if err := srv.PrintContract(id, clerk); err != nil {
		t.Fatal(err)
	}

	log, err := c.OperationLog(ctx, qys.StreamQuery{ContractID: id})
	if err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[len(srv.Requests())-1]
	if r.Path != qys.PathOperationLog || r.Query.Get("contractId") != id || r.Query.Has("operation") || r.Query.Has("bizId") {
		t.Fatalf("request %s %v", r.Path, r.Query)
	}
	if log.TotalCount != 2 || len(log.Records) != 2 {
		t.Fatalf("log %+v, want a download and a print", log)
	}
	dlr, pr := log.Records[0], log.Records[1]
	if dlr.Operation != qys.OperationDownloadContract || !strings.Contains(dlr.Description, "下载") || dlr.EntityID != id {
		t.Errorf("download record %+v", dlr)
	}
	if pr.Operation != qys.OperationPrintContract || pr.OperatorName != "张三" || pr.OperatorID != clerk.ID ||
		pr.OperatorMobile != clerk.Mobile || pr.OperatorNumber != clerk.Number || pr.OperationDesc != "文件打印" ||
		pr.OperateTime == "" || pr.EntityName != "NDA" || len(pr.Departments) != 1 || pr.Departments[0].CompanyName != "产品组" ||
		pr.Departments[0].Type != "SECTION" || pr.Departments[0].ID == "" || len(pr.Raw) == 0 {
		t.Errorf("print record %+v", pr)
	}
	var raw []map[string]any
	if err := json.Unmarshal(log.Raw, &raw); err != nil || len(raw) != 2 || raw[1]["detailedOperation"] == nil {
		t.Fatalf("raw %s: %v", log.Raw, err)
	}

	// One operation, one operator.
	prints, err := c.OperationLog(ctx, qys.StreamQuery{ContractID: id, Operations: []string{qys.OperationPrintContract}})
	if err != nil || len(prints.Records) != 1 || prints.Records[0].Operation != qys.OperationPrintContract {
		t.Fatalf("prints only: %+v %v", prints, err)
	}
	mine, err := c.OperationLog(ctx, qys.StreamQuery{ContractID: id, OperatorContact: clerk.Mobile})
	if err != nil || len(mine.Records) != 1 || mine.Records[0].OperatorName != "张三" {
		t.Fatalf("one operator: %+v %v", mine, err)
	}
	if _, err := c.OperationLog(ctx, qys.StreamQuery{ContractID: "3121362688614000000"}); !errors.Is(err, qys.ErrNotFound) {
		t.Errorf("unknown contract: %v", err)
	}

	// What the documented call cannot take is refused before sending.
	n := len(srv.Requests())
	for _, q := range []qys.StreamQuery{
		{BizID: "biz-ev"},
		{ContractID: id, Operations: []string{qys.OperationView}},
		{ContractID: id, Operations: []string{qys.OperationDownloadContract, qys.OperationPrintContract}},
	} {
		if _, err := c.OperationLog(ctx, q); !errors.Is(err, qys.ErrInvalidOption) {
			t.Errorf("%+v: %v, want ErrInvalidOption", q, err)
		}
	}
	if len(srv.Requests()) != n {
		t.Error("a refused query was sent")
	}
}

// TestOperationLogPathDefaults: without the option the operation log is
// the contract stream of the mode (/v2/contract/stream, /contract/stream
// in private cloud); the public fake has no /v2/contract/operationlog.
func TestOperationLogPathDefaults(t *testing.T) {
	ctx := context.Background()
	pub, c := evidenceServer(t)
	id, _ := completed(t, pub)
	if c.OperationLogPath() != qys.PathContractStream {
		t.Fatalf("public default %q", c.OperationLogPath())
	}
	log, err := c.OperationLog(ctx, qys.StreamQuery{ContractID: id})
	if err != nil || len(log.Records) == 0 || !strings.Contains(log.Records[len(log.Records)-1].Description, "合同完成") {
		t.Fatalf("public stream: %+v %v", log, err)
	}
	wrong, err := pub.Client(qys.WithOperationLogPath("/v2" + qys.PathOperationLog))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.OperationLog(ctx, qys.StreamQuery{ContractID: id}); err == nil {
		t.Error("the public fake answered /v2/contract/operationlog")
	}

	priv := qystest.NewServer(qystest.WithPrivateCloud())
	t.Cleanup(priv.Close)
	pc, err := priv.Client()
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := completed(t, priv)
	if pc.OperationLogPath() != "/contract/stream" {
		t.Fatalf("private default %q", pc.OperationLogPath())
	}
	if log, err := pc.OperationLog(ctx, qys.StreamQuery{ContractID: pid}); err != nil || len(log.Records) == 0 {
		t.Fatalf("private stream: %+v %v", log, err)
	}

	for _, p := range []string{"", "contract/operationlog", "/contract/operationlog?x=1", "/contract/../operationlog", "/contract/operationlog/"} {
		if _, err := qys.NewClient(pub.URL, "t", "s", qys.WithOperationLogPath(p)); !errors.Is(err, qys.ErrInvalidOption) {
			t.Errorf("path %q: %v, want ErrInvalidOption", p, err)
		}
	}
}

// TestOperationLogUnrecognizedAnswer: an answer of neither shape is a
// clear error, not an empty log.
func TestOperationLogUnrecognizedAnswer(t *testing.T) {
	for name, result := range map[string]string{
		"string": `"no log"`, "number": `42`, "list of strings": `["a"]`, "null": `null`, "list not a list": `{"list":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.Copy(w, bytes.NewReader([]byte(`{"code":0,"message":"SUCCESS","result":`+result+`}`)))
			}))
			t.Cleanup(srv.Close)
			c, err := qys.NewClient(srv.URL, "t", "s", qys.WithPrivateCloud(), qys.WithOperationLogPath(qys.PathOperationLog))
			if err != nil {
				t.Fatal(err)
			}
			log, err := c.OperationLog(context.Background(), qys.StreamQuery{ContractID: "1"})
			if err == nil || !strings.Contains(err.Error(), qys.PathOperationLog) {
				t.Fatalf("log %+v, err %v: want an error naming the path", log, err)
			}
		})
	}
}
