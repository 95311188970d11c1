package cli

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/qys/qystest"
)

const defaultSimAddr = "127.0.0.1:9090"

// simLogLimit bounds the requests and delivery attempts a long-running sim
// keeps (GET /_sim/deliveries shows the last ones), so its memory stays
// flat over a million calls.
const simLogLimit = 10_000

const simUsage = `[-addr 127.0.0.1:9090] [-callback-base http://127.0.0.1:8080/callbacks/default] [-secret S] [-format A|B] [-plain] [-time-scale 1] [-id-seed N] [-auth-shape saas|direct] [-data-dir ./data]
       qyshook sim trigger <scenario> [-sim http://127.0.0.1:9090] [-contract ID] [-json]

The sim serves the 契约锁 open API (contract detail, list, downloads) with
header-signature checks, and sends signed (and encrypted) callbacks to
<callback-base>/contract, /auth/personal and /auth/company for the
lifecycles you trigger. It prints the settings to give qyshook serve.
It writes the certificate of the CA that signs its PDFs to
<data-dir>/qystest-ca.pem (a new CA each run) so that pdfsig and other
validators can be told to trust it.
Control API (no auth; keep it on loopback): POST /_sim/trigger/{scenario},
GET /_sim/contracts, GET /_sim/deliveries, POST /_sim/tsa?fault=down|500|hang|none
(the sim's RFC 3161 time-stamping authority, served at /tsa; its root
certificate: GET /_sim/tsa/root.pem).

Scenarios: ` + "create, send, sign, complete, reject, recall, expire, void, auth-company, auth-personal"

func runSim(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == "trigger" {
		return runSimTrigger(ctx, env, args[1:])
	}
	fs := newFlags(env, "sim", simUsage)
	addr := fs.String("addr", defaultSimAddr, "address to serve the fake open API and the control API on")
	base := fs.String("callback-base", "http://127.0.0.1:8080/callbacks/"+config.DefaultTenant,
		"receiver URL prefix: callbacks go to <base>/contract, <base>/auth/personal, <base>/auth/company")
	secret := fs.String("secret", "", "callback secret, 16 characters (default $QYSHOOK_CALLBACK_SECRET, else generated)")
	format := fs.String("format", "A", "callback format: A (public cloud) or B (private cloud)")
	plain := fs.Bool("plain", false, "format A: send plain form fields instead of encrypted content")
	token := fs.String("token", "", "format B callback token (default $QYSHOOK_CALLBACK_TOKEN, else generated)")
	scale := fs.Float64("time-scale", 1, "multiplies 契约锁's retry schedule (5 min, 2 h …); 0.001 retries quickly")
	appToken := fs.String("app-token", "", "open-API app token to accept (default $QYSHOOK_QYS_APP_TOKEN, else generated)")
	appSecret := fs.String("app-secret", "", "open-API app secret (default $QYSHOOK_QYS_APP_SECRET, else generated)")
	authShape := fs.String("auth-shape", "", "format A certification callbacks: \"\" (the fake's own), saas (numbers, as real SaaS traffic) or direct (plain unsigned form fields)")
	dataDir := fs.String("data-dir", "", "where to write the fake's signing CA certificate (default $QYSHOOK_DATA_DIR, else ./data)")
	idSeed := fs.String("id-seed", "", "fix the contract/document ids to this seed (a number); default: different ids each run")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q (did you mean: qyshook sim trigger %s?)", fs.Arg(0), fs.Arg(0))
	}
	sender, err := simSender(env, *format, *secret, *token, *plain)
	if err != nil {
		return err
	}
	shape := qystest.AuthShape(strings.ToLower(*authShape))
	if !slices.Contains(qystest.AuthShapes, shape) {
		return usageErr("-auth-shape: want saas or direct (or empty), got %q", *authShape)
	}
	if *scale < 0 {
		return usageErr("-time-scale must not be negative")
	}
	opts := []qystest.Option{qystest.WithTimeScale(*scale), qystest.WithControlAPI(), qystest.WithLogLimit(simLogLimit)}
	if *idSeed != "" {
		n, err := strconv.ParseUint(*idSeed, 10, 64)
		if err != nil {
			return usageErr("-id-seed: want a non-negative number, got %q", *idSeed)
		}
		opts = append(opts, qystest.WithIDSeed(n))
	}
	tok, sec := orEnv(env, *appToken, "QYS_APP_TOKEN"), orEnv(env, *appSecret, "QYS_APP_SECRET")
	if tok != "" || sec != "" {
		if tok == "" || sec == "" {
			return usageErr("give both the app token and the app secret, or neither")
		}
		opts = append(opts, qystest.WithCredentials(tok, sec))
	}
	fake, err := qystest.Listen(*addr, opts...)
	if err != nil {
		return err
	}
	defer fake.Close()
	dir := orEnv(env, *dataDir, "DATA_DIR")
	if dir == "" {
		dir = config.DefaultDataDir
	}
	caPath, err := fake.WriteCACertificate(dir)
	if err != nil {
		return err
	}
	b := strings.TrimRight(*base, "/")
	fake.SetCallbackTarget(qystest.CallbackTarget{ContractURL: b + "/contract",
		PersonalAuthURL: b + "/auth/personal", CompanyAuthURL: b + "/auth/company", Sender: sender, AuthShape: shape})
	printSimBanner(env.Stdout, fake, b, sender, caPath)
	watchDeliveries(ctx, env.Stdout, fake)
	fmt.Fprintln(env.Stdout, "sim stopped")
	return nil
}

