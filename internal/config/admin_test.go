package config_test

import (
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/config"
)

const adminToken = "operator-token-0123456789"

func TestLoadAdmin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    config.Admin // tokens compared by presence
		enabled bool
		err     string
	}{
		{name: "DefaultNoToken", want: config.Admin{Addr: "127.0.0.1:8082"}},
		{name: "DefaultWithToken", env: map[string]string{"QYSHOOK_ADMIN_TOKEN": adminToken},
			want: config.Admin{Addr: "127.0.0.1:8082", Token: "x"}, enabled: true},
		{name: "Off", env: map[string]string{"QYSHOOK_ADMIN_ADDR": "off", "QYSHOOK_ADMIN_TOKEN": adminToken},
			want: config.Admin{Token: "x"}},
		{name: "OffUpperCase", env: map[string]string{"QYSHOOK_ADMIN_ADDR": "OFF"}},
		{name: "IPv6Loopback", env: map[string]string{"QYSHOOK_ADMIN_ADDR": "[::1]:9000"}, want: config.Admin{Addr: "[::1]:9000"}},
		{name: "Localhost", env: map[string]string{"QYSHOOK_ADMIN_ADDR": "localhost:9000"}, want: config.Admin{Addr: "localhost:9000"}},
		{name: "ViewerOnly", env: map[string]string{"QYSHOOK_ADMIN_ADDR": "0.0.0.0:8082", "QYSHOOK_ADMIN_VIEWER_TOKEN": adminToken},
			want: config.Admin{Addr: "0.0.0.0:8082", ViewerToken: "x"}, enabled: true},
		{name: "ErrAllInterfacesNoToken", env: map[string]string{"QYSHOOK_ADMIN_ADDR": ":8082"},
			err: "QYSHOOK_ADMIN_ADDR: :8082 listens beyond loopback without a token"},
		{name: "ErrPublicIPNoToken", env: map[string]string{"QYSHOOK_ADMIN_ADDR": "10.0.0.5:8082"},
			err: "beyond loopback without a token"},
		{name: "ErrBadAddr", env: map[string]string{"QYSHOOK_ADMIN_ADDR": "8082"}, err: "QYSHOOK_ADMIN_ADDR: \"8082\" is not host:port"},
		{name: "ErrBadPort", env: map[string]string{"QYSHOOK_ADMIN_ADDR": "127.0.0.1:http"}, err: "is not host:port"},
		{name: "ErrShortToken", env: map[string]string{"QYSHOOK_ADMIN_TOKEN": "short"}, err: "QYSHOOK_ADMIN_TOKEN: shorter than 16"},
		{name: "ErrSameTokens", env: map[string]string{"QYSHOOK_ADMIN_TOKEN": adminToken, "QYSHOOK_ADMIN_VIEWER_TOKEN": adminToken},
			err: "QYSHOOK_ADMIN_VIEWER_TOKEN: same as QYSHOOK_ADMIN_TOKEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := baseline()
			for k, v := range tc.env {
				env[k] = v
			}
			c, err := config.Load(getenv(env))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), adminToken) {
					t.Errorf("error prints the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a := c.Admin
			if a.Addr != tc.want.Addr || (a.Token != "") != (tc.want.Token != "") ||
				(a.ViewerToken != "") != (tc.want.ViewerToken != "") || a.Enabled() != tc.enabled {
				t.Errorf("admin = %+v (enabled %v), want %+v (enabled %v)", a, a.Enabled(), tc.want, tc.enabled)
			}
			if strings.Contains(c.String(), adminToken) {
				t.Errorf("String() prints the token: %s", c.String())
			}
		})
	}
}
