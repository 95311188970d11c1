package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/store"
)

// demoMarker marks a data dir as the demo's, so a later run may wipe it.
const demoMarker = ".qyshook-demo"

const demoUsage = `[-data-dir ./data-demo] [-serve [-admin-addr 127.0.0.1:8082]] [-clean] [-verbose] [-json] [-timeout 60s]

Runs receiver, dispatcher, embedded JetStream and SQLite in one process; a
fake 契约锁 sends callbacks (duplicated, out of order) for contracts signed,
rejected, recalled and voided, and two certifications. Once the ledger,
confirmed through the fake open API, matches 契约锁, it prints the ledger
and where the signed PDFs are, and stops; with -serve it keeps running with
the admin API and the web console until interrupted (Ctrl-C), so
QYSHOOK_DATA_DIR=./data-demo qyshook contracts list and the console work.

The data dir is kept so you can look at the PDFs; a later demo run wipes it
first (only a dir the demo made, or an empty one); -clean removes it on exit.
Nothing of your QYSHOOK_* environment is used.`

func runDemo(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "demo", demoUsage)
	dataDir := fs.String("data-dir", "./data-demo", "where the ledger, the NATS store and the PDFs go")
	clean := fs.Bool("clean", false, "remove the data dir on exit")
	verbose := fs.Bool("verbose", false, "log at info level (default warn)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for the ledger to catch up")
	serve := fs.Bool("serve", false, "keep running after the story with the admin API and the web console, until interrupted")
	adminAddr := fs.String("admin-addr", config.DefaultAdminAddr, "with -serve: the admin API and console's address")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *serve && *asJSON {
		return usageErr("-serve and -json exclude each other")
	}
	dir, err := prepareDemoDir(*dataDir)
	if err != nil {
		return err
	}
	if *clean {
		defer os.RemoveAll(dir)
	}
	fake := qystest.NewServer()
	defer fake.Close()
	caPath, err := fake.WriteCACertificate(dir)
	if err != nil {
		return err
	}
	secret := rand.Text()[:config.SecretLen]
	getenv := demoEnv(dir, secret, fake, *verbose)
	if *serve {
		// The admin API with an operator token in the data dir, where the
		// CLI finds it (as serve's generated one).
		token := rand.Text()
		if err := os.WriteFile(filepath.Join(dir, DevAdminTokenFile), []byte(token), 0o600); err != nil {
			return err
		}
		base := getenv
		getenv = func(k string) string {
			switch k {
			case config.Prefix + "ADMIN_ADDR":
				return *adminAddr
			case config.Prefix + "ADMIN_TOKEN":
				return token
			}
			return base(k)
		}
	}
	cfg, err := config.Load(getenv,
		config.WithNeeds(config.NeedCallbackSecrets|config.NeedQYSCredentials))
	if err != nil {
		return err
	}
	log := logger(env, cfg.LogLevel, "qyshook-demo")

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	ready, done, adminAt := make(chan string, 1), make(chan error, 1), make(chan string, 1)
	go func() {
		done <- app.Run(runCtx, cfg, log, app.Roles{Receiver: true, Dispatcher: true},
			app.RunOptions{OnReady: func(addr string) { ready <- addr }, OnAdmin: func(addr string) { adminAt <- addr },
				ShutdownTimeout: 5 * time.Second})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		if *serve {
			return fmt.Errorf("start: %w (with -serve the console listens on -admin-addr %s: choose another)", err, *adminAddr)
		}
		return fmt.Errorf("start: %w", err)
	}
	sum, playErr := playDemo(ctx, cfg, log, fake, addr, *timeout)
	if *serve && playErr == nil {
		sum.DataDir, sum.CACertificate = dir, caPath
		select {
		case sum.AdminURL = <-adminAt:
			sum.AdminURL = "http://" + sum.AdminURL
		default:
		}
		sum.Serving = true
		if err := sum.print(env.Stdout, *clean); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
		case err := <-done:
			return fmt.Errorf("qyshook stopped: %w", err)
		}
	}
	fake.Close()
	stop()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		err = errors.New("qyshook did not stop within 30 s")
	}
	if playErr != nil {
		return playErr
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if *serve {
		return nil
	}
	sum.DataDir, sum.CACertificate = dir, caPath
	if *asJSON {
		return printJSON(env.Stdout, sum)
	}
	return sum.print(env.Stdout, *clean)
}