// simSender validates the callback settings.
func simSender(env *Env, format, secret, token string, plain bool) (qys.SenderConfig, error) {
	s := qys.SenderConfig{Format: qys.Format(strings.ToUpper(format)), Secret: orEnv(env, secret, "CALLBACK_SECRET"),
		Encrypt: !plain}
	if s.Secret == "" {
		s.Secret = rand.Text()[:config.SecretLen]
	}
	switch s.Format {
	case qys.FormatA:
		if len(s.Secret) != config.SecretLen {
			return s, usageErr("the callback secret must be %d characters, got %d", config.SecretLen, len(s.Secret))
		}
	case qys.FormatB:
		if len(s.Secret) < config.SecretLen {
			return s, usageErr("the callback secret must be at least %d characters", config.SecretLen)
		}
		if s.Token = orEnv(env, token, "CALLBACK_TOKEN"); s.Token == "" {
			s.Token = rand.Text()
		}
	default:
		return s, usageErr("-format: want A or B, got %q", format)
	}
	return s, nil
}

func orEnv(env *Env, v, name string) string {
	if v != "" {
		return v
	}
	return strings.TrimSpace(env.Getenv(config.Prefix + name))
}

func printSimBanner(w io.Writer, fake *qystest.Server, base string, s qys.SenderConfig, caPath string) {
	mode := "encrypted"
	if !s.Encrypt && s.Format == qys.FormatA {
		mode = "plain"
	}
	fmt.Fprintf(w, "qyshook sim: fake 契约锁 on %s (control API under %s)\n", fake.URL, qystest.ControlPrefix)
	fmt.Fprintf(w, "callbacks (format %s, %s) go to %s/{contract,auth/personal,auth/company}\n\n", s.Format, mode, base)
	printCA(w, caPath)
	fmt.Fprintln(w, "Give qyshook serve:")
	fmt.Fprintf(w, "  export %sQYS_BASE_URL=%s\n", config.Prefix, fake.URL)
	fmt.Fprintf(w, "  export %sQYS_APP_TOKEN=%s\n", config.Prefix, fake.AppToken)
	fmt.Fprintf(w, "  export %sQYS_APP_SECRET=%s\n", config.Prefix, fake.AppSecret)
	fmt.Fprintf(w, "  export %sCALLBACK_SECRET=%s\n", config.Prefix, s.Secret)
	if s.Format == qys.FormatB {
		fmt.Fprintf(w, "  export %sCALLBACK_FORMAT=B\n  export %sCALLBACK_TOKEN=%s\n", config.Prefix, config.Prefix, s.Token)
	}
	if s.Format != qys.FormatB && !s.Encrypt {
		fmt.Fprintf(w, "  export %sACCEPT_CONTRACT=plain\n", config.Prefix)
	}
	fmt.Fprintf(w, "  export %sTSA_URLS=%s   # the sim's RFC 3161 authority (root: GET %stsa/root.pem)\n",
		config.Prefix, fake.TSAURL(), qystest.ControlPrefix)
	fmt.Fprintf(w, "\nThen: qyshook sim trigger complete -sim %s   (scenarios: %s)\n\n",
		fake.URL, strings.Join(qystest.Scenarios, ", "))
}

