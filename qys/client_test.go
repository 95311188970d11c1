package qys_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
)

const (
	testToken  = "app-token"
	testSecret = "app-secret"
)

// MustClient starts handler on an httptest server and returns a client for
// it with fast retries (opts may override them).
func MustClient(tb testing.TB, handler http.HandlerFunc, opts ...qys.Option) (*qys.Client, *httptest.Server) {
	tb.Helper()
	srv := httptest.NewServer(handler)
	tb.Cleanup(srv.Close)
	opts = append([]qys.Option{qys.WithRetries(3, time.Millisecond, 5*time.Millisecond)}, opts...)
	c, err := qys.NewClient(srv.URL, testToken, testSecret, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return c, srv
}

// writeJSON answers an envelope.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

// signedBy checks the open-API headers of r (public or private family)
// and returns the problem, or "".
func signedBy(r *http.Request, prefix string) string {
	ts, nonce := r.Header.Get(prefix+"timestamp"), r.Header.Get(prefix+"nonce")
	if r.Header.Get(prefix+"accesstoken") != testToken {
		return "bad token"
	}
	if !regexp.MustCompile(`^[0-9]{13}$`).MatchString(ts) {
		return "timestamp not 13-digit ms: " + ts
	}
	ms, _ := strconv.ParseInt(ts, 10, 64)
	if d := time.Since(time.UnixMilli(ms)); d < -time.Minute || d > time.Minute {
		return "timestamp not now"
	}
	if !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(nonce) {
		return "nonce not a uuid: " + nonce
	}
	if got := r.Header.Get(prefix + "signature"); got != qys.SignAPI(testToken, testSecret, ts, nonce) {
		return "bad signature " + got
	}
	return ""
}

const contractJSON = `{"id":"3121362688614077231","bizId":"order-42","subject":"S","status":"COMPLETE",
 "futureField":{"x":1},"signatories":[{"id":2422042838839468036,"tenantType":"COMPANY","status":"WHATEVER"}],
 "documents":[{"id":"3121362690010779649","title":"t.pdf"}]}`

func TestClientSignsRequests(t *testing.T) {
	var mu sync.Mutex
	nonces := map[string]bool{}
	calls := 0
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if p := signedBy(r, "X-Qys-Open-"); p != "" {
			writeJSON(w, 401, `{"code":442,"message":"`+p+`"}`)
			return
		}
		if nonces[r.Header.Get("X-Qys-Open-Nonce")] {
			writeJSON(w, 401, `{"code":442,"message":"nonce reused"}`)
			return
		}
		nonces[r.Header.Get("X-Qys-Open-Nonce")] = true
		if ua := r.Header.Get("User-Agent"); ua != "qyshook/"+qys.Version+" extra/1" {
			writeJSON(w, 400, `{"code":1000001,"message":"ua `+ua+`"}`)
			return
		}
		if r.Method != http.MethodGet || r.URL.Path != "/v2/contract/detail" || r.URL.Query().Get("contractId") != "42" {
			writeJSON(w, 400, `{"code":1000001,"message":"bad request"}`)
			return
		}
		if calls == 1 {
			writeJSON(w, 503, `{"code":1000000,"message":"busy"}`) // the retry must carry a fresh nonce
			return
		}
		writeJSON(w, 200, `{"code":0,"message":"SUCCESS","result":`+contractJSON+`}`)
	}, qys.WithUserAgent("extra/1"))
	ct, err := c.ContractDetail(context.Background(), qys.ContractQuery{ContractID: "42"})
	if err != nil {
		t.Fatal(err)
	}
	if ct.ID != "3121362688614077231" || ct.Status != lifecycle.Complete || ct.Signatories[0].ID != "2422042838839468036" || ct.Documents[0].ID != "3121362690010779649" {
		t.Fatalf("contract = %+v", ct)
	}
	var raw map[string]any
	if err := json.Unmarshal(ct.Raw, &raw); err != nil || raw["futureField"] == nil {
		t.Fatalf("Raw lost unknown fields: %s", ct.Raw)
	}
	if calls != 2 || len(nonces) != 2 {
		t.Fatalf("calls = %d, distinct nonces = %d", calls, len(nonces))
	}
}