// prepareDemoDir makes dir absolute, wipes an earlier demo's files and
// marks it as the demo's.
func prepareDemoDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", usageErr("-data-dir: %v", err)
	}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist) || err == nil && len(entries) == 0:
	case err != nil:
		return "", usageErr("-data-dir: %v", err)
	case statOK(filepath.Join(abs, demoMarker)):
		if err := os.RemoveAll(abs); err != nil {
			return "", fmt.Errorf("wipe the previous demo: %w", err)
		}
	default:
		return "", usageErr("%s holds files the demo did not make; choose another -data-dir", dir)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	return abs, os.WriteFile(filepath.Join(abs, demoMarker), []byte("made by qyshook demo; the next demo run wipes this dir\n"), 0o600)
}

func statOK(p string) bool { _, err := os.Stat(p); return err == nil }

// demoEnv is the whole configuration of the demo: the user's QYSHOOK_*
// variables are ignored so that it always runs the same.
func demoEnv(dir, secret string, fake *qystest.Server, verbose bool) func(string) string {
	level := "warn"
	if verbose {
		level = "info"
	}
	vars := map[string]string{
		"HTTP_ADDR": "127.0.0.1:0", "DATA_DIR": dir, "CALLBACK_SECRET": secret, "NATS_URL": "",
		"QYS_BASE_URL": fake.URL, "QYS_APP_TOKEN": fake.AppToken, "QYS_APP_SECRET": fake.AppSecret,
		"RECONCILE_INTERVAL": "0", "LOG_LEVEL": level, "QYS_VERIFY_ONLINE": "true",
		"TSA_URLS": fake.TSAURL(), "LOG_CHECKPOINT_INTERVAL": "1s", "LOG_ORIGIN": "demo.qyshook.local/log",
		"EVIDENCE_INTERVAL": "1s",
	}
	return func(k string) string { return vars[strings.TrimPrefix(k, config.Prefix)] }
}

// demoStory is one contract the demo plays.
type demoStory struct {
	id, story string
	archived  bool // documents must be archived (it was COMPLETE)
}

