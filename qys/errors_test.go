package qys_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/qys"
)

func TestAPIErrors(t *testing.T) {
	type tc struct {
		status    int
		body      string
		ctype     string
		want      qys.APIError
		is        []error
		isNot     []error
		temporary bool
	}
	base := tc{status: 200, ctype: "application/json", body: `{"code":1000001,"message":"参数错误"}`,
		want: qys.APIError{HTTPStatus: 200, Code: 1000001, Message: "参数错误", Path: "/v2/contract/detail"},
		is:   []error{qys.ErrInvalidParam}, isNot: []error{qys.ErrNotFound, qys.ErrServer, qys.ErrUnauthorized}}
	for name, modify := range map[string]func(*tc){
		"ErrInvalidParam": func(*tc) {},
		"ErrUnauthorized": func(c *tc) {
			c.status, c.body = 442, `{"message":"INVALID TOKEN","code":442,"responseCode":"11990442"}`
			c.want = qys.APIError{HTTPStatus: 442, Code: 442, ResponseCode: "11990442", Message: "INVALID TOKEN", Path: c.want.Path}
			c.is, c.isNot = []error{qys.ErrUnauthorized}, []error{qys.ErrServer, qys.ErrRateLimited}
		},
		"ErrUnauthorizedHTTP401": func(c *tc) {
			c.status, c.body, c.ctype = 401, `<html>nope</html>`, "text/html"
			c.want = qys.APIError{HTTPStatus: 401, Message: "Unauthorized", Path: c.want.Path}
			c.is, c.isNot = []error{qys.ErrUnauthorized}, nil
		},
		"ErrRateLimited": func(c *tc) {
			c.body = `{"code":"11990006","responseCode":"11990006","message":"接口调用频繁"}`
			c.want = qys.APIError{HTTPStatus: 200, Code: 11990006, ResponseCode: "11990006", Message: "接口调用频繁", Path: c.want.Path}
			c.is, c.isNot, c.temporary = []error{qys.ErrRateLimited}, []error{qys.ErrServer}, true
		},
		"ErrRateLimited429": func(c *tc) {
			c.status, c.body = 429, `{"code":429,"message":"slow down"}`
			c.want = qys.APIError{HTTPStatus: 429, Code: 429, Message: "slow down", Path: c.want.Path}
			c.is, c.isNot, c.temporary = []error{qys.ErrRateLimited}, nil, true
		},
		"ErrServerNonJSON": func(c *tc) {
			c.status, c.body, c.ctype = 502, `<html>bad gateway</html>`, "text/html"
			c.want = qys.APIError{HTTPStatus: 502, Message: "Bad Gateway", Path: c.want.Path}
			c.is, c.isNot, c.temporary = []error{qys.ErrServer}, []error{qys.ErrNotFound}, true
		},
		"ErrNotFound404": func(c *tc) {
			c.status, c.body = 404, `{"code":1100001,"message":"合同不存在"}`
			c.want = qys.APIError{HTTPStatus: 404, Code: 1100001, Message: "合同不存在", Path: c.want.Path}
			c.is, c.isNot = []error{qys.ErrNotFound}, []error{qys.ErrServer}
		},
		"ErrNotFoundCode": func(c *tc) {
			c.body = `{"code":1100001,"message":"合同不存在"}`
			c.want = qys.APIError{HTTPStatus: 200, Code: 1100001, Message: "合同不存在", Path: c.want.Path}
			c.is, c.isNot = []error{qys.ErrNotFound}, []error{qys.ErrServer, qys.ErrInvalidParam}
		},
		"CodeNotInteger": func(c *tc) {
			c.body = `{"code":"FAIL","message":"x"}`
			c.want = qys.APIError{HTTPStatus: 200, Code: qys.CodeUnparsable, Message: "x", Path: c.want.Path}
			c.is, c.isNot = nil, []error{qys.ErrNotFound, qys.ErrServer}
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := base
			modify(&c)
			calls := 0
			cl, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
				calls++
				w.Header().Set("Content-Type", c.ctype)
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
			})
			_, err := cl.ContractDetail(context.Background(), qys.ContractQuery{ContractID: "9999999999"})
			var got *qys.APIError
			if !errors.As(err, &got) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if got.HTTPStatus != c.want.HTTPStatus || got.Code != c.want.Code || got.ResponseCode != c.want.ResponseCode ||
				got.Message != c.want.Message || got.Path != c.want.Path {
				t.Fatalf("got %+v\nwant %+v", *got, c.want)
			}
			for _, s := range c.is {
				if !errors.Is(err, s) {
					t.Errorf("errors.Is(%v) = false", s)
				}
			}
			for _, s := range c.isNot {
				if errors.Is(err, s) {
					t.Errorf("errors.Is(%v) = true", s)
				}
			}
			if got.Temporary() != c.temporary {
				t.Errorf("Temporary = %v", got.Temporary())
			}
			if wantCalls := map[bool]int{true: 4, false: 1}[c.temporary]; calls != wantCalls {
				t.Errorf("calls = %d, want %d", calls, wantCalls)
			}
			if strings.Contains(err.Error(), "9999999999") || !strings.HasPrefix(err.Error(), "qys: ") {
				t.Errorf("error text %q leaks the id or lacks the prefix", err)
			}
		})
	}
}

func TestNotFoundCodesOption(t *testing.T) {
	c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"code":2001,"message":"no such contract"}`)
	}, qys.WithNotFoundCodes(2001))
	_, err := c.ContractDetail(context.Background(), qys.ContractQuery{ContractID: "1"})
	if !errors.Is(err, qys.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestEnvelopeWithoutCodeIsAnError(t *testing.T) {
	for name, body := range map[string]string{
		"NoCode":   `{"result":{"id":"1"}}`,
		"NotJSON":  `hello`,
		"NoResult": `{"code":0}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := MustClient(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, body) })
			if ct, err := c.ContractDetail(context.Background(), qys.ContractQuery{ContractID: "1"}); err == nil {
				t.Fatalf("got %+v, want an error", ct)
			}
		})
	}
}
