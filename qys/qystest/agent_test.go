package qystest_test

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/qyshook/qyshook/qys"
)

const (
	agentToken  = "agent-token-1"
	agentSecret = "agent-secret-1"
)

// agentHeaders signs like the vendor SDK's SaaSSdkClient without an app
// pair: agent token, timestamp, nonce and MD5(agentToken + agentSecret +
// timestamp + nonce).
func agentHeaders(token, secret string, ts time.Time, nonce string) http.Header {
	t := strconv.FormatInt(ts.UnixMilli(), 10)
	sum := md5.Sum([]byte(token + secret + t + nonce))
	h := http.Header{}
	h.Set("x-qys-open-agentaccesstoken", token)
	h.Set("x-qys-open-timestamp", t)
	h.Set("x-qys-open-nonce", nonce)
	h.Set("x-qys-open-agentsignature", hex.EncodeToString(sum[:]))
	return h
}

// TestAgentClient: qys.WithAgent signs as the SaaS client does, alone or
// next to the app pair, and the fake accepts both.
func TestAgentClient(t *testing.T) {
	srv := MustServer(t)
	srv.AddAgent(agentToken, agentSecret)
	id := MustContract(t, srv, nil)
	agentOnly, err := qys.NewClient(srv.URL, "", "", qys.WithAgent(agentToken, agentSecret),
		qys.WithRetries(0, time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*qys.Client{
		"AgentOnly":    agentOnly,
		"AgentWithApp": MustClient(t, srv, qys.WithAgent(agentToken, agentSecret)),
	} {
		t.Run(name, func(t *testing.T) {
			before := len(srv.Requests())
			got, err := c.ContractDetail(ctxTimeout(t, 5*time.Second), qys.ContractQuery{ContractID: id})
			if err != nil || string(got.ID) != id {
				t.Fatalf("detail = %+v, %v", got, err)
			}
			reqs := srv.Requests()[before:]
			h := reqs[len(reqs)-1].Header
			ts, nonce := h.Get("x-qys-open-timestamp"), h.Get("x-qys-open-nonce")
			if h.Get("x-qys-open-agentaccesstoken") != agentToken ||
				h.Get("x-qys-open-agentsignature") != qys.SignAPI(agentToken, agentSecret, ts, nonce) {
				t.Fatalf("agent headers: %v", h)
			}
			if hasApp := h.Get("x-qys-open-accesstoken") != ""; hasApp != (name == "AgentWithApp") {
				t.Fatalf("app pair sent = %v", hasApp)
			}
		})
	}
}

// TestAgentWrongSignatureRefused: the fake refuses a wrong agent signature
// as the platform refuses a wrong app signature, even next to a valid app
// pair.
func TestAgentWrongSignatureRefused(t *testing.T) {
	srv := MustServer(t)
	srv.AddAgent(agentToken, agentSecret)
	id := MustContract(t, srv, nil)
	noRetry := qys.WithRetries(0, time.Millisecond, time.Millisecond)
	agentOnly, err := qys.NewClient(srv.URL, "", "", qys.WithAgent(agentToken, "wrong-secret"), noRetry)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*qys.Client{
		"AgentOnly":    agentOnly,
		"AgentWithApp": MustClient(t, srv, qys.WithAgent(agentToken, "wrong-secret"), noRetry),
		"UnknownAgent": MustClient(t, srv, qys.WithAgent("someone-else", agentSecret), noRetry),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.ContractDetail(ctxTimeout(t, 5*time.Second), qys.ContractQuery{ContractID: id})
			if !errors.Is(err, qys.ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
		})
	}
}

func TestAgentHeaders(t *testing.T) {
	srv := MustServer(t)
	srv.AddAgent(agentToken, agentSecret)
	id := MustContract(t, srv, nil)
	url := srv.URL + "/v2/contract/detail?contractId=" + id
	for name, tc := range map[string]struct {
		h            http.Header
		status, code int
	}{
		"OK":              {agentHeaders(agentToken, agentSecret, time.Now(), "a1"), 200, 0},
		"ErrWrongSecret":  {agentHeaders(agentToken, "wrong", time.Now(), "a2"), 442, 442},
		"ErrUnknownAgent": {agentHeaders("nobody", agentSecret, time.Now(), "a3"), 442, 442},
		"ErrStale":        {agentHeaders(agentToken, agentSecret, time.Now().Add(-16*time.Minute), "a4"), 442, 442},
		"ErrNoAgentSig": {func() http.Header {
			h := agentHeaders(agentToken, agentSecret, time.Now(), "a5")
			h.Del("x-qys-open-agentsignature")
			return h
		}(), 441, 441},
		"ErrNoNonce": {func() http.Header {
			h := agentHeaders(agentToken, agentSecret, time.Now(), "a6")
			h.Del("x-qys-open-nonce")
			return h
		}(), 441, 441},
		"ErrSigWithoutAgent": {func() http.Header {
			h := agentHeaders(agentToken, agentSecret, time.Now(), "a7")
			h.Del("x-qys-open-agentaccesstoken")
			return h
		}(), 441, 441},
	} {
		t.Run(name, func(t *testing.T) {
			if a := rawDo(t, http.MethodGet, url, tc.h); a.Status != tc.status || a.Code != tc.code {
				t.Fatalf("got HTTP %d code %d (%s), want HTTP %d code %d", a.Status, a.Code, a.Msg, tc.status, tc.code)
			}
		})
	}
	t.Run("ErrReplay", func(t *testing.T) {
		h := agentHeaders(agentToken, agentSecret, time.Now(), "replayed")
		if a := rawDo(t, http.MethodGet, url, h); a.Status != 200 {
			t.Fatalf("first: HTTP %d (%s)", a.Status, a.Msg)
		}
		if a := rawDo(t, http.MethodGet, url, h); a.Status != 442 {
			t.Fatalf("replay: HTTP %d (%s), want 442", a.Status, a.Msg)
		}
	})
}
