package browser_test

// Browser tests of the console: headless Chromium driven by chromedp
// against a serve-like process (app.Run: receiver, dispatcher, archiver,
// admin listener) with the fake 契约锁 (qystest) behind it.
//
//	go test ./tests/browser                                          # needs chromium
//	go test ./tests/browser -args -screenshots=$PWD/docs/console     # from the repository root
//
// It is a module of its own (tests/browser/go.mod, with the main module
// replaced by ../..) so chromedp stays out of qyshook's module graph; the
// go.work at the repository root lets the go command run it from there.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

var screenshots = flag.String("screenshots", "", "directory to save PNG screenshots of the console's pages into (docs/console)")

const (
	bOperator = "operator-token-0123456789"
	bViewer   = "viewer-token-0123456789ab"
	bSecret   = "0123456789abcdef"
)

// chromium finds the browser, or "".
func chromium() string {
	if p := os.Getenv("QYSHOOK_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// stack is a running serve with the fake platform behind it.
type stack struct {
	fake      *qystest.Server
	admin     string // http://host:port of the admin listener
	receiver  string // http://host:port of the callback listener
	nats      *natstest.Env
	contracts map[string]string // name → contract id
	// deadLetters are the ids of the seeded dead letters: lateContract's,
	// then unknownContract's.
	deadLetters []int64
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startStack(t *testing.T) *stack { t.Helper(); return startStackWith(t, stackOptions{}) }

// stackOptions vary the stack.
type stackOptions struct {
	// platform, when set, wraps the fake's URL: the open API is called at
	// the URL it returns (a switchable proxy).
	platform func(fakeURL string) string
	// vars override the environment.
	vars map[string]string
}

func startStackWith(t *testing.T, o stackOptions) *stack {
	t.Helper()
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	apiURL := fake.URL
	if o.platform != nil {
		apiURL = o.platform(fake.URL)
	}
	env := natstest.New(t)
	adminAddr := freeAddr(t)
	s := natstest.TestStreamSettings()
	vars := map[string]string{
		"QYSHOOK_HTTP_ADDR": "127.0.0.1:0", "QYSHOOK_DATA_DIR": t.TempDir(), "QYSHOOK_CALLBACK_SECRET": bSecret,
		"QYSHOOK_RECONCILE_INTERVAL": "0",
		"QYSHOOK_NATS_URL":           env.URL, "QYSHOOK_NATS_NAMESPACE": env.Names.Namespace,
		"QYSHOOK_STREAM_MAX_BYTES": strconv.FormatInt(s.MaxBytes, 10), "QYSHOOK_STREAM_MAX_AGE": s.MaxAge.String(),
		"QYSHOOK_DUPLICATE_WINDOW": s.DuplicateWindow.String(),
		"QYSHOOK_QYS_BASE_URL":     apiURL, "QYSHOOK_QYS_APP_TOKEN": fake.AppToken, "QYSHOOK_QYS_APP_SECRET": fake.AppSecret,
		"QYSHOOK_ADMIN_ADDR": adminAddr, "QYSHOOK_ADMIN_TOKEN": bOperator, "QYSHOOK_ADMIN_VIEWER_TOKEN": bViewer,
	}
	for k, v := range o.vars {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- app.Run(ctx, cfg, zerolog.Nop(), app.Roles{Receiver: true, Dispatcher: true},
			app.RunOptions{OnReady: func(a string) { ready <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("app.Run: %v", err)
		}
	})
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("app.Run: %v", err)
	}
	cb := "http://" + addr + "/callbacks/default"
	fake.SetCallbackTarget(qystest.CallbackTarget{ContractURL: cb + "/contract",
		PersonalAuthURL: cb + "/auth/personal", CompanyAuthURL: cb + "/auth/company",
		Sender: qys.SenderConfig{Format: qys.FormatA, Secret: bSecret, Encrypt: true}})
	return &stack{fake: fake, admin: "http://" + adminAddr, receiver: "http://" + addr, nats: env, contracts: map[string]string{}}
}

// apiGet reads the admin API with the operator token into out, an
// adminapi type (fields the type lacks are refused).
func (s *stack) apiGet(t *testing.T, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.admin+adminapi.Prefix+path, nil)
	req.Header.Set("Authorization", "Bearer "+bOperator)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		dec := json.NewDecoder(resp.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(out); err != nil {
			t.Errorf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// waitFor polls cond until it holds or the test's guard runs out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: gave up", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seed plays two contracts on the fake: a lease signed by both parties
// (COMPLETE, documents archived) and an NDA sent for signing; and puts one
// undecodable message on the callbacks stream, which the dispatcher
// dead-letters.
func (s *stack) seed(t *testing.T) {
	t.Helper()
	lease := s.fake.AddContract(qystest.ContractSpec{Subject: "房屋租赁合同 2026-001", BizID: "LEASE-001", TenantName: "上海某某科技有限公司",
		Signatories: []qystest.SignatorySpec{
			{TenantType: qystest.TenantPersonal, TenantName: "张三", Contact: "13812345678"},
			{TenantType: qystest.TenantCompany, TenantName: "上海某某科技有限公司", Contact: "13900001111"}}})
	nda := s.fake.AddContract(qystest.ContractSpec{Subject: "Mutual NDA", BizID: "NDA-7", TenantName: "上海某某科技有限公司",
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "李四", Contact: "13700002222"}}})
	s.contracts["lease"], s.contracts["nda"] = lease, nda
	for _, step := range []error{s.fake.Send(lease), s.fake.Sign(lease, 0), s.fake.Sign(lease, 1), s.fake.Send(nda)} {
		if step != nil {
			t.Fatal(step)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.fake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lease COMPLETE with its documents archived", func() bool {
		var c adminapi.ContractDetail
		if s.apiGet(t, "/contracts/default/"+lease, &c) != http.StatusOK || c.Status != "COMPLETE" || len(c.Documents) == 0 {
			return false
		}
		for _, d := range c.Documents {
			if d.SHA256 == "" {
				return false
			}
		}
		return true
	})
	s.fake.CompleteCompanyAuth("req-company-1", "上海某某科技有限公司", true)
	waitFor(t, "the company certification", func() bool {
		var p adminapi.Page[adminapi.Certification]
		return s.apiGet(t, "/certifications?tenant=default", &p) == http.StatusOK && len(p.Items) == 1
	})
	// A forged certification: a plain, unsigned direct-mode personal
	// callback claiming success (status 1) for an id the platform does not
	// know. It is accepted (the documented default) and recorded
	// unconfirmed (not_found).
	resp, err := http.PostForm(s.receiver+"/callbacks/default/auth/personal",
		url.Values{"authId": {forgedCertification}, "mode": {"FACE"}, "status": {"1"}, "name": {"赵六"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("forged certification callback: %d", resp.StatusCode)
	}
	waitFor(t, "the forged certification, unconfirmed", func() bool {
		var p adminapi.Page[adminapi.Certification]
		return s.apiGet(t, "/certifications?tenant=default&confirmed=false", &p) == http.StatusOK && len(p.Items) == 1 &&
			p.Items[0].RequestID == forgedCertification && p.Items[0].Reason == "not_found"
	})
	waitFor(t, "the NDA in the ledger", func() bool { return s.apiGet(t, "/contracts/default/"+nda, nil) == http.StatusOK })
	// Signed callbacks for contracts the platform does not know (yet): the
	// dispatcher dead-letters them (contract_not_found).
	for _, id := range []string{lateContract, unknownContract} {
		out, err := qys.BuildCallback(qys.SenderConfig{Format: qys.FormatA, Secret: bSecret, Encrypt: true},
			[]byte(`{"contractId":"`+id+`","callbackType":"SEND_SIGNING","contractStatus":"SIGNING"}`), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(s.receiver+"/callbacks/default/contract", out.ContentType, bytes.NewReader(out.Body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var p adminapi.Page[adminapi.DeadLetter]
		waitFor(t, "the dead letter of "+id, func() bool {
			return s.apiGet(t, "/dead-letters", &p) == http.StatusOK && len(p.Items) == 1+len(s.deadLetters)
		})
		s.deadLetters = append(s.deadLetters, p.Items[len(p.Items)-1].ID)
	}
	// The platform now knows it: a retry applies it.
	s.fake.AddContract(qystest.ContractSpec{ID: lateContract, Subject: "补充协议", Status: "SIGNING",
		Signatories: []qystest.SignatorySpec{{TenantType: qystest.TenantPersonal, TenantName: "王五", Contact: "13600003333"}}})
}

// lateContract reaches qyshook before the platform answers for it;
// unknownContract never exists on the platform; forgedCertification is a
// certification the platform never heard of.
const (
	forgedCertification = "forged-auth-1"

	lateContract    = "9000000000000000001"
	unknownContract = "9000000000000000002"
)

// browser starts headless Chromium with the flags this machine needs.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium()
	if path == "" {
		t.Skip("no chromium found (install the Debian package chromium, or set QYSHOOK_TEST_CHROMIUM): browser tests skipped")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1360, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("lang", "en-US"),
		chromedp.Flag("accept-lang", "en-US,en"),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	// The first run starts the browser; it lives as long as bctx.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	ctx, cancelT := context.WithTimeout(bctx, 4*time.Minute) // a guard, not an assertion
	t.Cleanup(cancelT)
	return ctx
}

type void = chromedp.Action[chromedp.Void]

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

func do(t *testing.T, ctx context.Context, what string, steps ...void) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return get(t, ctx, "text of "+sel, chromedp.Text(css(sel)))
}

func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	return get(t, ctx, name+" of "+sel, chromedp.AttributeValue(css(sel), name)).Value
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	return get(t, ctx, expr, chromedp.Evaluate[T](expr))
}

func poll(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	get(t, ctx, "waiting for "+expr, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(60*time.Second)))
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if *screenshots == "" {
		return
	}
	do(t, ctx, "settle", chromedp.Sleep(300*time.Millisecond))
	png := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*screenshots, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// flashText waits for the page's message line and returns it and its class.
func flashText(t *testing.T, ctx context.Context) (string, string) {
	t.Helper()
	do(t, ctx, "flash", chromedp.WaitVisible(css("#flash")))
	return text(t, ctx, "#flash"), attr(t, ctx, "#flash", "class")
}

func login(t *testing.T, ctx context.Context, base, token string) {
	t.Helper()
	do(t, ctx, "login as "+token[:8], chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), token), chromedp.Click(css("#login-submit")), chromedp.WaitVisible(css("#ov-lag")))
}

func TestBrowserConsole(t *testing.T) {
	ctx := browser(t)
	s := startStack(t)
	s.seed(t)
	base := s.admin
	lease := s.contracts["lease"]

	t.Run("Login", func(t *testing.T) {
		do(t, ctx, "a page without a session", chromedp.Navigate(base+"/console/contracts"), chromedp.WaitVisible(css("#token")))
		if loc := get(t, ctx, "location", chromedp.Location()); !strings.HasSuffix(loc, "/console/login?next=%2Fconsole%2Fcontracts") {
			t.Fatalf("without a session the console is at %s, want the login page (returning to the contracts)", loc)
		}
		shot(t, ctx, "login")
		do(t, ctx, "wrong token", chromedp.SendKeys(css("#token"), "not-a-valid-token-xyz"), chromedp.Click(css("#login-submit")),
			chromedp.WaitVisible(css("#login-error")))
		if e := text(t, ctx, "#login-error"); !strings.Contains(e, "not accepted") {
			t.Errorf("wrong token: %q", e)
		}
		login(t, ctx, base, bOperator)
		poll(t, ctx, `document.querySelector('#ov-lag').textContent !== '…' && document.querySelectorAll('#ov-tenants tbody tr').length > 0`)
		if role := text(t, ctx, "#role"); role != "operator" {
			t.Errorf("role shown %q", role)
		}
		if tenants := text(t, ctx, "#ov-tenants tbody"); !strings.Contains(tenants, "default") || !strings.Contains(tenants, "complete") {
			t.Errorf("per-tenant table %q", tenants)
		}
		shot(t, ctx, "overview")
	})

	t.Run("Search", func(t *testing.T) {
		do(t, ctx, "contracts", chromedp.Navigate(base+"/console/contracts"), chromedp.WaitVisible(css(".contract-row")))
		if rows := eval[int](t, ctx, `document.querySelectorAll('.contract-row').length`); rows != 2 {
			t.Errorf("all contracts: %d rows, want 2", rows)
		}
		do(t, ctx, "type", chromedp.SendKeys(css("#f-subject"), "租赁"))
		// The form's submit navigates; RunResponse waits for the new page.
		if resp, err := chromedp.RunResponse(ctx, chromedp.Click(css("#search-submit"))); err != nil || resp.Status != http.StatusOK {
			t.Fatalf("search: %v", err)
		}
		if loc := get(t, ctx, "location", chromedp.Location()); !strings.Contains(loc, "subject=") {
			t.Fatalf("after the search the page is %s", loc)
		}
		do(t, ctx, "results", chromedp.WaitVisible(css(".contract-row")))
		rows := eval[int](t, ctx, `document.querySelectorAll('.contract-row').length`)
		if body := text(t, ctx, "#contracts tbody"); rows != 1 || !strings.Contains(body, lease) || !strings.Contains(body, "complete") {
			t.Errorf("search 租赁: %d rows %q, want the lease alone", rows, body)
		}
		if v := get(t, ctx, "subject field", chromedp.Value(css("#f-subject"))); v != "租赁" {
			t.Errorf("subject field after the search = %q", v)
		}
		shot(t, ctx, "contracts")
	})

	t.Run("Timeline", func(t *testing.T) {
		do(t, ctx, "open the contract", chromedp.Click(css("a.contract-link")), chromedp.WaitVisible(css(".doc-row a.download")),
			chromedp.WaitVisible(css(".tl-fact")))
		kinds := eval[[]string](t, ctx, `[...document.querySelectorAll('#timeline li')].map(li => li.className.replace('tl tl-',''))`)
		joined := strings.Join(kinds, ",")
		for _, want := range []string{"callback", "change", "fact", "document"} {
			if !strings.Contains(joined, want) {
				t.Errorf("timeline %v has no %s entry", kinds, want)
			}
		}
		if strings.Index(joined, "callback") > strings.Index(joined, "document") {
			t.Errorf("timeline %v: a document before the first callback", kinds)
		}
		sha, href, head := text(t, ctx, ".doc-row .sha"), attr(t, ctx, ".doc-row a.download", "href"), text(t, ctx, "#contract-head")
		if len(sha) != 64 || !strings.Contains(head, "房屋租赁合同") {
			t.Errorf("sha %q, head %q", sha, head)
		}
		// The signature check of the archived PDF has its own column, its
		// text from the message table (a missing key shows as "!key").
		if v := text(t, ctx, ".doc-row td:nth-child(5)"); v == "" || strings.HasPrefix(v, "!") {
			t.Errorf("verification cell %q", v)
		}
		shot(t, ctx, "contract")
		// The link downloads the archived file; its hash is the one shown.
		req, _ := http.NewRequest(http.MethodGet, base+href, nil)
		req.Header.Set("Authorization", "Bearer "+bOperator)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		sum := sha256.Sum256(body)
		if resp.StatusCode != http.StatusOK || hex.EncodeToString(sum[:]) != sha {
			t.Errorf("download %s: %d, sha256 %x, want %s", href, resp.StatusCode, sum, sha)
		}
	})

	t.Run("Certifications", func(t *testing.T) {
		do(t, ctx, "certifications", chromedp.Navigate(base+"/console/certifications"), chromedp.WaitVisible(css("#certifications tbody tr td")))
		if rows := text(t, ctx, "#certifications tbody"); !strings.Contains(rows, "req-company-1") || !strings.Contains(rows, "上海某某科技有限公司") {
			t.Errorf("certifications %q", rows)
		}
		// Each row's state cell: the state word and who said it.
		cells := eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('.cert-row')].map(r => [r.dataset.id, r.cells[4].textContent]))`)
		if c := cells[forgedCertification]; c != "certified unconfirmed (not_found)" {
			t.Errorf("forged certification's state cell %q, want %q", c, "certified unconfirmed (not_found)")
		}
		if c := cells["req-company-1"]; c != "certified confirmed" {
			t.Errorf("confirmed certification's state cell %q, want %q", c, "certified confirmed")
		}
		// The two badges look different: not the same colours.
		styles := eval[[]string](t, ctx, `[...document.querySelectorAll('.cert-unconfirmed, .cert-confirmed')].map(b => {
			const s = getComputedStyle(b); return b.className + '|' + s.backgroundColor + '|' + s.color + '|' + s.borderStyle; })`)
		if len(styles) != 2 || strings.SplitN(styles[0], "|", 2)[1] == strings.SplitN(styles[1], "|", 2)[1] {
			t.Errorf("badges %v: the unconfirmed one must look unlike the confirmed one", styles)
		}
		shot(t, ctx, "certifications")
		// The filter: unconfirmed only, through the form.
		do(t, ctx, "choose unconfirmed", chromedp.SetValue(css("#c-confirmed"), "false"))
		if resp, err := chromedp.RunResponse(ctx, chromedp.Click(css("#cert-submit"))); err != nil || resp.Status != http.StatusOK {
			t.Fatalf("filter: %v", err)
		}
		do(t, ctx, "filtered rows", chromedp.WaitVisible(css(".cert-row")))
		ids := eval[[]string](t, ctx, `[...document.querySelectorAll('.cert-row')].map(r => r.dataset.id)`)
		if len(ids) != 1 || ids[0] != forgedCertification {
			t.Errorf("unconfirmed only: rows %v, want the forged one alone", ids)
		}
		if v := get(t, ctx, "filter field", chromedp.Value(css("#c-confirmed"))); v != "false" {
			t.Errorf("filter field after the search = %q", v)
		}
		do(t, ctx, "confirmed only", chromedp.Navigate(base+"/console/certifications?tenant=default&confirmed=true"), chromedp.WaitVisible(css(".cert-row")))
		if ids := eval[[]string](t, ctx, `[...document.querySelectorAll('.cert-row')].map(r => r.dataset.id)`); len(ids) != 1 || ids[0] != "req-company-1" {
			t.Errorf("confirmed only: rows %v, want req-company-1 alone", ids)
		}
		// The certification's page.
		do(t, ctx, "the forged certification's page", chromedp.Navigate(base+"/console/certifications/default/"+forgedCertification),
			chromedp.WaitVisible(css("#cert-state .cert-unconfirmed")))
		if st, conf := text(t, ctx, "#cert-state"), text(t, ctx, "#cert-confirmed"); st != "certified unconfirmed (not_found)" ||
			!strings.Contains(conf, "does not know") {
			t.Errorf("certification page: state %q, confirmation %q", st, conf)
		}
		shot(t, ctx, "certification-unconfirmed")
		// The overview counts it.
		do(t, ctx, "overview", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(css("#ov-certs")))
		poll(t, ctx, `document.querySelector('#ov-certs').textContent === '1'`)
		if sub := text(t, ctx, "#ov-certs-sub"); !strings.HasPrefix(sub, "1 ") {
			t.Errorf("overview: pending %q, want 1 (the forged one is polled)", sub)
		}
		// The receipt log's card: the last anchored checkpoint's age, or
		// never (a ledger without a receipt log signs none).
		poll(t, ctx, `document.querySelector('#ov-checkpoint').textContent !== '…'`)
		if v := text(t, ctx, "#ov-checkpoint"); v != "never" && !strings.HasSuffix(v, " ago") {
			t.Errorf("overview: last anchored checkpoint %q, want its age or never", v)
		}
	})

	t.Run("Live", func(t *testing.T) {
		do(t, ctx, "live page", chromedp.Navigate(base+"/console/live"))
		poll(t, ctx, `document.querySelector('#live-state').className === 'ok'`)
		if err := s.fake.Sign(s.contracts["nda"], 0); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "events arrive", chromedp.WaitVisible(css(".live-row.ev-callback")), chromedp.WaitVisible(css(".live-row.ev-fact")))
		if rows := text(t, ctx, "#live tbody"); !strings.Contains(rows, s.contracts["nda"]) {
			t.Errorf("live rows %q do not name the NDA", rows)
		}
		shot(t, ctx, "live")
	})

	t.Run("Volume", func(t *testing.T) { testVolume(t, ctx, s) })

	t.Run("DeadLetterIssues", func(t *testing.T) {
		// Before: one row per dead letter, the same reason repeated, no
		// contract, no payload. Now: one issue per cause with a count.
		do(t, ctx, "dead letters", chromedp.Navigate(base+"/console/dead-letters"), chromedp.WaitVisible(css(".issue")))
		if n := eval[int](t, ctx, `document.querySelectorAll('.issue').length`); n != 1 {
			t.Fatalf("%d issues for two dead letters of one cause, want 1", n)
		}
		if c, hint := text(t, ctx, ".issue .issue-count"), text(t, ctx, ".issue .fix-hint"); c != "2" || !strings.Contains(hint, "does not know the contract") {
			t.Errorf("issue count %q, hint %q", c, hint)
		}
		if links := eval[[]string](t, ctx, `[...document.querySelectorAll('.issue-contracts a')].map(a => a.textContent)`); len(links) != 2 {
			t.Errorf("issue contracts %v, want both", links)
		}
		row := fmt.Sprintf(`.dl-row[data-id="%d"]`, s.deadLetters[0])
		if href := attr(t, ctx, row+" a.dl-contract", "href"); !strings.HasSuffix(href, "/console/contracts/default/"+lateContract) {
			t.Errorf("dead letter's contract link %q", href)
		}
		do(t, ctx, "details", chromedp.Click(css(row+" .details")), chromedp.WaitVisible(css(".dl-detail .dl-payload")))
		if p := text(t, ctx, ".dl-detail .dl-payload"); !strings.Contains(p, lateContract) || !strings.Contains(p, `"contract_id"`) {
			t.Errorf("payload %q", p)
		}
		if h := text(t, ctx, ".dl-detail .dl-history"); !strings.Contains(h, "dead-lettered after") || !strings.Contains(h, "received") {
			t.Errorf("delivery history %q", h)
		}
		shot(t, ctx, "dead-letters")
	})

	t.Run("DeadLetterRetry", func(t *testing.T) {
		do(t, ctx, "dead letters", chromedp.Navigate(base+"/console/dead-letters"), chromedp.WaitVisible(css(".dl-row")))
		if n := eval[int](t, ctx, `document.querySelectorAll('.dl-row').length`); n != 2 {
			t.Fatalf("%d dead letters listed, want 2", n)
		}
		id := fmt.Sprint(s.deadLetters[0])
		do(t, ctx, "retry", chromedp.Click(css(fmt.Sprintf(`.dl-row[data-id="%s"] .retry`, id))))
		msg, class := flashText(t, ctx)
		if !strings.Contains(class, "ok") || !strings.Contains(msg, "Republished 1 of 1") || strings.Contains(msg, "{") {
			t.Fatalf("retry: %q (%s)", msg, class)
		}
		poll(t, ctx, fmt.Sprintf(`!document.querySelector('.dl-row[data-id="%s"]')`, id))
		waitFor(t, "the retried callback applied", func() bool {
			var c adminapi.ContractDetail
			return s.apiGet(t, "/contracts/default/"+lateContract, &c) == http.StatusOK && c.Status == "SIGNING"
		})
	})

	t.Run("RetryGroupFailsAgain", func(t *testing.T) {
		// "Retry this group" counts first (a dry run), then retries; the
		// unknown contract fails again and comes back linked to its
		// predecessor (before: a new id, nothing linking the two).
		old := s.deadLetters[1]
		do(t, ctx, "dead letters", chromedp.Navigate(base+"/console/dead-letters"), chromedp.WaitVisible(css(".issue .retry-group")),
			chromedp.Click(css(".issue .retry-group")), chromedp.WaitVisible(css("#group-dialog")))
		if q := text(t, ctx, "#group-title"); !strings.Contains(q, "Retry 1 dead letters") {
			t.Errorf("group retry question %q, want the dry run's count", q)
		}
		do(t, ctx, "confirm", chromedp.Click(css("#group-confirm")))
		msg, class := flashText(t, ctx)
		if !strings.Contains(class, "ok") || !strings.Contains(msg, "Republished 1 of 1") || strings.Contains(msg, "{") || len(msg) > 200 {
			t.Fatalf("group retry flash: %q (%s)", msg, class)
		}
		// The page refreshes by itself until the new dead letter shows.
		get(t, ctx, "the new dead letter, linked", chromedp.Poll[bool](
			fmt.Sprintf(`[...document.querySelectorAll('.dl-row .retry-of')].some(b => b.textContent === 'retry of #%d')`, old),
			chromedp.WithPollingTimeout(60*time.Second)))
		var p adminapi.Page[adminapi.DeadLetter]
		s.apiGet(t, "/dead-letters", &p)
		if len(p.Items) != 1 || p.Items[0].RetryOf != old || p.Items[0].Retries != 1 || p.Items[0].FirstFailedAt == nil {
			t.Fatalf("after the group retry: %+v", p.Items)
		}
		s.deadLetters[1] = p.Items[0].ID
		shot(t, ctx, "dead-letter-retried-again")
	})

	t.Run("DeadLetterPurge", func(t *testing.T) {
		id := fmt.Sprint(s.deadLetters[1])
		row := fmt.Sprintf(`.dl-row[data-id="%s"]`, id)
		do(t, ctx, "dead letters", chromedp.Navigate(base+"/console/dead-letters"), chromedp.WaitVisible(css(row)),
			chromedp.Click(css(row+" .purge")), chromedp.WaitVisible(css("#purge-dialog")))
		// Without a reason the dialog stays open and nothing is sent.
		do(t, ctx, "purge without a reason", chromedp.Click(css("#purge-confirm")))
		if open := eval[bool](t, ctx, `document.querySelector('#purge-dialog').open`); !open {
			t.Fatal("the purge dialog closed without a reason")
		}
		shot(t, ctx, "dead-letter-purge")
		do(t, ctx, "purge with a reason", chromedp.SendKeys(css("#purge-reason"), "contract never existed on the platform"),
			chromedp.Click(css("#purge-confirm")))
		msg, class := flashText(t, ctx)
		if !strings.Contains(class, "ok") || !strings.Contains(msg, "1") {
			t.Fatalf("purge: %q (%s)", msg, class)
		}
		poll(t, ctx, fmt.Sprintf(`!document.querySelector('%s')`, row))
		var p adminapi.Page[adminapi.DeadLetter]
		if s.apiGet(t, "/dead-letters", &p); len(p.Items) != 0 {
			t.Errorf("%d dead letters left after the retry and the purge", len(p.Items))
		}
	})

	t.Run("Audit", func(t *testing.T) { testAudit(t, ctx, s) })
	t.Run("Narrow", func(t *testing.T) { testNarrow(t, ctx, s) })
	t.Run("SessionExpiry", func(t *testing.T) { testSessionExpiry(t, ctx, s) })

	t.Run("Replay", func(t *testing.T) {
		do(t, ctx, "replay page", chromedp.Navigate(base+"/console/replay"), chromedp.WaitVisible(css("#dry-run")),
			chromedp.SendKeys(css("#r-tenant"), "default"), chromedp.SendKeys(css("#r-contract"), lease))
		shot(t, ctx, "replay")
		do(t, ctx, "dry run", chromedp.Click(css("#dry-run")))
		poll(t, ctx, `!document.querySelector('#dry-result').hidden || !document.querySelector('#flash').hidden`)
		msg := eval[string](t, ctx, `document.querySelector('#flash').hidden ? '' : document.querySelector('#flash').textContent`)
		if msg != "" {
			t.Fatalf("dry run: %q", msg)
		}
		selected := text(t, ctx, "#dry-selected")
		byType := eval[int](t, ctx, `document.querySelectorAll('#dry-by-type tbody tr').length`)
		if n, _ := strconv.Atoi(selected); n < 1 || byType < 1 {
			t.Fatalf("dry run selected %q with %d types, want the lease's callbacks", selected, byType)
		}
		shot(t, ctx, "replay-dry-run")
		do(t, ctx, "confirm", chromedp.Click(css("#confirm-replay")))
		if msg, class := flashText(t, ctx); !strings.Contains(class, "ok") {
			t.Fatalf("confirm: %q", msg)
		}
		do(t, ctx, "the job is listed", chromedp.WaitVisible(css(".job-row")))
		// The replayed events sit on the timeline at their applied time,
		// after the originals (before: at the original's received time).
		waitFor(t, "the replayed events applied", func() bool {
			var c adminapi.ContractDetail
			s.apiGet(t, "/contracts/default/"+lease, &c)
			for _, e := range c.Events {
				if e.Source == "replay" {
					return true
				}
			}
			return false
		})
		do(t, ctx, "the lease's timeline", chromedp.Navigate(base+"/console/contracts/default/"+lease), chromedp.WaitVisible(css(".tl-replay")))
		kinds := eval[[]string](t, ctx, `[...document.querySelectorAll('#timeline li')].map(li => li.className.replace('tl tl-',''))`)
		firstReplay, lastCallback := -1, -1
		for i, k := range kinds {
			if k == "replay" && firstReplay < 0 {
				firstReplay = i
			}
			if k == "callback" {
				lastCallback = i
			}
		}
		if firstReplay < lastCallback {
			t.Errorf("timeline %v: a replay before the last original callback", kinds)
		}
	})

	t.Run("Charts", func(t *testing.T) {
		// A callback with a wrong signature: refused.
		resp, err := http.Post(s.receiver+"/callbacks/default/contract", "application/json", strings.NewReader(`{"sign":"forged"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("a forged callback answered %d", resp.StatusCode)
		}
		// The metrics are sampled every 10 s: wait for the callbacks of
		// the seed to be counted, then read the charts.
		waitFor(t, "the activity figures", func() bool {
			var a adminapi.Activity
			if s.apiGet(t, "/activity", &a) != http.StatusOK {
				return false
			}
			have := map[string]bool{}
			for _, se := range a.Series {
				for _, p := range se.Points {
					if p > 0 {
						have[se.Name] = true
					}
				}
			}
			return have["received"] && have["applied"] && have["dead_lettered"] && have["refused"]
		})
		do(t, ctx, "overview", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(css(`figure.chart[data-series="received"] svg path`)))
		totals := eval[map[string]float64](t, ctx, `Object.fromEntries([...document.querySelectorAll('figure.chart')].map(f => [f.dataset.series, Number(f.dataset.total)]))`)
		for _, name := range []string{"received", "applied", "refused", "dead_lettered"} {
			if totals[name] <= 0 {
				t.Errorf("chart %s: total %v, want the seed's", name, totals[name])
			}
		}
		if len(totals) != 6 {
			t.Errorf("charts %v, want six", totals)
		}
		do(t, ctx, "a day", chromedp.Click(css("#chart-24h")), chromedp.WaitVisible(css("#chart-24h:not(.secondary)")))
		shot(t, ctx, "overview")
	})

	t.Run("ChineseAndViewer", func(t *testing.T) {
		do(t, ctx, "switch to Chinese", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(css("#lang-zh")),
			chromedp.Click(css("#lang-zh")), chromedp.WaitVisible(css("#ov-lag")))
		if title := text(t, ctx, "h1"); title != "概览" {
			t.Errorf("title after the switch = %q, want 概览", title)
		}
		poll(t, ctx, `document.querySelector('#ov-lag').textContent !== '…' && document.querySelectorAll('#ov-tenants tbody tr').length > 0`)
		// Statuses in Chinese (before: COMPLETE, SIGNING left in English).
		if tenants := text(t, ctx, "#ov-tenants tbody"); !strings.Contains(tenants, "已完成") || strings.Contains(tenants, "COMPLETE") {
			t.Errorf("per-tenant statuses in Chinese: %q", tenants)
		}
		shot(t, ctx, "overview-zh")
		// One contract: the status once, as a word; types and sources in
		// Chinese on the timeline; no untranslated key anywhere.
		do(t, ctx, "the lease in Chinese", chromedp.Navigate(base+"/console/contracts/default/"+lease), chromedp.WaitVisible(css(".tl-callback")))
		if st := text(t, ctx, "#contract-status"); st != "已完成" {
			t.Errorf("contract status %q, want 已完成 once", st)
		}
		if tl := text(t, ctx, "#timeline"); !strings.Contains(tl, "来源 回调") || strings.Contains(tl, "SEND_SIGNING") {
			t.Errorf("timeline in Chinese: %q", tl)
		}
		for _, p := range []string{"/console/contracts/default/" + lease, "/console/dead-letters", "/console/contracts", "/console/audit", "/console/"} {
			do(t, ctx, p, chromedp.Navigate(base+p), chromedp.Sleep(500*time.Millisecond))
			if keys := eval[[]string](t, ctx, `document.body.innerText.match(/![a-z_-]+\.[a-z_.-]+/g) || []`); len(keys) > 0 {
				t.Errorf("%s in Chinese shows untranslated keys %v", p, keys)
			}
		}
		do(t, ctx, "certifications in Chinese", chromedp.Navigate(base+"/console/certifications?tenant=default&confirmed=false"),
			chromedp.WaitVisible(css(".cert-row")))
		if c := text(t, ctx, ".cert-row .cert-state"); c != "认证成功 未确认 (not_found)" {
			t.Errorf("forged certification in Chinese: %q, want %q", c, "认证成功 未确认 (not_found)")
		}
		do(t, ctx, "logout", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#token")))
		login(t, ctx, base, bViewer)
		do(t, ctx, "viewer timeline", chromedp.Navigate(base+"/console/contracts/default/"+lease), chromedp.WaitVisible(css(".doc-row")),
			chromedp.WaitVisible(css("#signatories tbody tr")))
		names := text(t, ctx, "#signatories tbody")
		links := eval[int](t, ctx, `document.querySelectorAll('a.download').length`)
		if strings.Contains(names, "张三") || !strings.Contains(names, "张*") || links != 0 {
			t.Errorf("viewer sees signatories %q and %d download links; want masked names, no links", names, links)
		}
		shot(t, ctx, "contract-viewer-zh")
	})
}
