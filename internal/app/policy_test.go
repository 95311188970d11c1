package app_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/receiver"
)

func policyTenant(name string, p qys.Policy) config.Tenant {
	return config.Tenant{Name: name, Format: qys.FormatA, Cipher: qys.CipherECB,
		Secrets: []config.Secret{config.Secret(secret)}, Accept: p}
}

// TestWarnLenientPolicies: every start warns, per tenant, about each kind
// accepted plain or unsigned; a strict tenant is not mentioned.
func TestWarnLenientPolicies(t *testing.T) {
	strict := qys.Policy{Contract: qys.AcceptEncrypted, AuthPersonal: qys.AcceptEncrypted, AuthCompany: qys.AcceptEncrypted}
	tenants := []config.Tenant{
		policyTenant("direct", qys.Policy{}),
		policyTenant("saas", strict),
		policyTenant("plain", qys.Policy{Contract: qys.AcceptPlain, AuthPersonal: qys.AcceptEncrypted, AuthCompany: qys.AcceptEncrypted}),
	}
	var buf bytes.Buffer
	n := app.WarnLenientPolicies(zerolog.New(&buf), tenants)
	out := buf.String()
	if n != 2 || strings.Count(out, `"level":"warn"`) != 2 {
		t.Fatalf("%d warnings:\n%s", n, out)
	}
	for _, want := range []string{`"tenant":"direct"`, `"accept":"auth.personal=unsigned,auth.company=unsigned"`,
		`"tenant":"plain"`, `"accept":"contract=plain"`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in:\n%s", want, out)
		}
	}
	if strings.Contains(out, `"tenant":"saas"`) || strings.Contains(out, secret) {
		t.Errorf("strict tenant warned or secret logged:\n%s", out)
	}
}

func TestReceiverOptionsPolicyAndAnswer(t *testing.T) {
	a := policyTenant("a", qys.Policy{AuthCompany: qys.AcceptEncrypted})
	a.AuthAnswer = "success"
	b := policyTenant("b", qys.Policy{})
	cfg := &config.Config{Tenants: []config.Tenant{a, b}}
	o, err := app.ReceiverOptions(cfg, events.Names{})
	if err != nil {
		t.Fatal(err)
	}
	if o.AuthAnswers["a"] != receiver.AuthAnswerSuccess || o.AuthAnswers["b"] != receiver.AuthAnswerJSON {
		t.Fatalf("answers = %v", o.AuthAnswers)
	}
	if p := o.Tenants["a"].Policy(); p.AuthCompany != qys.AcceptEncrypted || p.AuthPersonal != qys.AcceptUnsigned {
		t.Fatalf("a policy = %+v", p)
	}
	cfg.Tenants[0].AuthAnswer = "nope"
	if _, err := app.ReceiverOptions(cfg, events.Names{}); err == nil {
		t.Fatal("invalid certification answer accepted")
	}
}

func TestAPIClientsAgentOnly(t *testing.T) {
	tn := policyTenant("saas", qys.Policy{})
	tn.QYS = config.QYS{BaseURL: "https://openapi.qiyuesuo.cn", AgentToken: "at", AgentSecret: "as"}
	none := policyTenant("none", qys.Policy{})
	none.QYS.BaseURL = "https://openapi.qiyuesuo.cn"
	apis, err := app.APIClients(&config.Config{Tenants: []config.Tenant{tn, none}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := apis["saas"]; !ok || len(apis) != 1 {
		t.Fatalf("clients for %v, want only the agent-mode tenant", apis)
	}
}

// TestAPIClientsOperationLogPath: a tenant's oplog path reaches its
// client (private cloud 4.0's /contract/operationlog); without it the
// client calls the stream of its mode.
func TestAPIClientsOperationLogPath(t *testing.T) {
	priv := policyTenant("priv", qys.Policy{})
	priv.QYS = config.QYS{BaseURL: "http://qys.internal:9182", AppToken: "t", AppSecret: "s", PrivateCloud: true,
		OplogPath: qys.PathOperationLog}
	plain := policyTenant("plain", qys.Policy{})
	plain.QYS = config.QYS{BaseURL: "http://qys.internal:9182", AppToken: "t", AppSecret: "s", PrivateCloud: true}
	apis, err := app.APIClients(&config.Config{Tenants: []config.Tenant{priv, plain}})
	if err != nil {
		t.Fatal(err)
	}
	if p := apis["priv"].(*qys.Client).OperationLogPath(); p != qys.PathOperationLog {
		t.Errorf("priv: %q", p)
	}
	if p := apis["plain"].(*qys.Client).OperationLogPath(); p != "/contract/stream" {
		t.Errorf("plain: %q", p)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestStartWarnsAndAcceptsDirectCertification: a receiver started from
// the environment warns about its lenient certification policy, takes a
// direct-mode certification callback (plain fields, no signature) and
// answers it with the configured body.
func TestStartWarnsAndAcceptsDirectCertification(t *testing.T) {
	cfg := load(t, nil, map[string]string{"QYSHOOK_AUTH_ANSWER": "success"})
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, cfg, zerolog.New(logs), app.Roles{Receiver: true}, app.RunOptions{OnReady: func(a string) { ready <- a }})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("app.Run: %v", err)
	}
	if out := logs.String(); !strings.Contains(out, `"level":"warn"`) || !strings.Contains(out, `"accept":"auth.personal=unsigned,auth.company=unsigned"`) {
		t.Fatalf("no policy warning at start:\n%s", out)
	}
	form := url.Values{"requestId": {"c-direct-1"}, "status": {"1"}}
	resp, err := http.Post("http://"+addr+"/callbacks/default/auth/company", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "success" {
		t.Fatalf("direct-mode certification callback: %d %q", resp.StatusCode, b)
	}
	form = url.Values{"contractId": {"1"}, "callbackType": {"CONTRACT_COMPLETE"}}
	resp, err = http.Post("http://"+addr+"/callbacks/default/contract", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("unsigned contract callback: %d, want 401", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
