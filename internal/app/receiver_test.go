package app_test

import (
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/qys"
)

func TestVerifiers(t *testing.T) {
	tenant := func(name, secret string) config.Tenant {
		return config.Tenant{Name: name, Format: qys.FormatA, Cipher: qys.CipherECB, Secrets: []config.Secret{config.Secret(secret)}}
	}
	tests := []struct {
		name    string
		tenants []config.Tenant
		wantErr string
	}{
		{"OK", []config.Tenant{tenant("acme", secret), tenant("beta", secret)}, ""},
		{"ErrDefinedTwice", []config.Tenant{tenant("acme", secret), tenant("acme", secret)}, `tenant "acme" defined twice`},
		{"ErrInvalidOption", []config.Tenant{tenant("acme", "short-secret")}, `tenant "acme"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := app.Verifiers(tc.tenants)
			if tc.wantErr == "" {
				if err != nil || len(got) != len(tc.tenants) {
					t.Fatalf("Verifiers = %v, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "short-secret") {
				t.Fatalf("error %v, want %q without the secret", err, tc.wantErr)
			}
		})
	}
}
