package qystest_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// MustServer starts a fake and closes it when the test ends.
func MustServer(tb testing.TB, opts ...qystest.Option) *qystest.Server {
	tb.Helper()
	srv := qystest.NewServer(opts...)
	tb.Cleanup(srv.Close)
	return srv
}

// MustClient returns the fake's client.
func MustClient(tb testing.TB, srv *qystest.Server, opts ...qys.Option) *qys.Client {
	tb.Helper()
	c, err := srv.Client(opts...)
	if err != nil {
		tb.Fatalf("Client: %v", err)
	}
	return c
}

// MustContract adds a contract with one personal and one company signatory.
func MustContract(tb testing.TB, srv *qystest.Server, modify func(*qystest.ContractSpec)) string {
	tb.Helper()
	spec := qystest.ContractSpec{
		BizID:        "order-42",
		Subject:      "采购合同",
		TenantName:   "发起方有限公司",
		BusinessData: "bd-42",
		Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantPersonal, TenantName: "张三", Contact: "13800000000"},
			{TenantType: qystest.TenantCompany, TenantName: "某某科技有限公司", Contact: "13900000000"},
		},
		Documents: []qystest.DocumentSpec{{Title: "合同正文", Content: []byte("%PDF-1.4 body\n%%EOF\n")}},
	}
	if modify != nil {
		modify(&spec)
	}
	return srv.AddContract(spec)
}

// signedHeaders computes the public-cloud headers independently of qys.
func signedHeaders(token, secret string, ts time.Time, nonce string) http.Header {
	t := strconv.FormatInt(ts.UnixMilli(), 10)
	sum := md5.Sum([]byte(token + secret + t + nonce))
	h := http.Header{}
	h.Set("x-qys-open-accesstoken", token)
	h.Set("x-qys-open-timestamp", t)
	h.Set("x-qys-open-nonce", nonce)
	h.Set("x-qys-open-signature", hex.EncodeToString(sum[:]))
	return h
}

type apiAnswer struct {
	Status int
	Code   int             `json:"code"`
	Msg    string          `json:"message"`
	Result json.RawMessage `json:"result"`
}

// rawDo sends a request with exactly the given headers.
func rawDo(tb testing.TB, method, url string, h http.Header) apiAnswer {
	tb.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var a apiAnswer
	_ = json.NewDecoder(resp.Body).Decode(&a)
	a.Status = resp.StatusCode
	return a
}

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func ctxTimeout(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}