// playDemo plays the lifecycles against the running qyshook at addr and
// waits until its ledger matches the fake.
func playDemo(ctx context.Context, cfg *config.Config, log zerolog.Logger, fake *qystest.Server, addr string,
	timeout time.Duration) (*demoSummary, error) {
	svc, err := app.Open(ctx, cfg, log, app.Parts{Ledger: true})
	if err != nil {
		return nil, err
	}
	defer svc.Close()
	base := "http://" + addr + "/callbacks/" + config.DefaultTenant
	fake.SetCallbackTarget(qystest.CallbackTarget{ContractURL: base + "/contract",
		PersonalAuthURL: base + "/auth/personal", CompanyAuthURL: base + "/auth/company",
		Sender: qys.SenderConfig{Format: qys.FormatA, Secret: cfg.Tenants[0].Secrets[0].Reveal(), Encrypt: true}})
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w := &demoWaiter{fake: fake, ledger: svc.Ledger, dataDir: cfg.DataDir, certs: []string{"demo-company-1", "demo-person-1"}}

	company := qystest.SignatorySpec{TenantType: qystest.TenantCompany, TenantName: "示例科技有限公司"}
	person := func(name string) qystest.SignatorySpec {
		return qystest.SignatorySpec{TenantType: qystest.TenantPersonal, TenantName: name, Contact: "13800000000"}
	}
	add := func(subject string, docs []qystest.DocumentSpec, sg ...qystest.SignatorySpec) string {
		return fake.AddContract(qystest.ContractSpec{Subject: subject, TenantName: company.TenantName,
			BizID: "demo-" + subject, Signatories: sg, Documents: docs})
	}
	fake.DuplicateCallbacks(1) // 契约锁 retries: every callback arrives twice
	signed := add("采购合同", []qystest.DocumentSpec{{Title: "采购合同正文"}, {Title: "附件一 报价单"}}, company, person("张三"))
	voided := add("服务合同", []qystest.DocumentSpec{{Title: "服务合同正文"}}, company, person("赵六"))
	fake.Reorder(qystest.ReorderReverse) // these arrive newest first
	rejected := add("租赁合同", nil, person("李四"))
	recalled := add("借款合同", nil, person("王五"))
	err = errors.Join(fake.Send(rejected), fake.Reject(rejected, 0), fake.Send(recalled), fake.Recall(recalled))
	fake.Reorder(qystest.ReorderOff)
	reordered := fake.Flush()
	err = errors.Join(err, fake.Send(signed), fake.Sign(signed, 0), fake.Sign(signed, 1),
		fake.Send(voided), fake.Sign(voided, 0), fake.Sign(voided, 1))
	fake.CompleteCompanyAuth(w.certs[0], company.TenantName, true)
	fake.CompletePersonalAuth(w.certs[1], "FACE", "1")
	w.stories = []demoStory{
		{signed, "a company and a person sign: COMPLETE, PDFs archived", true},
		{rejected, "the person refuses (callbacks out of order)", false},
		{recalled, "the sponsor recalls it (callbacks out of order)", false},
		{voided, "signed and archived, then voided", true},
	}
	if err != nil {
		return nil, fmt.Errorf("play: %w", err)
	}
	if err := w.wait(ctx); err != nil {
		return nil, err
	}
	if err := fake.Invalidate(voided); err != nil {
		return nil, fmt.Errorf("play: %w", err)
	}
	if err := w.wait(ctx); err != nil {
		return nil, err
	}
	sum, err := w.summarize(ctx, reordered)
	if err != nil {
		return nil, err
	}
	if sum.Checkpoint, err = demoAnchor(ctx, svc, fake); err != nil {
		return nil, err
	}
	if sum.Evidence, err = waitBundles(ctx, svc.Ledger, w.stories); err != nil {
		return nil, err
	}
	if sum.Checkpoint != nil && len(sum.Evidence) > 0 {
		sum.Checkpoint.KeyFile = filepath.Join(cfg.DataDir, "log", "checkpoint.key.pub")
	}
	return sum, nil
}

// demoAnchor writes the fake authority's root into the data dir and
// waits for a verified, anchored checkpoint of the whole receipt log.
func demoAnchor(ctx context.Context, svc *app.Services, fake *qystest.Server) (*demoCheckpoint, error) {
	if _, ok := svc.Ledger.(app.LogHeader); !ok {
		return nil, nil // no receipt log: no key to make, nothing to anchor
	}
	keys, err := svc.Keyring()
	if err != nil {
		return nil, err
	}
	rootPath := filepath.Join(svc.Cfg.DataDir, "tsa-root.pem")
	if err := os.WriteFile(rootPath, fake.TSA().RootPEM(), 0o644); err != nil {
		return nil, fmt.Errorf("write the authority's root: %w", err)
	}
	c, err := waitAnchored(ctx, svc.Ledger, keys.Verifier(), fake.TSA().Roots())
	if c != nil {
		c.RootPEM = rootPath
	}
	return c, err
}

// demoWaiter compares the ledger with the fake.
type demoWaiter struct {
	fake    *qystest.Server
	ledger  store.Ledger
	dataDir string
	stories []demoStory
	certs   []string
}

