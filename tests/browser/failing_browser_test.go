package browser_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/qys/qystest"
)

// platformSwitch is the fake's open API behind a proxy that can be
// stopped: stopped, it drops every connection unanswered (the platform
// unreachable).
type platformSwitch struct {
	down atomic.Bool
	srv  *httptest.Server
}

func newPlatformSwitch(t *testing.T, target string) *platformSwitch {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &platformSwitch{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// readyz reads the callback listener's /readyz.
func (s *stack) readyz(t *testing.T) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(s.receiver + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	_ = json.Unmarshal(b, &v)
	return resp.StatusCode, v
}

// TestBrowserOutage reproduces "all zeros during an outage": with the
// platform unreachable and four callbacks redelivering, the overview
// showed lag 0 and no dead letter, /readyz said ready with nothing more.
// Now the overview counts them as retrying, names the failing cause and
// says degraded within seconds, /readyz stays ready (the receiver still
// takes callbacks) with a "degraded" detail, and all of it clears once
// the platform answers again.
func TestBrowserOutage(t *testing.T) {
	ctx := browser(t)
	var sw *platformSwitch
	s := startStackWith(t, stackOptions{platform: func(fake string) string {
		sw = newPlatformSwitch(t, fake)
		return sw.srv.URL
	}})
	base := s.admin
	sw.down.Store(true)
	var ids []string
	for i := 0; i < 4; i++ {
		id := s.fake.AddContract(qystest.ContractSpec{Subject: "停机期间的合同", Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantPersonal, TenantName: "张三", Contact: "13812345678"}}})
		ids = append(ids, id)
		if err := s.fake.Send(id); err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.fake.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	login(t, ctx, base, bOperator)
	// Within 10 s of the callbacks: retrying counted, cause named, degraded.
	get(t, ctx, "the failing cause on the overview", chromedp.Poll[bool](
		`!document.querySelector('#ov-degraded').hidden && document.querySelectorAll('.failing-row').length > 0 && Number(document.querySelector('#ov-retrying').textContent) >= 4`,
		chromedp.WithPollingTimeout(10*time.Second)))
	t.Logf("the overview showed the outage %v after the callbacks were stored", time.Since(started).Round(100*time.Millisecond))
	if deg := text(t, ctx, "#ov-degraded"); !strings.Contains(deg, "platform API failing for") {
		t.Errorf("degraded banner %q", deg)
	}
	row := text(t, ctx, ".failing-row")
	if !strings.Contains(row, "default") || !strings.Contains(row, "api_error") || !strings.Contains(row, "cannot be reached") {
		t.Errorf("failing cause row %q: want the tenant, api_error and the unreachable hint", row)
	}
	if dl := text(t, ctx, "#ov-dlq"); dl != "0" {
		t.Errorf("dead letters %q during the outage, want 0 (still retrying)", dl)
	}
	var ov adminapi.Overview
	s.apiGet(t, "/overview", &ov)
	if ov.Unacked == nil || *ov.Unacked < 4 || ov.Degraded == "" || len(ov.Failing) == 0 || !ov.Failing[0].Platform {
		t.Errorf("overview during the outage: unacked %v, degraded %q, failing %+v", ov.Unacked, ov.Degraded, ov.Failing)
	}
	status, body := s.readyz(t)
	details, _ := body["details"].(map[string]any)
	if status != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(toString(details["degraded"])), "platform API failing for") {
		t.Errorf("/readyz during the outage: %d %v; want 200 with a degraded detail", status, body)
	}
	if m := s.metric(t, "qyshook_platform_api_failing_seconds"); m <= 0 {
		t.Errorf("qyshook_platform_api_failing_seconds = %v during the outage", m)
	}
	shot(t, ctx, "overview-outage")

	// The platform answers again: the events apply, the signal clears.
	sw.down.Store(false)
	waitFor(t, "the four contracts applied", func() bool {
		for _, id := range ids {
			if s.apiGet(t, "/contracts/default/"+id, nil) != http.StatusOK {
				return false
			}
		}
		return true
	})
	poll(t, ctx, `document.querySelector('#ov-degraded').hidden && document.querySelectorAll('.failing-row').length === 0`)
	if status, body := s.readyz(t); status != http.StatusOK || body["details"] != nil && body["details"].(map[string]any)["degraded"] != nil {
		t.Errorf("/readyz after the outage: %d %v", status, body)
	}
	if m := s.metric(t, "qyshook_platform_api_failing_seconds"); m != 0 {
		t.Errorf("qyshook_platform_api_failing_seconds = %v after the outage", m)
	}
}

func toString(v any) string { s, _ := v.(string); return s }

// metric reads one unlabelled gauge from the callback listener's /metrics
// (-1 when absent).
func (s *stack) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get(s.receiver + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if err := json.Unmarshal([]byte(strings.TrimSpace(v)), &f); err == nil {
				return f
			}
		}
	}
	return -1
}
