package config_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/qys"
)

const (
	secretA = "0123456789abcdef"
	secretB = "fedcba9876543210"
)

func baseline() map[string]string {
	return map[string]string{"QYSHOOK_CALLBACK_SECRET": secretA}
}

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeFile(tb testing.TB, body string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "tenants.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestLoadDefaults(t *testing.T) {
	c, err := config.Load(getenv(baseline()))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"HTTPAddr": ":8080", "NATSURL": "", "DataDir": "./data", "DB": "sqlite://data/ledger.db",
		"LogLevel": zerolog.InfoLevel, "MaxBody": int64(1 << 20), "PublishTimeout": 5 * time.Second,
		"Past": 72 * time.Hour, "Future": 5 * time.Minute, "MaxAge": 720 * time.Hour,
		"Dup": 48 * time.Hour, "Replicas": 0, "Tenants": 1,
	}
	got := map[string]any{
		"HTTPAddr": c.HTTPAddr, "NATSURL": c.NATSURL, "DataDir": c.DataDir, "DB": c.DB.Reveal(),
		"LogLevel": c.LogLevel, "MaxBody": c.MaxBody, "PublishTimeout": c.PublishTimeout,
		"Past": c.Window.Past, "Future": c.Window.Future, "MaxAge": c.Stream.MaxAge,
		"Dup": c.Stream.DuplicateWindow, "Replicas": c.Stream.Replicas, "Tenants": len(c.Tenants),
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	tn := c.Tenants[0]
	if tn.Name != "default" || tn.Format != qys.FormatA || tn.Cipher != qys.CipherECB || tn.QYS.BaseURL != config.DefaultQYSBaseURL {
		t.Errorf("default tenant = %+v", tn)
	}
	vc := tn.VerifierConfig()
	if len(vc.Secrets) != 1 || vc.Secrets[0] != secretA || vc.Window.Past != 72*time.Hour {
		t.Errorf("verifier config = %+v", vc)
	}
	if c.EmbeddedStoreDir() != filepath.Join("data", "nats") {
		t.Errorf("EmbeddedStoreDir = %s", c.EmbeddedStoreDir())
	}
}