// wait waits for the callbacks to be delivered and the ledger to match
// the fake; on timeout the error lists what is missing.
func (w *demoWaiter) wait(ctx context.Context) error {
	if err := w.fake.WaitIdle(ctx); err != nil {
		return fmt.Errorf("callbacks not delivered in time: %w", err)
	}
	for {
		missing := w.missing(ctx)
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the ledger did not catch up in time: %s", strings.Join(missing, "; "))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (w *demoWaiter) missing(ctx context.Context) []string {
	var out []string
	for _, s := range w.stories {
		want, _ := w.fake.Contract(s.id)
		got, err := w.ledger.Contract(ctx, config.DefaultTenant, s.id)
		if err != nil {
			out = append(out, fmt.Sprintf("contract %s: %v", s.id, err))
			continue
		}
		if got.Status != want.Status || !got.Confirmed {
			out = append(out, fmt.Sprintf("contract %s: ledger %s (confirmed %t), 契约锁 %s", s.id, got.Status, got.Confirmed, want.Status))
		}
		archived := 0
		for _, d := range got.Documents {
			archived += min(len(d.SHA256), 1)
		}
		// The ledger's rows include the operation log (<id>.oplog).
		if s.archived && (archived < len(want.Documents) || archived < len(got.Documents)) {
			out = append(out, fmt.Sprintf("contract %s: %d of %d documents archived", s.id, archived, len(got.Documents)))
		}
	}
	for _, id := range w.certs {
		c, err := w.ledger.Certification(ctx, config.DefaultTenant, id)
		switch {
		case err != nil:
			out = append(out, fmt.Sprintf("certification %s: %v", id, err))
		case !c.Confirmed:
			out = append(out, fmt.Sprintf("certification %s: not confirmed through the API", id))
		}
	}
	return out
}

// demoSummary is what the demo prints.
type demoSummary struct {
	DataDir string `json:"data_dir"`
	// CACertificate is the PEM file of the fake's signing CA, which the
	// archived PDFs chain to (for pdfsig and other validators).
	CACertificate  string          `json:"ca_certificate"`
	Contracts      []demoContract  `json:"contracts"`
	Certifications []demoCert      `json:"certifications"`
	Callbacks      demoCallbackSum `json:"callbacks"`
	// Serving: the demo keeps running (-serve) with its admin API at
	// AdminURL.
	Serving  bool   `json:"-"`
	AdminURL string `json:"-"`
	// Checkpoint is the receipt log's anchored checkpoint, verified (null
	// when the ledger keeps no receipt log).
	Checkpoint *demoCheckpoint `json:"checkpoint"`
	// Evidence lists the evidence bundle of each contract that ended.
	Evidence []demoBundle `json:"evidence"`
}

type demoContract struct {
	ID          string          `json:"id"`
	Subject     string          `json:"subject"`
	Story       string          `json:"story"`
	Status      string          `json:"status"`
	Confirmed   bool            `json:"confirmed"`
	Events      int             `json:"events"`
	Signatories []demoSignatory `json:"signatories"`
	Documents   []demoDocument  `json:"documents"`
}

type demoSignatory struct {
	Name   string `json:"name"`
	Type   string `json:"type"` // COMPANY or PERSONAL
	Status string `json:"status"`
}

type demoDocument struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Path   string `json:"path"` // absolute
	// Verdict of the signature check when it was archived (valid,
	// invalid, no-signatures; "" for files that are not PDFs).
	Verdict    string `json:"verdict,omitempty"`
	Signatures int    `json:"signatures"`
	Problem    string `json:"problem,omitempty"`
	// Revocation is the worst revocation status in the verification
	// material archived beside a PDF ("" when none).
	Revocation string `json:"revocation,omitempty"`
	// Discrepancies is the cross-source check: a JSON array, "[]" when the
	// PDF agrees with the contract's API detail, "" when not compared.
	Discrepancies string `json:"discrepancies,omitempty"`
}

type demoCert struct {
	Kind      string `json:"kind"`
	RequestID string `json:"request_id"`
	Status    string `json:"status"`
	Success   bool   `json:"success"`
	Mode      string `json:"mode,omitempty"`
	// Confirmed: the status came from the certification-result API.
	Confirmed bool `json:"confirmed"`
	// Reason: why it is unconfirmed (no_api, not_found,
	// unrecognized_result).
	Reason string `json:"reason,omitempty"`
	State  string `json:"state"`
}

