package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qyshook/qyshook/confirm"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/qys"
)

// runDoctor checks what the service needs, from this shell's settings,
// without changing anything: the configuration, NATS and the stream
// settings, the ledger and its migrations (read-only), the open-API
// credentials and the clock. It prints one row per check and exits
// non-zero when any fails.
func runDoctor(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "doctor", doctorUsage)
	certID := fs.String("certification", "", "ask the platform's certification-result API about this request id (company) or auth id (personal) and print its raw answer and how qyshook reads it")
	kind := fs.String("kind", "", "with --certification: company or personal (default: ask both)")
	tenant := fs.String("tenant", config.DefaultTenant, "with --certification: the tenant whose API credentials to use")
	asJSON := fs.Bool("json", false, "with --certification: print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return opsUsage(fs, "doctor takes no arguments")
	}
	if *certID != "" {
		return doctorCertification(ctx, env, *certID, *kind, *tenant, *asJSON)
	}
	if *kind != "" || *asJSON {
		return opsUsage(fs, "--kind and --json go with --certification")
	}
	t := newTable(env.Stdout, "CHECK", "OK", "SEEN", "FIX")
	cfg, err := config.Load(serveGetenv(env.Getenv))
	if err != nil {
		t.row("configuration", "no", err.Error(), "set the variables named (README, Configuration)")
		_ = t.flush()
		return &ExitError{Code: ExitFailure, Err: errors.New("configuration refused")}
	}
	t.row("configuration", "yes", "loaded", "")
	failed := 0
	for _, f := range app.Doctor(ctx, cfg) {
		ok := "yes"
		if !f.OK {
			ok, failed = "no", failed+1
		}
		t.row(f.Check, ok, f.Seen, f.Fix)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if failed > 0 {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d check(s) failed", failed)}
	}
	return nil
}

// serveGetenv is the environment as serve reads it: with the development
// callback secret and admin token serve generates when none is set (read
// from the data dir, never written).
func serveGetenv(getenv func(string) string) func(string) string {
	g, _, _ := devSecret(getenv, false)
	g, _, _ = devAdminToken(g, false)
	return g
}

// doctorUsage is doctor's help.
const doctorUsage = `[--certification ID [--kind company|personal] [--tenant T] [--json]]

Checks, from this shell's QYSHOOK_* settings and read as serve reads them
(with the development secret and admin token serve generates when none
is set), without changing anything:
  configuration   every setting parses and validates
  data dir        QYSHOOK_DATA_DIR and the SQLite ledger are private (0700, 0600)
  nats, streams   NATS reachable and the three streams as serve provisions them
  ledger          the database answers and its schema is at the latest migration
  open API        each tenant's 契约锁 credentials are accepted (one signed call)
  clock           this machine's clock is within 30 s of the platform's
Prints one row per check with how to fix what is wrong; exits 1 when any
check fails. --certification asks the certification-result API about one
id and prints its raw answer beside qyshook's reading of it.`

// certAnswer is one certification-result call as doctor --certification
// prints it.
type certAnswer struct {
	Kind string `json:"kind"` // company or personal
	Path string `json:"path"`
	// Code and Message are the envelope's when the call failed.
	Code    int    `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
	// Answer is the result object as the platform sent it.
	Answer json.RawMessage `json:"answer,omitempty"`
	// Shape, State, NotFound and Reading say how qyshook reads it.
	Shape    string `json:"shape,omitempty"`
	State    string `json:"state,omitempty"`
	NotFound bool   `json:"not_found,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Reading  string `json:"reading"`
}

