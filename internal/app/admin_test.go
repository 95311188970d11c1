package app_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/qys/qystest"
)

const (
	adminOperatorToken = "operator-token-0123456789"
	adminViewerToken   = "viewer-token-0123456789ab"
)

func adminGet(t *testing.T, addr, token, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1"+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return resp.StatusCode, body
}

func TestOpenAdmin(t *testing.T) {
	env := natstest.New(t)
	cfg := load(t, env, map[string]string{
		"QYSHOOK_ADMIN_ADDR": "127.0.0.1:0", "QYSHOOK_ADMIN_TOKEN": adminOperatorToken,
		"QYSHOOK_ADMIN_VIEWER_TOKEN": adminViewerToken,
	})
	svc, err := app.Open(context.Background(), cfg, zerolog.Nop(), app.Parts{NATS: true, Ledger: true})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	adm, err := svc.OpenAdmin(nil)
	if err != nil || adm == nil {
		t.Fatalf("OpenAdmin = %v, %v", adm, err)
	}
	defer adm.Shutdown(context.Background())
	if st, body := adminGet(t, adm.Addr(), "", "/contracts"); st != http.StatusUnauthorized || body["error"] == nil {
		t.Errorf("no token: %d %v", st, body)
	}
	for _, tok := range []string{adminOperatorToken, adminViewerToken} {
		if st, body := adminGet(t, adm.Addr(), tok, "/contracts"); st != http.StatusOK || body["items"] == nil {
			t.Errorf("contracts: %d %v", st, body)
		}
		if st, body := adminGet(t, adm.Addr(), tok, "/streams"); st != http.StatusOK || len(body["items"].([]any)) != 3 {
			t.Errorf("streams: %d %v", st, body)
		}
	}
	if err := adm.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
}

func TestOpenAdminOff(t *testing.T) {
	env := natstest.New(t)
	for _, tc := range []struct {
		name   string
		extra  map[string]string
		ledger bool
	}{
		{"NoToken", map[string]string{"QYSHOOK_ADMIN_ADDR": "127.0.0.1:0"}, true},
		{"AddrOff", map[string]string{"QYSHOOK_ADMIN_ADDR": "off", "QYSHOOK_ADMIN_TOKEN": adminOperatorToken}, true},
		{"NoLedger", map[string]string{"QYSHOOK_ADMIN_ADDR": "127.0.0.1:0", "QYSHOOK_ADMIN_TOKEN": adminOperatorToken}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, err := app.Open(context.Background(), load(t, env, tc.extra), zerolog.Nop(), app.Parts{NATS: true, Ledger: tc.ledger})
			if err != nil {
				t.Fatal(err)
			}
			defer svc.Close()
			adm, err := svc.OpenAdmin(nil)
			if err != nil || adm != nil {
				t.Fatalf("OpenAdmin = %v, %v; want off", adm, err)
			}
			if err := adm.Shutdown(context.Background()); err != nil {
				t.Errorf("Shutdown of an off admin API = %v", err)
			}
		})
	}
}

// TestRunOpensAdmin: Run starts the admin listener with the ledger's
// roles, so a taken admin address stops start-up with one clear error.
func TestRunOpensAdmin(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := load(t, natstest.New(t), map[string]string{
		"QYSHOOK_ADMIN_ADDR": taken.Addr().String(), "QYSHOOK_ADMIN_TOKEN": adminOperatorToken,
	})
	err = app.Run(context.Background(), cfg, zerolog.Nop(), app.Roles{Receiver: true, Dispatcher: true}, app.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "admin: listen "+taken.Addr().String()) {
		t.Fatalf("Run = %v, want the admin listen error", err)
	}
}

func adminPost(t *testing.T, addr, token, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return resp.StatusCode, out
}

// TestOpenAdminWrites: the served API writes through the process's NATS
// and ledger (audit table), and runs reconcile passes with the tenants'
// API credentials; without credentials POST /reconcile is a 503.
func TestOpenAdminWrites(t *testing.T) {
	for _, withAPI := range []bool{false, true} {
		env := natstest.New(t)
		vars := map[string]string{"QYSHOOK_ADMIN_ADDR": "127.0.0.1:0", "QYSHOOK_ADMIN_TOKEN": adminOperatorToken}
		if withAPI {
			fake := qystest.NewServer()
			t.Cleanup(fake.Close)
			vars["QYSHOOK_QYS_BASE_URL"], vars["QYSHOOK_QYS_APP_TOKEN"], vars["QYSHOOK_QYS_APP_SECRET"] = fake.URL, fake.AppToken, fake.AppSecret
		}
		cfg := load(t, env, vars)
		svc, err := app.Open(context.Background(), cfg, zerolog.Nop(), app.Parts{NATS: true, Ledger: true})
		if err != nil {
			t.Fatal(err)
		}
		adm, err := svc.OpenAdmin(nil)
		if err != nil || adm == nil {
			t.Fatalf("OpenAdmin = %v, %v", adm, err)
		}
		if st, body := adminPost(t, adm.Addr(), adminOperatorToken, "/replays", `{"selector":{}}`); st != http.StatusBadRequest {
			t.Errorf("bare replay: %d %v", st, body)
		}
		if st, body := adminPost(t, adm.Addr(), adminOperatorToken, "/replays", `{"selector":{"from_seq":1},"dry_run":true}`); st != http.StatusOK ||
			body["confirm"] == "" {
			t.Errorf("dry run: %d %v", st, body)
		}
		st, body := adminPost(t, adm.Addr(), adminOperatorToken, "/reconcile", ``)
		if want := map[bool]int{false: http.StatusServiceUnavailable, true: http.StatusAccepted}[withAPI]; st != want {
			t.Errorf("reconcile with API credentials %v: %d %v, want %d", withAPI, st, body, want)
		}
		if err := adm.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
		svc.Close()
	}
}

// TestOpenAdminCapsConnections: the admin listener has its own cap
// (QYSHOOK_MAX_CONNS): with 16, a seventeenth connection held at once is
// answered 503, and the refusal is counted with listener="admin".
func TestOpenAdminCapsConnections(t *testing.T) {
	env := natstest.New(t)
	cfg := load(t, env, map[string]string{
		"QYSHOOK_ADMIN_ADDR": "127.0.0.1:0", "QYSHOOK_ADMIN_TOKEN": adminOperatorToken, "QYSHOOK_MAX_CONNS": "16",
	})
	svc, err := app.Open(context.Background(), cfg, zerolog.Nop(), app.Parts{NATS: true, Ledger: true})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	reg := prometheus.NewRegistry()
	adm, err := svc.OpenAdmin(reg)
	if err != nil || adm == nil {
		t.Fatalf("OpenAdmin = %v, %v", adm, err)
	}
	defer adm.Shutdown(context.Background())
	conns := openIdle(t, adm.Addr(), 17)
	held, refused := 0, 0
	for _, c := range conns {
		switch c.status {
		case http.StatusServiceUnavailable:
			refused++
		case 0:
			t.Fatal("a connection was closed without an answer")
		default:
			held++ // the console's answer to GET /healthz, whatever it is
		}
	}
	if held != 16 || refused != 1 {
		t.Fatalf("17 connections: %d held, %d refused; want 16 and 1", held, refused)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fams {
		if f.GetName() != "qyshook_http_connections_refused_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "listener" && l.GetValue() == "admin" && m.GetCounter().GetValue() == 1 {
					found = true
				}
			}
		}
	}
	if !found {
		t.Error(`qyshook_http_connections_refused_total{listener="admin"} is not 1`)
	}
}
