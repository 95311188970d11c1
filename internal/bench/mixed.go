package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/qyshook/qyshook/lifecycle"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

// poster sends signed, encrypted format-A callbacks to a receiver the
// way 契约锁 does, over keep-alive connections.
type poster struct {
	client *http.Client
	sender qys.SenderConfig
}

func newPoster(conns int, secret string) *poster {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	return &poster{client: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		sender: qys.SenderConfig{Format: qys.FormatA, Secret: secret, Encrypt: true, Cipher: qys.CipherECB}}
}

func (p *poster) close() { p.client.CloseIdleConnections() }

// post signs payload, sends it to url and reports how long the answer
// took and whether it was 200 "success".
func (p *poster) post(ctx context.Context, url string, payload any) (time.Duration, bool) {
	b, err := json.Marshal(payload)
	if err != nil {
		return 0, false
	}
	out, err := qys.BuildCallback(p.sender, b, time.Now())
	if err != nil || out == nil {
		return 0, false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(out.Body))
	if err != nil {
		return 0, false
	}
	req.Header.Set("Content-Type", out.ContentType)
	t0 := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		return time.Since(t0), false
	}
	var buf [256]byte
	n, _ := io.ReadFull(resp.Body, buf[:])
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(t0), resp.StatusCode == http.StatusOK && acceptedAnswer(buf[:n])
}

// acceptedAnswer reports whether a 200 answer's body accepts the
// callback: "success", or for certification callbacks the JSON answer
// with code 0 (QYSHOOK_AUTH_ANSWER).
func acceptedAnswer(body []byte) bool {
	text := strings.TrimSpace(string(body))
	if text == "success" {
		return true
	}
	var e struct {
		Code json.RawMessage `json:"code"`
	}
	if json.Unmarshal([]byte(text), &e) != nil {
		return false
	}
	code := strings.Trim(string(e.Code), `"`)
	return code == "0"
}

// contractCallback is a format-A contract callback's payload.
type contractCallback struct {
	ContractID     string `json:"contractId"`
	CallbackType   string `json:"callbackType"`
	ContractStatus string `json:"contractStatus"`
	TenantType     string `json:"tenantType,omitempty"`
	TenantName     string `json:"tenantName,omitempty"`
}

// answered is told of every callback answered: its subject (contract or
// certification id), how long the answer took and whether it was success.
type answered func(subject string, latency time.Duration, ok bool)

// playLifecycle plays contract number n on the fake and sends the callbacks
// 契约锁 would: sent for signing (SEND_SIGNING); then, four in five, the
// company seals and the contract completes (SEAL, COMPLETE), so its one
// document is archived. Every tenth lifecycle also completes a company
// and a personal certification.
func playLifecycle(ctx context.Context, p *poster, fake *qystest.Server, urls map[string]string, n int, done answered) {
	id := fake.AddContract(qystest.ContractSpec{
		Subject:     fmt.Sprintf("soak %d", n),
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantCompany, TenantName: "甲方"}},
		Documents:   []qystest.DocumentSpec{{Title: "正文", Size: 16 << 10}},
	})
	send := func(typ, status string, actor bool) {
		cb := contractCallback{ContractID: id, CallbackType: typ, ContractStatus: status}
		if actor {
			cb.TenantType, cb.TenantName = qystest.TenantCompany, "甲方"
		}
		lat, ok := p.post(ctx, urls["contract"], cb)
		done(id, lat, ok)
	}
	if fake.Send(id) == nil {
		send(qystest.CallbackSendSigning, lifecycle.Signing, false)
	}
	if n%5 != 4 && fake.Sign(id, 0) == nil {
		send(qystest.CallbackSeal, lifecycle.Complete, true)
		send(qystest.CallbackComplete, lifecycle.Complete, false)
	}
	if n%10 == 0 {
		req, name := "soak-company-"+strconv.Itoa(n), "示例科技有限公司"
		fake.CompleteCompanyAuth(req, name, true)
		// The fields CompleteCompanyAuth sends (format A, the fake's shape).
		info, _ := json.Marshal(map[string]string{"name": name, "legalPerson": "张三",
			"registerNo": "91310000" + fmt.Sprintf("%010d", len(req)*7919+len(name))})
		lat, ok := p.post(ctx, urls["auth/company"], map[string]string{"requestId": req, "status": "1",
			"actionEvent": "7", "authInfo": string(info)})
		done(req, lat, ok)
		auth := "soak-person-" + strconv.Itoa(n)
		fake.CompletePersonalAuth(auth, "FACE", "1")
		lat, ok = p.post(ctx, urls["auth/personal"], map[string]string{"authId": auth, "mode": "FACE", "status": "1"})
		done(auth, lat, ok)
	}
}
