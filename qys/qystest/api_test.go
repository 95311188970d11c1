package qystest_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

func TestDetailByBizID(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, nil)
	c := MustClient(t, srv)
	ctx := ctxTimeout(t, 5*time.Second)
	got, err := c.ContractDetail(ctx, qys.ContractQuery{BizID: "order-42", TenantName: "发起方有限公司"})
	if err != nil || string(got.ID) != id {
		t.Fatalf("by bizId: %v, %v", got, err)
	}
	_, err = c.ContractDetail(ctx, qys.ContractQuery{BizID: "order-42", TenantName: "别的公司"})
	if !errors.Is(err, qys.ErrNotFound) {
		t.Fatalf("other tenant: err = %v, want ErrNotFound", err)
	}
	if n := srv.DetailCalls(id); n != 1 {
		t.Fatalf("DetailCalls = %d, want 1", n)
	}
}

func TestNotFound(t *testing.T) {
	srv := MustServer(t)
	c := MustClient(t, srv)
	ctx := ctxTimeout(t, 5*time.Second)
	if _, err := c.ContractDetail(ctx, qys.ContractQuery{ContractID: "1"}); !errors.Is(err, qys.ErrNotFound) {
		t.Fatalf("detail: err = %v, want ErrNotFound", err)
	}
	if _, err := c.DownloadDocument(ctx, "1"); !errors.Is(err, qys.ErrNotFound) {
		t.Fatalf("document: err = %v, want ErrNotFound", err)
	}
	if r := srv.Requests(); r[0].Status != 200 || r[0].Code != qys.CodeContractNotFound {
		t.Fatalf("answer = HTTP %d code %d", r[0].Status, r[0].Code)
	}
}

func TestListPagingAndRange(t *testing.T) {
	srv := MustServer(t)
	t0 := time.Now().Add(-24 * time.Hour).Truncate(time.Second).In(qystest.ChinaTime)
	var ids []string
	for i := range 5 {
		ids = append(ids, MustContract(t, srv, func(s *qystest.ContractSpec) {
			s.BizID = fmt.Sprint("biz-", i)
			s.PublishTime = t0.Add(time.Duration(i) * time.Hour)
		}))
	}
	if err := srv.Send(ids[4]); err != nil {
		t.Fatal(err)
	}
	c := MustClient(t, srv)
	ctx := ctxTimeout(t, 5*time.Second)
	q := qys.ListQuery{Limit: 2, PublishStart: t0.Add(-time.Minute), PublishEnd: t0.Add(10 * time.Hour), Order: "ASC"}
	var seen []string
	for q.Offset = 0; q.Offset < 6; q.Offset += 2 {
		page, err := c.ListContracts(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if page.TotalCount != 5 {
			t.Fatalf("totalCount = %d", page.TotalCount)
		}
		for _, it := range page.List {
			seen = append(seen, string(it.ID))
		}
	}
	if fmt.Sprint(seen) != fmt.Sprint(ids) {
		t.Fatalf("paged ids = %v, want %v", seen, ids)
	}

	t.Run("Range", func(t *testing.T) {
		// The range is inclusive and in UTC+8; send it from another zone.
		page, err := c.ListContracts(ctx, qys.ListQuery{PublishStart: t0.Add(time.Hour).UTC(), PublishEnd: t0.Add(3 * time.Hour).UTC()})
		if err != nil {
			t.Fatal(err)
		}
		if page.TotalCount != 3 {
			t.Fatalf("totalCount = %d, want 3 (%+v)", page.TotalCount, page.List)
		}
	})
	t.Run("Status", func(t *testing.T) {
		page, err := c.ListContracts(ctx, qys.ListQuery{Status: lifecycle.Signing, PublishStart: t0.Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if page.TotalCount != 1 || string(page.List[0].ID) != ids[4] || page.List[0].BizID != "biz-4" {
			t.Fatalf("page = %+v", page)
		}
	})
	t.Run("ErrBadTime", func(t *testing.T) {
		a := rawDo(t, "GET", srv.URL+"/v2/contract/list?publishTimeStart=yesterday",
			signedHeaders(srv.AppToken, srv.AppSecret, time.Now(), "bad-time"))
		if a.Code != qys.CodeParamError {
			t.Fatalf("code = %d, want %d", a.Code, qys.CodeParamError)
		}
	})
}

func TestSetStatus(t *testing.T) {
	srv := MustServer(t)
	id := MustContract(t, srv, nil)
	if err := srv.SetStatus(id, lifecycle.Signing); err != nil {
		t.Fatal(err)
	}
	if c, _ := srv.Contract(id); c.Status != lifecycle.Signing {
		t.Fatalf("status = %s", c.Status)
	}
	if err := srv.SetStatus("nope", lifecycle.Signing); !errors.Is(err, qystest.ErrUnknownContract) {
		t.Fatalf("err = %v", err)
	}
	if len(srv.Deliveries()) != 0 {
		t.Fatal("SetStatus sent a callback")
	}
}