func TestLoadDispatcherDefaultAddr(t *testing.T) {
	c, err := config.Load(getenv(nil), config.WithDefaultHTTPAddr(config.DefaultDispatcherAddr), config.WithNeeds(0))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8081" {
		t.Fatalf("HTTPAddr = %s", c.HTTPAddr)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		modify  func(env map[string]string)
		opts    []config.Option
		wantErr string // substring; "" = success
		check   func(t *testing.T, c *config.Config)
	}{
		{name: "OK", check: func(t *testing.T, c *config.Config) {}},
		{name: "OKAllSettings", modify: func(e map[string]string) {
			for k, v := range map[string]string{
				"HTTP_ADDR": "127.0.0.1:9000", "NATS_URL": "nats://n:4222", "EMBEDDED_NATS_ADDR": "127.0.0.1:4223",
				"NATS_NAMESPACE": "prod", "DB": "postgres://u:p@h/db", "DATA_DIR": "/var/lib/q",
				"CALLBACK_SECRET": secretA + ", " + secretB, "CALLBACK_FORMAT": "a", "CALLBACK_CIPHER": "aes_cbc",
				"CALLBACK_IV": "1234567890abcdef", "ALLOW_UNSIGNED": "true", "TIMESTAMP_PAST": "1h",
				"TIMESTAMP_FUTURE": "1m", "QYS_BASE_URL": "https://openapi.qiyuesuo.com", "QYS_APP_TOKEN": "tok",
				"QYS_APP_SECRET": "sec", "QYS_PRIVATE_CLOUD": "1", "LOG_LEVEL": "DEBUG", "MAX_BODY": "2MiB",
				"PUBLISH_TIMEOUT": "2s", "STREAM_MAX_AGE": "24h", "STREAM_MAX_BYTES": "1G",
				"DUPLICATE_WINDOW": "1h", "STREAM_REPLICAS": "3",
			} {
				e["QYSHOOK_"+k] = v
			}
		}, opts: []config.Option{config.WithNeeds(config.NeedCallbackSecrets | config.NeedQYSCredentials)},
			check: func(t *testing.T, c *config.Config) {
				tn := c.Tenants[0]
				if len(tn.Secrets) != 2 || tn.Secrets[1].Reveal() != secretB || tn.Cipher != qys.CipherCBC ||
					!tn.AllowUnsigned || !tn.QYS.PrivateCloud || tn.QYS.AppToken.Reveal() != "tok" {
					t.Errorf("tenant = %+v", tn)
				}
				if c.MaxBody != 2<<20 || c.Stream.MaxBytes != 1<<30 || c.Stream.Replicas != 3 ||
					c.LogLevel != zerolog.DebugLevel || c.PublishTimeout != 2*time.Second || c.NATSNamespace != "prod" {
					t.Errorf("config = %s", c)
				}
				if string(tn.VerifierConfig().IV) != "1234567890abcdef" {
					t.Errorf("iv not passed")
				}
			}},
		{name: "ErrMissingSecret", modify: func(e map[string]string) { delete(e, "QYSHOOK_CALLBACK_SECRET") },
			wantErr: "QYSHOOK_CALLBACK_SECRET: required (the 16-character callback secret)"},
		{name: "OKUnsignedWithoutSecret", modify: func(e map[string]string) {
			delete(e, "QYSHOOK_CALLBACK_SECRET")
			e["QYSHOOK_ALLOW_UNSIGNED"] = "true"
		}},
		{name: "ErrShortSecret", modify: func(e map[string]string) { e["QYSHOOK_CALLBACK_SECRET"] = "short" },
			wantErr: "QYSHOOK_CALLBACK_SECRET: secret #1 must be 16 characters (got 5)"},
		{name: "ErrShortSecondSecret", modify: func(e map[string]string) { e["QYSHOOK_CALLBACK_SECRET"] = secretA + ",abc" },
			wantErr: "secret #2 must be 16"},
		{name: "ErrFormat", modify: func(e map[string]string) { e["QYSHOOK_CALLBACK_FORMAT"] = "C" },
			wantErr: "QYSHOOK_CALLBACK_FORMAT: \"C\": must be A or B"},
		{name: "ErrFormatBWithoutToken", modify: func(e map[string]string) { e["QYSHOOK_CALLBACK_FORMAT"] = "B" },
			wantErr: "QYSHOOK_CALLBACK_TOKEN: required for format B"},
		{name: "ErrMaxBodyOverVerifierCap", modify: func(e map[string]string) { e["QYSHOOK_MAX_BODY"] = "32MiB" },
			wantErr: "QYSHOOK_MAX_BODY: \"32MiB\" is outside the accepted range 1KiB to 16MiB"},
		{name: "ErrSignatureB", modify: func(e map[string]string) { e["QYSHOOK_CALLBACK_SIGNATURE_B"] = "sha1" },
			wantErr: "QYSHOOK_CALLBACK_SIGNATURE_B: \"sha1\": must be none or md5"},
		{name: "ErrAckWait", modify: func(e map[string]string) { e["QYSHOOK_ACK_WAIT"] = "10ms" },
			wantErr: "QYSHOOK_ACK_WAIT: \"10ms\" is outside the accepted range 1s to 1h"},
		{name: "OKHTTPLimits", modify: func(e map[string]string) {
			e["QYSHOOK_MAX_CONNS"] = "100"
			e["QYSHOOK_IDLE_TIMEOUT"] = "5s"
			e["QYSHOOK_READ_HEADER_TIMEOUT"] = "2s"
		}, check: func(t *testing.T, c *config.Config) {
			if c.HTTP != (config.HTTPLimits{MaxConns: 100, IdleTimeout: 5 * time.Second, ReadHeaderTimeout: 2 * time.Second}) {
				t.Errorf("HTTP limits = %+v", c.HTTP)
			}
		}},
		{name: "OKHTTPLimitsDefault", check: func(t *testing.T, c *config.Config) {
			if c.HTTP != (config.HTTPLimits{MaxConns: 2048, IdleTimeout: 30 * time.Second, ReadHeaderTimeout: 5 * time.Second}) {
				t.Errorf("HTTP limits = %+v", c.HTTP)
			}
		}},
		{name: "ErrMaxConnsLow", modify: func(e map[string]string) { e["QYSHOOK_MAX_CONNS"] = "0" },
			wantErr: "QYSHOOK_MAX_CONNS: must be 16 to 65536"},
		{name: "ErrMaxConnsHigh", modify: func(e map[string]string) { e["QYSHOOK_MAX_CONNS"] = "1000000" },
			wantErr: "QYSHOOK_MAX_CONNS: must be 16 to 65536"},
		{name: "ErrMaxConnsNotInt", modify: func(e map[string]string) { e["QYSHOOK_MAX_CONNS"] = "many" },
			wantErr: "QYSHOOK_MAX_CONNS: \"many\" is not an integer"},
		{name: "ErrIdleTimeout", modify: func(e map[string]string) { e["QYSHOOK_IDLE_TIMEOUT"] = "0s" },
			wantErr: "QYSHOOK_IDLE_TIMEOUT: \"0s\" is outside the accepted range 1s to 10m"},
		{name: "ErrReadHeaderTimeout", modify: func(e map[string]string) { e["QYSHOOK_READ_HEADER_TIMEOUT"] = "2h" },
			wantErr: "QYSHOOK_READ_HEADER_TIMEOUT: \"2h\" is outside the accepted range 500ms to 1m"},
		{name: "ErrMaxDeliver", modify: func(e map[string]string) { e["QYSHOOK_MAX_DELIVER"] = "0" },
			wantErr: "QYSHOOK_MAX_DELIVER: must be at least 1"},
		{name: "ErrCipher", modify: func(e map[string]string) { e["QYSHOOK_CALLBACK_CIPHER"] = "DES" },
			wantErr: "QYSHOOK_CALLBACK_CIPHER"},
		{name: "ErrIVWithECB", modify: func(e map[string]string) { e["QYSHOOK_CALLBACK_IV"] = "1234567890abcdef" },
			wantErr: "QYSHOOK_CALLBACK_IV: set, but the cipher is AES_ECB"},
		{name: "ErrIVLength", modify: func(e map[string]string) {
			e["QYSHOOK_CALLBACK_CIPHER"] = "AES_CBC"
			e["QYSHOOK_CALLBACK_IV"] = "123"
		}, wantErr: "QYSHOOK_CALLBACK_IV: must be 16 characters or 32 hex digits"},
		{name: "ErrCBCWithoutIV", modify: func(e map[string]string) { e["QYSHOOK_CALLBACK_CIPHER"] = "AES_CBC" },
			wantErr: "QYSHOOK_CALLBACK_IV: required with AES_CBC"},
		{name: "ErrAllowUnsigned", modify: func(e map[string]string) { e["QYSHOOK_ALLOW_UNSIGNED"] = "maybe" },
			wantErr: "QYSHOOK_ALLOW_UNSIGNED: \"maybe\" is not a boolean"},
		{name: "ErrTimestampPast", modify: func(e map[string]string) { e["QYSHOOK_TIMESTAMP_PAST"] = "3 days" },
			wantErr: "QYSHOOK_TIMESTAMP_PAST: \"3 days\" is not a duration"},
		{name: "ErrPublishTimeout", modify: func(e map[string]string) { e["QYSHOOK_PUBLISH_TIMEOUT"] = "-1s" },
			wantErr: "QYSHOOK_PUBLISH_TIMEOUT: \"-1s\" is outside the accepted range 100ms to 1m"},
		{name: "ErrMaxBody", modify: func(e map[string]string) { e["QYSHOOK_MAX_BODY"] = "lots" },
			wantErr: "QYSHOOK_MAX_BODY"},
		{name: "ErrStreamMaxBytes", modify: func(e map[string]string) { e["QYSHOOK_STREAM_MAX_BYTES"] = "1TB" },
			wantErr: "QYSHOOK_STREAM_MAX_BYTES"},
		{name: "ErrReplicas", modify: func(e map[string]string) { e["QYSHOOK_STREAM_REPLICAS"] = "0" },
			wantErr: "QYSHOOK_STREAM_REPLICAS: must be 1 to 5"},
		{name: "ErrReplicasNotInt", modify: func(e map[string]string) { e["QYSHOOK_STREAM_REPLICAS"] = "x" },
			wantErr: "QYSHOOK_STREAM_REPLICAS: \"x\" is not an integer"},
		{name: "ErrLogLevel", modify: func(e map[string]string) { e["QYSHOOK_LOG_LEVEL"] = "loud" },
			wantErr: "QYSHOOK_LOG_LEVEL"},
		{name: "ErrNamespace", modify: func(e map[string]string) { e["QYSHOOK_NATS_NAMESPACE"] = "a.b" },
			wantErr: "QYSHOOK_NATS_NAMESPACE"},
		{name: "ErrDB", modify: func(e map[string]string) { e["QYSHOOK_DB"] = "mysql://x" },
			wantErr: "QYSHOOK_DB: must start with"},
		{name: "ErrBaseURL", modify: func(e map[string]string) { e["QYSHOOK_QYS_BASE_URL"] = "openapi" },
			wantErr: "QYSHOOK_QYS_BASE_URL: must be an http(s) URL"},
		{name: "OplogPath", modify: func(e map[string]string) { e["QYSHOOK_QYS_OPLOG_PATH"] = " /contract/operationlog " },
			check: func(t *testing.T, c *config.Config) {
				if p := c.Tenants[0].QYS.OplogPath; p != qys.PathOperationLog {
					t.Errorf("oplog path %q", p)
				}
			}},
		{name: "OplogPathDefault", check: func(t *testing.T, c *config.Config) {
			if p := c.Tenants[0].QYS.OplogPath; p != "" {
				t.Errorf("oplog path %q, want empty (the stream of the mode)", p)
			}
		}},
		{name: "ErrOplogPath", modify: func(e map[string]string) { e["QYSHOOK_QYS_OPLOG_PATH"] = "contract/operationlog?x" },
			wantErr: "QYSHOOK_QYS_OPLOG_PATH: \"contract/operationlog?x\": must be a clean absolute path such as /contract/operationlog"},
		{name: "ErrQYSCredentials", opts: []config.Option{config.WithNeeds(config.NeedQYSCredentials)},
			wantErr: "QYSHOOK_QYS_APP_TOKEN: required\nQYSHOOK_QYS_APP_SECRET: required"},
		{name: "ErrSeveralJoined", modify: func(e map[string]string) {
			e["QYSHOOK_MAX_BODY"] = "0"
			e["QYSHOOK_CALLBACK_FORMAT"] = "Z"
		}, wantErr: "QYSHOOK_MAX_BODY: \"0\" is outside the accepted range 1KiB to 16MiB\n"},
		{name: "ErrMissingFile", modify: func(e map[string]string) { e["QYSHOOK_CONFIG"] = "/nonexistent/t.toml" },
			wantErr: "QYSHOOK_CONFIG /nonexistent/t.toml: cannot read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := baseline()
			if tc.modify != nil {
				tc.modify(env)
			}
			c, err := config.Load(getenv(env), tc.opts...)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if tc.check != nil {
					tc.check(t, c)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded, want error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tc.wantErr)
			}
			assertNoSecret(t, err.Error(), env)
		})
	}
}