type demoCallbackSum struct {
	Callbacks  int `json:"callbacks"`  // logical callbacks 契约锁 sent
	Deliveries int `json:"deliveries"` // HTTP attempts
	Duplicates int `json:"duplicates"` // extra copies, collapsed by Nats-Msg-Id
	Reordered  int `json:"reordered"`  // delivered newest first
	Refused    int `json:"refused"`    // attempts the receiver did not accept
	Events     int `json:"events"`     // contract events the ledger applied
}

func (w *demoWaiter) summarize(ctx context.Context, reordered int) (*demoSummary, error) {
	sum := &demoSummary{Callbacks: demoCallbackSum{Reordered: reordered}}
	for _, s := range w.stories {
		c, err := w.ledger.Contract(ctx, config.DefaultTenant, s.id)
		if err != nil {
			return nil, err
		}
		evs, err := w.ledger.Events(ctx, config.DefaultTenant, s.id)
		if err != nil {
			return nil, err
		}
		dc := demoContract{ID: c.ID, Subject: c.Subject, Story: s.story, Status: c.Status, Confirmed: c.Confirmed,
			Events: len(evs), Documents: []demoDocument{}}
		for _, x := range c.Signatories {
			dc.Signatories = append(dc.Signatories, demoSignatory{Name: x.TenantName, Type: x.TenantType, Status: x.Status})
		}
		for _, d := range c.Documents {
			if d.SHA256 != "" {
				dc.Documents = append(dc.Documents, demoDocument{ID: d.ID, Title: d.Title, Size: d.Size,
					SHA256: d.SHA256, Path: filepath.Join(w.dataDir, filepath.FromSlash(d.Path)),
					Verdict: d.VerifyVerdict, Signatures: d.VerifySignatures, Problem: d.VerifyProblem,
					Revocation: d.ValidationStatus, Discrepancies: d.Discrepancies})
			}
		}
		sum.Contracts = append(sum.Contracts, dc)
		sum.Callbacks.Events += len(evs)
	}
	for _, id := range w.certs {
		c, err := w.ledger.Certification(ctx, config.DefaultTenant, id)
		if err != nil {
			return nil, err
		}
		sum.Certifications = append(sum.Certifications, demoCert{Kind: c.Kind, RequestID: c.RequestID,
			Status: c.Status, Success: c.Success, Mode: c.Mode, Confirmed: c.Confirmed,
			State: c.CertState(), Reason: c.Reason})
	}
	logical := map[int]bool{}
	for _, d := range w.fake.Deliveries() {
		logical[d.Callback] = true
		sum.Callbacks.Deliveries++
		if d.Copy > 0 && d.Attempt == 1 {
			sum.Callbacks.Duplicates++
		}
		if !d.OK {
			sum.Callbacks.Refused++
		}
	}
	sum.Callbacks.Callbacks = len(logical)
	return sum, nil
}