// doctorCertification asks the certification-result API about one id and
// prints the raw answer beside qyshook's reading of it, so an operator
// with sandbox access can check the mapping against the real platform
// (docs/evidence.md, "Certification results"). It exits 0 when every
// answer was read (a state, or not found), 1 when one was not recognised
// or a call failed.
func doctorCertification(ctx context.Context, env *Env, id, kind, tenant string, asJSON bool) error {
	kinds := []string{"company", "personal"}
	switch kind {
	case "":
	case "company", "personal":
		kinds = []string{kind}
	default:
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--kind %q: want company or personal", kind)}
	}
	cfg, err := config.Load(serveGetenv(env.Getenv))
	if err != nil {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("configuration refused: %w", err)}
	}
	apis, err := app.APIClients(cfg)
	if err != nil {
		return &ExitError{Code: ExitFailure, Err: err}
	}
	if !slices.ContainsFunc(cfg.Tenants, func(t config.Tenant) bool { return t.Name == tenant }) {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("no tenant %q in the configuration (--tenant)", tenant)}
	}
	api, ok := apis[tenant].(confirm.CertificationAPI)
	if !ok {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("tenant %q has no 契约锁 API credentials (%sQYS_APP_TOKEN, %sQYS_APP_SECRET)",
			tenant, config.Prefix, config.Prefix)}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out []certAnswer
	bad := 0
	for _, k := range kinds {
		a := askCertification(ctx, api, k, id)
		if a.State == "" && !a.NotFound {
			bad++
		}
		out = append(out, a)
	}
	if asJSON {
		if err := printJSON(env.Stdout, out); err != nil {
			return err
		}
	} else {
		for _, a := range out {
			fmt.Fprintf(env.Stdout, "%s  GET %s\n", a.Kind, a.Path)
			switch {
			case a.Error != "":
				fmt.Fprintf(env.Stdout, "  answer:  code %d %s\n", a.Code, a.Message)
				if a.Code == 0 {
					fmt.Fprintf(env.Stdout, "  error:   %s\n", a.Error)
				}
			default:
				var buf bytes.Buffer
				if json.Indent(&buf, a.Answer, "           ", "  ") != nil {
					buf.Reset()
					buf.Write(a.Answer)
				}
				fmt.Fprintf(env.Stdout, "  answer:  %s\n", buf.String())
			}
			fmt.Fprintf(env.Stdout, "  read as: %s\n\n", a.Reading)
		}
	}
	if bad > 0 {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d answer(s) not recognised or failed: the certification stays unconfirmed", bad)}
	}
	return nil
}

func askCertification(ctx context.Context, api confirm.CertificationAPI, kind, id string) certAnswer {
	a := certAnswer{Kind: kind, Path: qys.PathPersonalAuthResult + "?authId=" + id}
	if kind == confirm.CertCompany {
		a.Path = qys.PathCompanyAuthResult + "?requestId=" + id
	}
	res, err := confirm.FetchCertificationResult(ctx, api, kind, id)
	reading := res.Reading
	a.Answer = res.Raw
	var ae *qys.APIError
	switch {
	case errors.Is(err, qys.ErrNotFound):
		if errors.As(err, &ae) {
			a.Code, a.Message = ae.Code, ae.Message
		}
		a.Error, a.NotFound = err.Error(), true
		a.Reading = "not found: the certification is recorded unconfirmed (reason not_found)"
		return a
	case err != nil:
		if errors.As(err, &ae) {
			a.Code, a.Message = ae.Code, ae.Message
		}
		a.Error = err.Error()
		a.Reading = "the call failed: the dispatcher retries it, then dead-letters the callback"
		return a
	}
	a.Shape, a.State, a.NotFound, a.Reason = reading.Shape, reading.State, reading.NotFound, reading.Reason
	switch {
	case reading.NotFound:
		a.Reading = reading.Detail + ": recorded unconfirmed (reason not_found)"
	case reading.State != "":
		a.Reading = fmt.Sprintf("%s, confirmed (%s shape: %s)", reading.State, reading.Shape, reading.Detail)
	default:
		a.Reading = "not recognised (" + reading.Detail + "): recorded unconfirmed (reason " + reading.Reason +
			"), never taken as success or failure; set " + config.Prefix + "QYS_AUTH_RESULT_SHAPE (tenants file: [tenant.qys] auth_result_shape) if your platform answers the " +
			strings.Join([]string{qys.AuthShapeLegacy, qys.AuthShapeDocumented}, " or ") + " shape"
	}
	return a
}