func assertNoSecret(t *testing.T, s string, env map[string]string) {
	t.Helper()
	for _, k := range []string{"QYSHOOK_CALLBACK_SECRET", "QYSHOOK_QYS_APP_SECRET", "QYSHOOK_CALLBACK_TOKEN"} {
		for _, v := range strings.Split(env[k], ",") {
			if v = strings.TrimSpace(v); len(v) >= 3 && strings.Contains(s, v) {
				t.Fatalf("%q leaks the value of %s", s, k)
			}
		}
	}
}

const twoTenants = `
[[tenant]]
name = "acme"
callback_secrets = ["` + secretA + `"]
[tenant.qys]
app_token = "t1"
app_secret = "s1"

[[tenant]]
name = "beta"
callback_secrets = ["` + secretB + `", "` + secretA + `"]
format = "B"
token = "tok"
[tenant.qys]
base_url = "https://qys.example"
private_cloud = true
`

func TestLoadFile(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		wantErr string
		tenants []string
	}{
		{name: "OKTwoTenants", file: twoTenants, tenants: []string{"acme", "beta"}},
		{name: "OKEnvDefaultPlusFile", file: twoTenants, env: baseline(), tenants: []string{"default", "acme", "beta"}},
		{name: "ErrDuplicateTenant", file: twoTenants + "\n[[tenant]]\nname = \"acme\"\ncallback_secrets = [\"" + secretA + "\"]\n",
			wantErr: `tenant "acme": defined twice`},
		{name: "ErrDefaultInFileAndEnv", file: "[[tenant]]\nname = \"default\"\ncallback_secrets = [\"" + secretA + "\"]\n",
			env: baseline(), wantErr: `tenant "default": defined twice`},
		{name: "ErrBadTenantName", file: "[[tenant]]\nname = \"a.b\"\ncallback_secrets = [\"" + secretA + "\"]\n",
			wantErr: `tenant "a.b": name: "a.b" is not a valid tenant name`},
		{name: "ErrEmptyTenantName", file: "[[tenant]]\ncallback_secrets = [\"" + secretA + "\"]\n",
			wantErr: `is not a valid tenant name`},
		{name: "ErrShortSecret", file: "[[tenant]]\nname = \"x\"\ncallback_secrets = [\"tooshortsecret\"]\n",
			wantErr: `tenant "x": callback_secrets: secret #1 must be 16 characters (got 14)`},
		{name: "ErrMissingSecret", file: "[[tenant]]\nname = \"x\"\n", wantErr: `tenant "x": callback_secrets: required`},
		{name: "ErrUnknownKey", file: twoTenants + "\n[[tenant]]\nname = \"z\"\ncallback_secret = \"" + secretA + "\"\n",
			wantErr: "unknown keys: tenant.callback_secret"},
		{name: "ErrOplogPathFile", file: "[[tenant]]\nname = \"x\"\ncallback_secrets = [\"" + secretA + "\"]\n[tenant.qys]\noplog_path = \"operationlog\"\n",
			wantErr: `tenant "x": qys.oplog_path: "operationlog": must be a clean absolute path`},
		{name: "ErrNoTenants", file: "# empty\n", wantErr: "no [[tenant]]"},
		{name: "ErrInvalidTOML", file: "[[tenant]\nname=", wantErr: "invalid TOML"},
		{name: "ErrWrongType", file: "[[tenant]]\nname = \"x\"\ncallback_secrets = \"" + secretA + "\"\n", wantErr: "tenants file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tc.env {
				env[k] = v
			}
			env["QYSHOOK_CONFIG"] = writeFile(t, tc.file)
			c, err := config.Load(getenv(env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), secretA) || strings.Contains(err.Error(), "tooshortsecret") {
					t.Fatalf("error leaks a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tn := range c.Tenants {
				names = append(names, tn.Name)
			}
			if fmt.Sprint(names) != fmt.Sprint(tc.tenants) {
				t.Fatalf("tenants = %v, want %v", names, tc.tenants)
			}
			beta, _ := c.Tenant("beta")
			if beta.Format != qys.FormatB || beta.Token.Reveal() != "tok" || beta.QYS.BaseURL != "https://qys.example" ||
				!beta.QYS.PrivateCloud || len(beta.Secrets) != 2 || beta.Window.Past != 72*time.Hour {
				t.Fatalf("beta = %+v", beta)
			}
			acme, _ := c.Tenant("acme")
			if acme.QYS.BaseURL != config.DefaultQYSBaseURL || acme.QYS.AppSecret.Reveal() != "s1" {
				t.Fatalf("acme = %+v", acme)
			}
		})
	}
}

