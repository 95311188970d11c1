package qystest_test

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// privateHeaders signs a private-cloud request independently of the
// client (x-qys-* family, MD5(token + secret + timestamp + nonce)).
func privateHeaders(srv *qystest.Server) http.Header {
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	nonce := "n-" + strconv.FormatInt(nonces.Add(1), 10)
	h := http.Header{}
	h.Set("x-qys-accesstoken", srv.AppToken)
	h.Set("x-qys-timestamp", ts)
	h.Set("x-qys-nonce", nonce)
	h.Set("x-qys-signature", qys.SignAPI(srv.AppToken, srv.AppSecret, ts, nonce))
	return h
}

var nonces atomic.Int64

// TestOperationLogRefusesWhatThePlatformRefuses: the fake's
// /contract/operationlog answers a parameter error where the documented
// call would (no contractId, a bizId instead, a contractId that is not a
// number, an undocumented operation), so a client bug fails a test; the
// public fake does not serve it.
func TestOperationLogRefusesWhatThePlatformRefuses(t *testing.T) {
	srv := MustServer(t, qystest.WithPrivateCloud())
	id := MustContract(t, srv, nil)
	for name, query := range map[string]string{
		"no contractId":     "",
		"bizId":             "?bizId=order-42",
		"not a number":      "?contractId=abc",
		"unknown operation": "?contractId=" + id + "&operation=VIEW",
		"two operations":    "?contractId=" + id + "&operation=DOWNLOADCONTRACT,PRINTCONTRACT",
	} {
		a := rawDo(t, http.MethodGet, srv.URL+qys.PathOperationLog+query, privateHeaders(srv))
		if a.Status != http.StatusOK || a.Code != qys.CodeParamError {
			t.Errorf("%s: %+v, want parameter error %d", name, a, qys.CodeParamError)
		}
	}
	if a := rawDo(t, http.MethodGet, srv.URL+qys.PathOperationLog+"?contractId="+id, privateHeaders(srv)); a.Code != 0 || string(a.Result) != "[]" {
		t.Errorf("valid query: %+v, want an empty list", a)
	}
	if a := rawDo(t, http.MethodGet, srv.URL+qys.PathOperationLog+"?contractId=3121362688614000000", privateHeaders(srv)); a.Code != qys.CodeContractNotFound {
		t.Errorf("unknown contract: %+v", a)
	}

	pub := MustServer(t)
	pid := MustContract(t, pub, nil)
	h := signedHeaders(pub.AppToken, pub.AppSecret, time.Now(), "n-pub")
	if a := rawDo(t, http.MethodGet, pub.URL+"/v2"+qys.PathOperationLog+"?contractId="+pid, h); a.Status != http.StatusNotFound {
		t.Errorf("public fake: %+v, want 404", a)
	}
}