func TestClientPrivateCloud(t *testing.T) {
	_, srv := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		if p := signedBy(r, "X-Qys-"); p != "" || r.Header.Get("X-Qys-Open-Signature") != "" {
			writeJSON(w, 401, `{"code":442,"message":"headers"}`)
			return
		}
		if r.URL.Path != "/api/contract/detail" || r.Header.Get("Version") != "GO-3.1.1" {
			writeJSON(w, 404, `{"code":1000001,"message":"path `+r.URL.Path+`"}`)
			return
		}
		// Private cloud 4.0: the detail under `contract`, code as a string.
		writeJSON(w, 200, `{"code":"0","message":"SUCCESS","contract":`+contractJSON+`}`)
	})
	// The base URL may carry a path prefix.
	c, err := qys.NewClient(srv.URL+"/api/", testToken, testSecret, qys.WithPrivateCloud(), qys.WithVersionHeader("GO-3.1.1"))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := c.ContractDetail(context.Background(), qys.ContractQuery{BizID: "order-42", TenantName: "子公司"})
	if err != nil {
		t.Fatal(err)
	}
	if ct.BizID != "order-42" || !strings.Contains(string(ct.Raw), "futureField") {
		t.Fatalf("contract = %+v", ct)
	}
}

func TestClientEnvelopeSuccessForms(t *testing.T) {
	for name, body := range map[string]string{
		"NumericCode":    `{"code":0,"result":{"id":"1","status":"SIGNING"}}`,
		"StringCode":     `{"code":"0","result":{"id":"1","status":"SIGNING"}}`,
		"ResponseCode":   `{"responseCode":"00000000","message":"ok","result":{"id":1,"status":"SIGNING"}}`,
		"UnknownStatus":  `{"code":0,"result":{"id":"1","status":"SOMETHING_NEW","x":[1,2]}}`,
		"ExtraTopFields": `{"code":0,"traceId":"abc","result":{"id":"1","status":"SIGNING"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, body) })
			ct, err := c.ContractDetail(context.Background(), qys.ContractQuery{ContractID: "1"})
			if err != nil || ct.ID != "1" {
				t.Fatalf("ContractDetail = %+v, %v", ct, err)
			}
		})
	}
}

func TestClientRequiresSelector(t *testing.T) {
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) { t.Error("no request expected") })
	ctx := context.Background()
	if _, err := c.ContractDetail(ctx, qys.ContractQuery{TenantName: "x"}); !errors.Is(err, qys.ErrInvalidOption) {
		t.Errorf("ContractDetail: %v", err)
	}
	if _, err := c.DownloadContract(ctx, qys.ContractQuery{}); !errors.Is(err, qys.ErrInvalidOption) {
		t.Errorf("DownloadContract: %v", err)
	}
	if _, err := c.DownloadURLs(ctx, qys.ContractQuery{}, false); !errors.Is(err, qys.ErrInvalidOption) {
		t.Errorf("DownloadURLs: %v", err)
	}
	if _, err := c.DownloadDocument(ctx, ""); !errors.Is(err, qys.ErrInvalidOption) {
		t.Errorf("DownloadDocument: %v", err)
	}
	if _, err := c.ListContracts(ctx, qys.ListQuery{Offset: -1}); !errors.Is(err, qys.ErrInvalidOption) {
		t.Errorf("ListContracts: %v", err)
	}
}

func TestListContractsQuery(t *testing.T) {
	var got string
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.RawQuery
		writeJSON(w, 200, `{"code":0,"result":{"totalCount":"2","list":[{"id":1,"status":"SIGNING"},{"id":"2","status":"COMPLETE","category":{"id":"9"}}]}}`)
	})
	start := time.Date(2024, 1, 31, 16, 30, 0, 0, time.UTC) // 2024-02-01 00:30:00 in UTC+8
	page, err := c.ListContracts(context.Background(), qys.ListQuery{
		Offset: 10, Limit: 5, PublishStart: start, PublishEnd: start.Add(time.Hour),
		TenantName: "某公司", Status: "COMPLETE", Order: "DESC", SignatoryType: "ALL",
	})
	if err != nil {
		t.Fatal(err)
	}
	if page.TotalCount != 2 || len(page.List) != 2 || page.List[0].ID != "1" {
		t.Fatalf("page = %+v", page)
	}
	want := "createTimeOrder=DESC&publishTimeEnd=2024-02-01+01%3A30%3A00&publishTimeStart=2024-02-01+00%3A30%3A00" +
		"&selectLimit=5&selectOffset=10&signatoryType=ALL&status=COMPLETE&tenantName=%E6%9F%90%E5%85%AC%E5%8F%B8"
	if got != want {
		t.Fatalf("query\n got %s\nwant %s", got, want)
	}
	if strings.Contains(got, "%09") {
		t.Fatal("a parameter name carries the vendor SDK's trailing TAB")
	}
}

func TestListContractsPrivateCloudList(t *testing.T) {
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"code":0,"result":{"totalCount":1,"contractList":[{"id":"7","status":"SIGNING"}]}}`)
	}, qys.WithPrivateCloud())
	page, err := c.ListContracts(context.Background(), qys.ListQuery{})
	if err != nil || len(page.List) != 1 || page.List[0].ID != "7" {
		t.Fatalf("page = %+v, %v", page, err)
	}
}