func (s *demoSummary) print(w io.Writer, cleaned bool) error {
	fmt.Fprintln(w, "qyshook demo: receiver, dispatcher, embedded JetStream and SQLite in one process, fed by a fake 契约锁")
	fmt.Fprintln(w, "\nCONTRACTS (status confirmed through the open API, never moved backwards)")
	t := newTable(w, "ID", "STATUS", "CONFIRMED", "EVENTS", "STORY", "SUBJECT: SIGNATORIES")
	for _, c := range s.Contracts {
		var sg []string
		for _, x := range c.Signatories {
			sg = append(sg, fmt.Sprintf("%s (%s, %s)", x.Name, strings.ToLower(x.Type), x.Status))
		}
		t.row(c.ID, c.Status, demoYes(c.Confirmed), c.Events, c.Story, c.Subject+": "+strings.Join(sg, ", "))
	}
	_ = t.flush()
	fmt.Fprintf(w, "\nDOCUMENTS (signed PDFs and operation logs, under %s; each PDF's signatures verified when archived, "+
		"offline and through /v2/verify, with the OCSP/CRL answers kept beside them, and compared with the API's detail)\n", s.DataDir)
	t = newTable(w, "CONTRACT", "DOCUMENT", "SIZE", "SHA256", "PATH", "SIGNATURES", "REVOCATION", "CROSS-CHECK", "TITLE")
	for _, c := range s.Contracts {
		for _, d := range c.Documents {
			verdict := "-"
			if d.Verdict != "" {
				verdict = fmt.Sprintf("%s (%d)", d.Verdict, d.Signatures)
			}
			revocation, cross := "-", "-"
			if d.Revocation != "" {
				revocation = d.Revocation
			}
			switch d.Discrepancies {
			case "":
			case "[]":
				cross = "agrees"
			default:
				cross = "DISCREPANCY " + d.Discrepancies
			}
			t.row(c.ID, d.ID, d.Size, d.SHA256, d.Path, verdict, revocation, cross, d.Title)
		}
	}
	_ = t.flush()
	if !cleaned {
		fmt.Fprintf(w, "The PDFs' signatures chain to the fake's CA, written to %s: trust it to check them outside qyshook,\n", s.CACertificate)
		fmt.Fprintf(w, "  e.g. certutil -N -d sql:nss --empty-password && certutil -A -d sql:nss -n qystest -t CT,C,C -i %s\n", s.CACertificate)
		fmt.Fprintln(w, "       pdfsig -nssdir sql:nss -no-ocsp FILE.pdf   (-no-ocsp: the fake answers OCSP only while the demo runs)")
	}
	fmt.Fprintln(w, "\nCERTIFICATIONS (confirmed through /companyauth/result and /v2/personalauth/result, not taken on the callback's word)")
	t = newTable(w, "KIND", "REQUEST", "STATE", "ANSWERED", "SUCCESS", "CONFIRMED", "MODE")
	for _, c := range s.Certifications {
		confirmed := demoYes(c.Confirmed)
		if !c.Confirmed && c.Reason != "" {
			confirmed = "no (" + c.Reason + ")"
		}
		t.row(c.Kind, c.RequestID, c.State, c.Status, demoYes(c.Success), confirmed, c.Mode)
	}
	_ = t.flush()
	cb := s.Callbacks
	fmt.Fprintf(w, "\nCALLBACKS: 契约锁 sent %d, in %d deliveries: %d duplicate copies collapsed (Nats-Msg-Id), "+
		"%d delivered newest first, %d refused; the ledger applied %d contract events.\n",
		cb.Callbacks, cb.Deliveries, cb.Duplicates, cb.Reordered, cb.Refused, cb.Events)
	s.Checkpoint.print(w)
	s.printEvidence(w, cleaned)
	fmt.Fprintln(w, "\nNext:")
	switch {
	case s.Serving:
		// Printed while the service runs: each command works as printed.
		admin := ""
		if s.AdminURL != DefaultAdminURL {
			admin = "QYSHOOK_ADMIN_URL=" + s.AdminURL + " "
		}
		fmt.Fprintf(w, "  the demo keeps running (Ctrl-C stops it); in another shell:\n")
		fmt.Fprintf(w, "  browse this run:  QYSHOOK_DATA_DIR=%s %sqyshook contracts list\n", s.DataDir, admin)
		fmt.Fprintf(w, "  web console:      %s/console/  (sign in with the token in %s)\n", s.AdminURL,
			filepath.Join(s.DataDir, DevAdminTokenFile))
	case !cleaned:
		fmt.Fprintln(w, "  browse a run:     qyshook demo -serve   (keeps the service, its admin API and console up after the story)")
	}
	fmt.Fprintln(w, "  develop locally:  qyshook sim   (a standalone fake 契约锁; it prints the settings for serve)")
	fmt.Fprintln(w, "  run it for real:  QYSHOOK_CALLBACK_SECRET=<16 chars from 契约锁> QYSHOOK_QYS_APP_TOKEN=… \\")
	fmt.Fprintln(w, "                    QYSHOOK_QYS_APP_SECRET=… qyshook serve   (契约锁 calls POST /callbacks/default/contract)")
	return nil
}

func demoYes(b bool) string { return map[bool]string{true: "yes", false: "no"}[b] }