// printCA says where the fake's signing CA was written and how pdfsig
// trusts it.
func printCA(w io.Writer, path string) {
	fmt.Fprintf(w, "The signed PDFs chain to the fake's CA, written to %s. To check a PDF with pdfsig:\n", path)
	fmt.Fprintf(w, "  mkdir nss && certutil -N -d sql:nss --empty-password && certutil -A -d sql:nss -n qystest -t CT,C,C -i %s\n", path)
	fmt.Fprintln(w, "  pdfsig -nssdir sql:nss FILE.pdf")
	fmt.Fprintln(w)
}

// watchDeliveries prints each delivery attempt, without its payload, until
// ctx ends.
func watchDeliveries(ctx context.Context, w io.Writer, fake *qystest.Server) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for seen := 0; ; {
		stopped := false
		select {
		case <-ctx.Done():
			stopped = true
		case <-t.C:
		}
		ds, next := fake.DeliveriesFrom(seen)
		for _, d := range ds {
			fmt.Fprintf(w, "%s  callback %d %-13s %-20s copy %d attempt %d → %s\n", d.Time.Format("15:04:05"),
				d.Callback, d.CallbackType, d.ContractID, d.Copy, d.Attempt, deliveryOutcome(d))
		}
		if seen = next; stopped {
			return
		}
	}
}

func deliveryOutcome(d qystest.Delivery) string {
	switch {
	case d.Err != nil:
		return "error: " + d.Err.Error()
	case d.OK:
		return fmt.Sprintf("%d accepted", d.StatusCode)
	case d.GaveUp:
		return fmt.Sprintf("%d refused, gave up", d.StatusCode)
	}
	return fmt.Sprintf("%d refused, will retry", d.StatusCode)
}

func runSimTrigger(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "sim trigger", "<scenario> [-sim http://127.0.0.1:9090] [-contract ID] [-json]\n\nScenarios: "+
		strings.Join(qystest.Scenarios, ", "))
	simURL := fs.String("sim", "http://"+defaultSimAddr, "URL of the running qyshook sim")
	contract := fs.String("contract", "", "contract id to play on (default: a new contract); the request id for auth-*")
	wait := fs.Duration("wait", 5*time.Second, "how long to wait for the callbacks to be delivered")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("want one scenario: %s", strings.Join(qystest.Scenarios, ", "))
	}
	if !slices.Contains(qystest.Scenarios, pos[0]) {
		return usageErr("unknown scenario %q: want one of %s", pos[0], strings.Join(qystest.Scenarios, ", "))
	}
	res, err := postTrigger(ctx, strings.TrimRight(*simURL, "/"), pos[0], *contract, *wait)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, res)
	}
	switch {
	case res.ContractID != "":
		fmt.Fprintf(env.Stdout, "%s: contract %s is %s\n", res.Scenario, res.ContractID, res.Status)
	case res.RequestID != "":
		fmt.Fprintf(env.Stdout, "%s: certification %s\n", res.Scenario, res.RequestID)
	}
	t := newTable(env.Stdout, "CALLBACK", "TYPE", "KIND", "STATE", "HTTP", "ATTEMPTS", "ERROR")
	for _, c := range res.Callbacks {
		t.row(c.Callback, c.CallbackType, c.Kind, c.State, c.StatusCode, c.Attempts, c.Error)
	}
	return t.flush()
}

// parseInterleaved parses flags placed before, between or after the
// positional arguments, which it returns.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
}

func postTrigger(ctx context.Context, sim, scenario, contract string, wait time.Duration) (*qystest.TriggerResult, error) {
	q := url.Values{"wait": {wait.String()}}
	if contract != "" {
		q.Set("contract", contract)
	}
	ctx, cancel := context.WithTimeout(ctx, wait+15*time.Second)
	defer cancel()
	u := sim + qystest.ControlPrefix + "trigger/" + url.PathEscape(scenario) + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return nil, usageErr("-sim: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, unavailable(fmt.Errorf("sim at %s not reachable (is `qyshook sim` running?): %w", sim, errors.Unwrap(err)))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode == http.StatusOK {
		var res qystest.TriggerResult
		if err := json.Unmarshal(body, &res); err != nil {
			return nil, fmt.Errorf("%s does not answer like a qyshook sim: %w", sim, err)
		}
		return &res, nil
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return nil, fmt.Errorf("%s answered %s: is it a qyshook sim?", sim, resp.Status)
	}
	switch resp.StatusCode {
	case http.StatusBadRequest:
		return nil, usageErr("%s", e.Error)
	case http.StatusNotFound:
		return nil, notFound("%s", e.Error)
	}
	return nil, errors.New(e.Error)
}
