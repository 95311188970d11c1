package config_test

import (
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/qys"
)

// TestCallbackPolicySettings: the per-kind policy, the certification
// answer and the agent pair, from the environment and from a tenants file.
func TestCallbackPolicySettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		file    string
		opts    []config.Option
		wantErr string
		check   func(t *testing.T, c *config.Config)
	}{
		{name: "OKDefaults", env: baseline(), check: func(t *testing.T, c *config.Config) {
			tn := c.Tenants[0]
			p := tn.Policy()
			if p.Contract != qys.AcceptEncrypted || p.AuthPersonal != qys.AcceptUnsigned || p.AuthCompany != qys.AcceptUnsigned || tn.AuthAnswer != "" {
				t.Fatalf("policy %+v answer %q", p, tn.AuthAnswer)
			}
		}},
		{name: "OKEnv", env: with(baseline(), "QYSHOOK_ACCEPT_CONTRACT", "Plain", "QYSHOOK_ACCEPT_AUTH_PERSONAL", "encrypted",
			"QYSHOOK_ACCEPT_AUTH_COMPANY", " encrypted ", "QYSHOOK_AUTH_ANSWER", "SUCCESS"),
			check: func(t *testing.T, c *config.Config) {
				tn := c.Tenants[0]
				if p := tn.Policy(); p != (qys.Policy{Contract: qys.AcceptPlain, AuthPersonal: qys.AcceptEncrypted, AuthCompany: qys.AcceptEncrypted,
					Notice: qys.AcceptEncrypted, PhysicalSeal: qys.AcceptUnsigned}) || tn.AuthAnswer != "success" {
					t.Fatalf("policy %+v answer %q", p, tn.AuthAnswer)
				}
			}},
		{name: "OKLegacyAllowPlainLoosensEveryKind", env: with(baseline(), "QYSHOOK_ALLOW_PLAIN", "true", "QYSHOOK_ACCEPT_AUTH_PERSONAL", "encrypted"),
			check: func(t *testing.T, c *config.Config) {
				if p := c.Tenants[0].Policy(); p.Contract != qys.AcceptPlain || p.AuthPersonal != qys.AcceptPlain || p.AuthCompany != qys.AcceptUnsigned {
					t.Fatalf("policy %+v", p)
				}
			}},
		{name: "OKAllUnsignedNeedsNoSecret", env: map[string]string{"QYSHOOK_ALLOW_UNSIGNED": "true", "QYSHOOK_ACCEPT_CONTRACT": "unsigned"}},
		{name: "ErrUnsignedCertificationsStillNeedSecret", env: map[string]string{"QYSHOOK_ALLOW_UNSIGNED": "", "QYSHOOK_CALLBACK_SECRET": ""},
			wantErr: "QYSHOOK_CALLBACK_SECRET: required"},
		{name: "ErrAcceptValue", env: with(baseline(), "QYSHOOK_ACCEPT_AUTH_COMPANY", "anything"),
			wantErr: `QYSHOOK_ACCEPT_AUTH_COMPANY: "anything": must be encrypted, plain or unsigned`},
		{name: "OKEnvNotices", env: with(baseline(), "QYSHOOK_ACCEPT_NOTIFY", "unsigned", "QYSHOOK_ACCEPT_PHYSICAL_SEAL", "PLAIN"),
			check: func(t *testing.T, c *config.Config) {
				p := c.Tenants[0].Policy()
				if p.For(qys.KindSealAudit) != qys.AcceptUnsigned || p.For(qys.KindCompanyAuthorization) != qys.AcceptUnsigned ||
					p.For(qys.KindPhysicalSeal) != qys.AcceptPlain || p.Contract != qys.AcceptEncrypted {
					t.Fatalf("policy %+v", p)
				}
			}},
		{name: "ErrAcceptNotifyValue", env: with(baseline(), "QYSHOOK_ACCEPT_NOTIFY", "open"),
			wantErr: `QYSHOOK_ACCEPT_NOTIFY: "open": must be encrypted, plain or unsigned`},
		{name: "ErrAcceptPhysicalSealWithoutEnvTenant", env: map[string]string{"QYSHOOK_ACCEPT_PHYSICAL_SEAL": "plain"}, file: twoTenants,
			wantErr: "QYSHOOK_ACCEPT_PHYSICAL_SEAL: set, but no tenant comes from the environment"},
		{name: "ErrAuthAnswer", env: with(baseline(), "QYSHOOK_AUTH_ANSWER", "ok"),
			wantErr: `QYSHOOK_AUTH_ANSWER: "ok": must be json or success`},
		{name: "ErrAcceptWithoutEnvTenant", env: map[string]string{"QYSHOOK_ACCEPT_CONTRACT": "plain"}, file: twoTenants,
			wantErr: "QYSHOOK_ACCEPT_CONTRACT: set, but no tenant comes from the environment"},
		// Both were ignored silently with a tenants file.
		{name: "ErrAuthResultShapeWithoutEnvTenant", env: map[string]string{"QYSHOOK_QYS_AUTH_RESULT_SHAPE": "legacy"}, file: twoTenants,
			wantErr: "QYSHOOK_QYS_AUTH_RESULT_SHAPE: set, but no tenant comes from the environment"},
		{name: "ErrOplogPathWithoutEnvTenant", env: map[string]string{"QYSHOOK_QYS_OPLOG_PATH": "/contract/operationlog"}, file: twoTenants,
			wantErr: "QYSHOOK_QYS_OPLOG_PATH: set, but no tenant comes from the environment"},
		{name: "ErrCBCWithoutIVOneLine", env: with(baseline(), "QYSHOOK_CALLBACK_CIPHER", "AES_CBC"),
			wantErr: "QYSHOOK_CALLBACK_IV: required with AES_CBC: no public source gives 契约锁's IV, so there is no default"},
		{name: "OKAgentOnlyCredentials", env: with(baseline(), "QYSHOOK_QYS_AGENT_TOKEN", "agent-tok", "QYSHOOK_QYS_AGENT_SECRET", "agent-sec"),
			opts: []config.Option{config.WithNeeds(config.NeedQYSCredentials)},
			check: func(t *testing.T, c *config.Config) {
				q := c.Tenants[0].QYS
				if q.AgentToken.Reveal() != "agent-tok" || q.AgentSecret.Reveal() != "agent-sec" || !q.Credentials() {
					t.Fatalf("qys = %+v", q)
				}
				if strings.Contains(c.String(), "agent-sec") || strings.Contains(c.String(), "agent-tok") {
					t.Fatal("the agent pair is printed")
				}
			}},
		{name: "ErrAgentHalfPair", env: with(baseline(), "QYSHOOK_QYS_AGENT_TOKEN", "agent-tok"),
			wantErr: "QYSHOOK_QYS_AGENT_TOKEN: the agent token and the agent secret go together"},
		{name: "OKFile", file: `
[[tenant]]
name = "direct"
callback_secrets = ["` + secretA + `"]
auth_answer = "success"
[tenant.accept]
auth_company = "plain"
notify = "Plain"
physical_seal = "plain"
[tenant.qys]
app_token = "t"
app_secret = "s"

[[tenant]]
name = "saas"
callback_secrets = ["` + secretB + `"]
[tenant.accept]
contract = "encrypted"
auth_personal = "encrypted"
auth_company = "encrypted"
[tenant.qys]
agent_token = "at"
agent_secret = "as"
`, opts: []config.Option{config.WithNeeds(config.NeedCallbackSecrets | config.NeedQYSCredentials)},
			check: func(t *testing.T, c *config.Config) {
				d, _ := c.Tenant("direct")
				if p := d.Policy(); p != (qys.Policy{Contract: qys.AcceptEncrypted, AuthPersonal: qys.AcceptUnsigned, AuthCompany: qys.AcceptPlain,
					Notice: qys.AcceptPlain, PhysicalSeal: qys.AcceptPlain}) || d.AuthAnswer != "success" {
					t.Fatalf("direct: %+v %q", p, d.AuthAnswer)
				}
				s, _ := c.Tenant("saas")
				if p := s.Policy(); len(p.Lenient()) != 0 || s.QYS.AgentSecret.Reveal() != "as" {
					t.Fatalf("saas: %+v", p)
				}
			}},
		{name: "ErrFileAcceptValue", file: "[[tenant]]\nname = \"x\"\ncallback_secrets = [\"" + secretA + "\"]\n[tenant.accept]\ncontract = \"none\"\n",
			wantErr: `tenant "x": accept.contract: "none": must be encrypted, plain or unsigned`},
		{name: "ErrFileUnknownAcceptKind", file: "[[tenant]]\nname = \"x\"\ncallback_secrets = [\"" + secretA + "\"]\n[tenant.accept]\nseal = \"plain\"\n",
			wantErr: "unknown keys: tenant.accept.seal"},
		{name: "ErrFileCBCWithoutIV", file: "[[tenant]]\nname = \"x\"\ncallback_secrets = [\"" + secretA + "\"]\ncipher = \"AES_CBC\"\n",
			wantErr: `tenant "x": iv: required with AES_CBC`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tc.env {
				env[k] = v
			}
			if tc.file != "" {
				env["QYSHOOK_CONFIG"] = writeFile(t, tc.file)
			}
			c, err := config.Load(getenv(env), tc.opts...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("one problem, several lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
