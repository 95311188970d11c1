package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/store"
)

var contractsSubs = []opsSub{
	{"list", "[--tenant T] [--status COMPLETE,SIGNING] [--subject TEXT] [--limit 50] [--json]", runContractsList},
	{"show", "<contract-id> [--tenant default] [--json]", runContractsShow},
}

func runContractsList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "contracts list", "[--tenant T] [--status COMPLETE,SIGNING] [--subject TEXT] [--limit 50] [--json]")
	tenant := fs.String("tenant", "", "only this tenant (default: all tenants)")
	status := fs.String("status", "", "only these statuses, comma-separated (e.g. COMPLETE,SIGNING)")
	subject := fs.String("subject", "", "only subjects containing this text")
	limit := fs.Int("limit", 50, "at most this many, newest update first (0: all)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseList(fs, args, limit); err != nil {
		return err
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	q := url.Values{}
	if *tenant != "" {
		q.Set("tenant", *tenant)
	}
	var statuses []string
	for s := range strings.SplitSeq(*status, ",") {
		if s = strings.ToUpper(strings.TrimSpace(s)); s != "" {
			statuses = append(statuses, s)
		}
	}
	if len(statuses) > 0 {
		q.Set("status", strings.Join(statuses, ","))
	}
	if *subject != "" {
		q.Set("subject", *subject)
	}
	out, more, err := collect(ctx, c, c.Contracts, q, *limit)
	if err != nil {
		return err
	}
	return printList(env, out, more, *limit, "contracts", *asJSON, []string{"TENANT", "ID", "STATUS", "CONFIRMED", "SUBJECT", "UPDATED"},
		func(t *table, c adminapi.Contract) {
			t.row(c.Tenant, c.ID, c.Status, yesNo(c.Confirmed), opsCut(c.Subject, 40), opsTime(c.UpdatedAt))
		})
}

func runContractsShow(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "contracts show", "<contract-id> [--tenant default] [--json]")
	return showOne(ctx, env, fs, args, "contract", (*adminapi.Client).Contract,
		func(v *adminapi.ContractDetail) error { return printContract(env, v) })
}

// showOne runs a "show" command: one id, --tenant and --json; it gets the
// item through the admin API and prints it as JSON or with print. An
// unknown id exits ExitNotFound naming what was asked for.
func showOne[T any](ctx context.Context, env *Env, fs *flag.FlagSet, args []string, what string,
	get func(*adminapi.Client, context.Context, string, string) (*T, error), print func(*T) error) error {
	tenant := fs.String("tenant", config.DefaultTenant, "the "+what+"'s tenant")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] == "" {
		return opsUsage(fs, "want exactly one %s id", what)
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	v, err := get(c, ctx, *tenant, pos[0])
	err = apiErr(c, err)
	var ee *ExitError
	if errors.As(err, &ee) && ee.Code == ExitNotFound {
		return notFound("no %s %s in tenant %q", what, pos[0], *tenant)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, v)
	}
	return print(v)
}

