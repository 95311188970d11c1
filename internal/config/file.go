package config

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/qyshook/qyshook/qys"
)

// fileTenant is one [[tenant]] table of the tenants file.
type fileTenant struct {
	Name            string   `toml:"name"`
	CallbackSecrets []string `toml:"callback_secrets"`
	Format          string   `toml:"format"`
	Cipher          string   `toml:"cipher"`
	IV              string   `toml:"iv"`
	Token           string   `toml:"token"`
	SignatureB      string   `toml:"signature_b"`
	AllowUnsigned   bool     `toml:"allow_unsigned"`
	AllowPlain      bool     `toml:"allow_plain"`
	Accept          struct {
		Contract     string `toml:"contract"`
		AuthPersonal string `toml:"auth_personal"`
		AuthCompany  string `toml:"auth_company"`
		Notify       string `toml:"notify"`
		PhysicalSeal string `toml:"physical_seal"`
	} `toml:"accept"`
	AuthAnswer string `toml:"auth_answer"`
	QYS        struct {
		BaseURL         string `toml:"base_url"`
		AppToken        string `toml:"app_token"`
		AppSecret       string `toml:"app_secret"`
		PrivateCloud    bool   `toml:"private_cloud"`
		AgentToken      string `toml:"agent_token"`
		AgentSecret     string `toml:"agent_secret"`
		VerifyOnline    bool   `toml:"verify_online"`
		AuthResultShape string `toml:"auth_result_shape"`
		OplogPath       string `toml:"oplog_path"`
		APIRate         *int   `toml:"api_rate"`
		APIInFlight     *int   `toml:"api_inflight"`
	} `toml:"qys"`
}

var fileFields = map[string]string{
	"name": "name", "format": "format", "cipher": "cipher", "iv": "iv", "secret": "callback_secrets",
	"token": "token", "signature_b": "signature_b", "qys_base_url": "qys.base_url", "qys_app_token": "qys.app_token",
	"qys_app_secret": "qys.app_secret", "qys_agent_token": "qys.agent_token", "qys_oplog_path": "qys.oplog_path",
	"accept_contract": "accept.contract", "accept_auth_personal": "accept.auth_personal",
	"accept_auth_company": "accept.auth_company", "auth_answer": "auth_answer",
	"accept_notify": "accept.notify", "accept_physical_seal": "accept.physical_seal",
	"api_rate": "qys.api_rate", "api_inflight": "qys.api_inflight", "auth_result_shape": "qys.auth_result_shape",
}

// readFile reads the tenants of a TOML file. Unknown keys are errors, so a
// misspelt setting does not silently take its default. Decode errors are
// reported without the offending value (it may be a secret).
func readFile(path, defaultBaseURL string, budget APIBudget, getenv func(string) string, privateTenants []string) ([]Tenant, []Endpoint, error) {
	var f struct {
		Tenant   []fileTenant   `toml:"tenant"`
		Endpoint []fileEndpoint `toml:"endpoint"`
	}
	md, err := toml.DecodeFile(path, &f)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, nil, fmt.Errorf("%sCONFIG %s: line %d: invalid TOML", Prefix, path, perr.Position.Line)
		}
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			return nil, nil, fmt.Errorf("%sCONFIG %s: cannot read: %v", Prefix, path, pathErr.Err)
		}
		return nil, nil, fmt.Errorf("%sCONFIG %s: invalid tenants file (check value types)", Prefix, path)
	}
	var problems []error
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		problems = append(problems, fmt.Errorf("%sCONFIG %s: unknown keys: %s", Prefix, path, strings.Join(keys, ", ")))
	}
	if len(f.Tenant) == 0 {
		problems = append(problems, fmt.Errorf("%sCONFIG %s: no [[tenant]]", Prefix, path))
	}
	tenants := make([]Tenant, 0, len(f.Tenant))
	for _, ft := range f.Tenant {
		tenants = append(tenants, ft.tenant(path, defaultBaseURL, budget))
	}
	endpoints := make([]Endpoint, 0, len(f.Endpoint))
	for i, fe := range f.Endpoint {
		ep, err := fe.endpoint(getenv, privateTenants)
		if err != nil {
			problems = append(problems, fmt.Errorf("%sCONFIG %s: [[endpoint]] %d (%q): %w", Prefix, path, i+1, fe.ID, err))
			continue
		}
		endpoints = append(endpoints, ep)
	}
	return tenants, endpoints, errors.Join(problems...)
}

func (ft fileTenant) tenant(path, defaultBaseURL string, budget APIBudget) Tenant {
	t := Tenant{
		Name:          ft.Name,
		Format:        qys.Format(strings.ToUpper(or(ft.Format, string(qys.FormatA)))),
		Cipher:        qys.Cipher(strings.ToUpper(or(ft.Cipher, string(qys.CipherECB)))),
		IV:            Secret(ft.IV),
		Token:         Secret(ft.Token),
		SignatureB:    strings.ToLower(strings.TrimSpace(ft.SignatureB)),
		AllowUnsigned: ft.AllowUnsigned,
		AllowPlain:    ft.AllowPlain,
		Accept: qys.Policy{
			Contract:     accept(ft.Accept.Contract),
			AuthPersonal: accept(ft.Accept.AuthPersonal),
			AuthCompany:  accept(ft.Accept.AuthCompany),
			Notice:       accept(ft.Accept.Notify),
			PhysicalSeal: accept(ft.Accept.PhysicalSeal),
		},
		AuthAnswer: strings.ToLower(strings.TrimSpace(ft.AuthAnswer)),
		QYS: QYS{
			BaseURL:         or(ft.QYS.BaseURL, defaultBaseURL),
			AppToken:        Secret(ft.QYS.AppToken),
			AppSecret:       Secret(ft.QYS.AppSecret),
			PrivateCloud:    ft.QYS.PrivateCloud,
			AgentToken:      Secret(strings.TrimSpace(ft.QYS.AgentToken)),
			AgentSecret:     Secret(strings.TrimSpace(ft.QYS.AgentSecret)),
			VerifyOnline:    ft.QYS.VerifyOnline,
			AuthResultShape: strings.ToLower(strings.TrimSpace(ft.QYS.AuthResultShape)),
			OplogPath:       strings.TrimSpace(ft.QYS.OplogPath),
			APIRate:         orInt(ft.QYS.APIRate, budget.Rate),
			APIInFlight:     orInt(ft.QYS.APIInFlight, budget.InFlight),
		},
	}
	for _, s := range ft.CallbackSecrets {
		if s = strings.TrimSpace(s); s != "" {
			t.Secrets = append(t.Secrets, Secret(s))
		}
	}
	name := ft.Name
	t.setting = func(field string) string {
		return fmt.Sprintf("%s: tenant %q: %s", path, name, fileFields[field])
	}
	return t
}

// accept normalises an accept setting; Validate checks its value.
func accept(v string) qys.Accept { return qys.Accept(strings.ToLower(strings.TrimSpace(v))) }

// orInt is *v when the key was given, else def.
func orInt(v *int, def int) int {
	if v != nil {
		return *v
	}
	return def
}

func or(v, def string) string {
	if v = strings.TrimSpace(v); v != "" {
		return v
	}
	return def
}