func TestDownloadURLs(t *testing.T) {
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/v2/contract/downloadurl" || q.Get("downloadItems") != "CONTRACT,SIGNLOG" || q.Get("compress") != "true" {
			writeJSON(w, 400, `{"code":1000001,"message":"bad"}`)
			return
		}
		writeJSON(w, 200, `{"code":0,"result":{"downloadUrls":[{"contractId":"5","title":"S","downloadItems":"CONTRACT,SIGNLOG","downloadUrl":"https://x/y"}]}}`)
	})
	urls, err := c.DownloadURLs(context.Background(), qys.ContractQuery{ContractID: "5"}, true, "CONTRACT", " SIGNLOG ")
	if err != nil || len(urls) != 1 || urls[0].DownloadURL != "https://x/y" || urls[0].ContractID != "5" {
		t.Fatalf("urls = %+v, %v", urls, err)
	}
}

func TestNewClientValidates(t *testing.T) {
	ok := "https://openapi.qiyuesuo.cn"
	for name, tc := range map[string]struct {
		base, token, secret string
		opts                []qys.Option
	}{
		"EmptyBase":      {"", "t", "s", nil},
		"BadURL":         {"://x", "t", "s", nil},
		"NoScheme":       {"openapi.qiyuesuo.cn", "t", "s", nil},
		"FTP":            {"ftp://x", "t", "s", nil},
		"Query":          {ok + "?a=b", "t", "s", nil},
		"Credentials":    {"https://u:p@x", "t", "s", nil},
		"EmptyToken":     {ok, "", "s", nil},
		"EmptySecret":    {ok, "t", "", nil},
		"NilHTTPClient":  {ok, "t", "s", []qys.Option{qys.WithHTTPClient(nil)}},
		"ZeroTimeout":    {ok, "t", "s", []qys.Option{qys.WithTimeout(0)}},
		"NegRetries":     {ok, "t", "s", []qys.Option{qys.WithRetries(-1, time.Second, time.Second)}},
		"MaxBelowBase":   {ok, "t", "s", []qys.Option{qys.WithRetries(1, time.Second, time.Millisecond)}},
		"ZeroBase":       {ok, "t", "s", []qys.Option{qys.WithRetries(1, 0, time.Second)}},
		"EmptyUA":        {ok, "t", "s", []qys.Option{qys.WithUserAgent(" ")}},
		"NewlineVersion": {ok, "t", "s", []qys.Option{qys.WithVersionHeader("a\nb")}},
		"NilOption":      {ok, "t", "s", []qys.Option{nil}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := qys.NewClient(tc.base, tc.token, tc.secret, tc.opts...); !errors.Is(err, qys.ErrInvalidOption) {
				t.Fatalf("err = %v, want ErrInvalidOption", err)
			}
		})
	}
	if _, err := qys.NewClient(ok, "t", "s", qys.WithTimeout(time.Second), qys.WithRetries(0, time.Millisecond, time.Millisecond),
		qys.WithHTTPClient(http.DefaultClient), qys.WithNotFoundCodes(1), qys.WithPrivateCloud()); err != nil {
		t.Fatalf("valid options: %v", err)
	}
}