func TestSampleFileLoads(t *testing.T) {
	c, err := config.Load(getenv(map[string]string{"QYSHOOK_CONFIG": "../../examples/tenants.toml"}),
		config.WithNeeds(config.NeedCallbackSecrets|config.NeedQYSCredentials))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Tenants) != 2 {
		t.Fatalf("tenants = %d", len(c.Tenants))
	}
	sub, _ := c.Tenant("subsidiary-b")
	if iv := sub.VerifierConfig().IV; len(iv) != 16 || iv[1] != 0x11 {
		t.Fatalf("hex iv = %x", iv)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	env := baseline()
	env["QYSHOOK_QYS_APP_SECRET"] = "app-secret-value"
	env["QYSHOOK_QYS_APP_TOKEN"] = "app-token-value"
	env["QYSHOOK_DB"] = "postgres://user:dbpassword@host/db"
	c, err := config.Load(getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(c)
	for _, out := range []string{c.String(), fmt.Sprintf("%v", *c), fmt.Sprintf("%+v", c.Tenants), fmt.Sprintf("%#v", c.Tenants[0].Secrets), string(js)} {
		for _, s := range []string{secretA, "app-secret-value", "app-token-value", "dbpassword"} {
			if strings.Contains(out, s) {
				t.Fatalf("output leaks %q: %s", s, out)
			}
		}
	}
}