func printContract(env *Env, v *adminapi.ContractDetail) error {
	w := env.Stdout
	status := v.Status
	if !v.Confirmed {
		status += " (unconfirmed: from the callback, not the API)"
	}
	t := newTable(w, "Contract", v.ID)
	t.row("Tenant", v.Tenant)
	t.row("Subject", v.Subject)
	if v.BizID != "" {
		t.row("Biz ID", v.BizID)
	}
	t.row("Status", status)
	t.row("Updated", opsTime(v.UpdatedAt))
	if v.CompletedAt != nil {
		t.row("Completed", opsTime(*v.CompletedAt))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nSignatories (%d)\n", len(v.Signatories))
	t = newTable(w, "  #", "TYPE", "NAME", "STATUS")
	for _, s := range v.Signatories {
		t.row(fmt.Sprintf("  %d", s.SerialNo), s.TenantType, s.TenantName, s.Status)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nDocuments (%d)\n", len(v.Documents))
	t = newTable(w, "  ID", "TITLE", "ARCHIVE", "ATTEMPTS", "SHA256", "SIZE", "PATH", "FETCHED")
	var errs []adminapi.Document
	for _, d := range v.Documents {
		state := d.ArchiveState
		switch {
		case state == "" && d.SHA256 == "":
			state = "not queued"
		case state == "":
			state = "archived"
		case state == store.ArchivePending && d.NextAttemptAt != nil:
			state += " (next " + opsTime(*d.NextAttemptAt) + ")"
		}
		if d.LastError != "" {
			errs = append(errs, d)
		}
		if d.SHA256 == "" {
			t.row("  "+d.ID, (d.Title), state, d.Attempts, "(not archived)", "-", "-", "-")
			continue
		}
		t.row("  "+d.ID, (d.Title), state, d.Attempts, d.SHA256, d.Size, d.Path, opsTimePtr(d.FetchedAt))
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, d := range errs {
		fmt.Fprintf(w, "  %s last error: %s\n", d.ID, d.LastError)
	}
	for _, d := range v.Documents {
		if d.VerifyVerdict != "" || d.VerifyProblem != "" {
			verdict := d.VerifyVerdict
			if verdict == "" {
				verdict = "not verified"
			}
			fmt.Fprintf(w, "  %s signatures: %s (%d), verified %s %s\n", d.ID, verdict,
				d.VerifySignatures, opsTimePtr(d.VerifiedAt), d.VerifyProblem)
		}
		if d.ValidationPath != "" {
			fmt.Fprintf(w, "  %s revocation %s (certificates, OCSP and CRL answers kept in %s)\n", d.ID, d.ValidationStatus, d.ValidationPath)
		}
		if d.Compared && len(d.Discrepancies) == 0 {
			fmt.Fprintf(w, "  %s cross-check: agrees with the API's detail\n", d.ID)
		}
		for _, x := range d.Discrepancies {
			fmt.Fprintf(w, "  %s DISCREPANCY %s %s %s %s\n", d.ID, x.Kind, x.Party, x.Event, x.Detail)
		}
	}
	fmt.Fprintf(w, "\nEvents (%d)\n", len(v.Events))
	t = newTable(w, "  RECEIVED", "APPLIED", "TYPE", "SOURCE", "EVENT ID")
	for _, e := range v.Events {
		t.row("  "+opsTime(e.ReceivedAt), opsTime(e.AppliedAt), e.Type, e.Source, e.ID)
	}
	return t.flush()
}

// opsSub is one subcommand of contracts, dlq or migrate.
type opsSub struct {
	name, args string
	run        func(ctx context.Context, env *Env, args []string) error
}

// runOpsSub runs the subcommand named by args[0]. Without one it prints
// its usage on stderr (exit 2); -h, --help or help print it on stdout.
func runOpsSub(ctx context.Context, env *Env, cmd string, subs []opsSub, args []string) error {
	help := func(w io.Writer) {
		fmt.Fprintf(w, "Usage:\n")
		for _, s := range subs {
			fmt.Fprintf(w, "  qyshook %s %s %s\n", cmd, s.name, s.args)
		}
		fmt.Fprintf(w, "\nqyshook %s <subcommand> -h prints a subcommand's flags.\n", cmd)
	}
	if len(args) == 0 {
		help(env.Stderr)
		return usageErr("missing subcommand")
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, env, args[1:])
		}
	}
	if isHelp(args[0]) || args[0] == "help" {
		help(env.Stdout)
		return flag.ErrHelp
	}
	help(env.Stderr)
	return usageErr("unknown subcommand %q", args[0])
}

// parseMixed parses flags that may come before or after the positional
// arguments (`contracts show 42 --json`) and returns the positionals.
// After "--" everything is positional.
func parseMixed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// opsUsage prints fs's usage and returns a usage error.
func opsUsage(fs *flag.FlagSet, format string, args ...any) error {
	fs.Usage()
	return usageErr(format, args...)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// opsTime formats a time for tables, in UTC.
func opsTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func opsTimePtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return opsTime(*t)
}

// opsCut shortens s to n runes for a table cell.
func opsCut(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}
