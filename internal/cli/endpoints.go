package cli

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/qyshook/qyshook/adminapi"
)

var endpointsSubs = []opsSub{
	{"add", endpointsAddArgs, runEndpointsAdd},
	{"list", "[--tenant T] [--json]", runEndpointsList},
	{"show", "<id> [--json]", runEndpointsShow},
	{"disable", "<id> [--json]", runEndpointsDisable},
	{"enable", "<id> [--json]", runEndpointsEnable},
	{"rotate-secret", "<id> [--overlap 24h] [--json]", runEndpointsRotate},
	{"test", "<id> [--json]", runEndpointsTest},
	{"delete", "<id> [--json]", runEndpointsDelete},
	{"attempts", "<id> [--fact ID] [--limit 50] [--json]", runEndpointsAttempts},
	{"dead-letters", "<id> [--json]", runEndpointsDeadLetters},
	{"retry", "<id> (--fact ID… | --all) [--json]", runEndpointsRetry},
	{"purge", "<id> (--fact ID… | --all) --yes [--json]", runEndpointsPurge},
	{"replay", "<id> --since RFC3339 [--yes] [--json]", runEndpointsReplay},
}

const endpointsAddArgs = "--tenant T --url URL [--types contract.COMPLETE,…] [--header K=V]… [--rate N] [--concurrency N] [--ordered] [--allow-private] [--allow-http] [--asymmetric] [--json]"

// listFlag collects a repeated or comma-separated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

func runEndpointsAdd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "endpoints add", endpointsAddArgs)
	var req adminapi.EndpointRequest
	var types, headers listFlag
	fs.StringVar(&req.Tenant, "tenant", "default", "the tenant whose facts it receives")
	fs.StringVar(&req.URL, "url", "", "where facts are POSTed (https unless --allow-http)")
	fs.StringVar(&req.Description, "description", "", "a note for operators")
	fs.Var(&types, "types", "fact filters, subject patterns below qys.ledger.<tenant>. (contract.COMPLETE, contract.*, certification.>); default: every fact")
	fs.Var(&headers, "header", "an extra header K=V (repeatable)")
	fs.Float64Var(&req.RateLimit, "rate", 0, "deliveries per second per process (0: no limit)")
	fs.IntVar(&req.Concurrency, "concurrency", 4, "deliveries in flight at once")
	fs.BoolVar(&req.Ordered, "ordered", false, "one delivery in flight, in order (each contract's facts in sequence)")
	fs.BoolVar(&req.AllowPrivate, "allow-private", false, "accept a loopback, link-local or private address")
	fs.BoolVar(&req.AllowHTTP, "allow-http", false, "accept plain http")
	fs.BoolVar(&req.Disabled, "disabled", false, "add it disabled")
	fs.BoolVar(&req.Asymmetric, "asymmetric", false, "sign with an Ed25519 key (v1a): receivers verify with the printed whpk_ public key")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return opsUsage(fs, "unexpected argument %q", pos[0])
	}
	if req.URL == "" {
		return opsUsage(fs, "--url is required")
	}
	req.Types = types
	if len(headers) > 0 {
		req.Headers = map[string]string{}
		for _, h := range headers {
			k, v, ok := strings.Cut(h, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return opsUsage(fs, "--header %q: want NAME=VALUE", h)
			}
			req.Headers[strings.TrimSpace(k)] = v
		}
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	v, err := c.AddEndpoint(ctx, req)
	if err != nil {
		return apiErr(c, err)
	}
	if *asJSON {
		return printJSON(env.Stdout, v)
	}
	if req.Asymmetric {
		fmt.Fprintf(env.Stdout, "endpoint   %s\npublic key %s\n", v.Endpoint.ID, v.Secret)
		fmt.Fprintln(env.Stderr, "Receivers verify the v1a signatures of webhook-signature with this public key (docs/delivery.md).")
		return nil
	}
	fmt.Fprintf(env.Stdout, "endpoint %s\nsecret   %s\n", v.Endpoint.ID, v.Secret)
	fmt.Fprintln(env.Stderr, "Keep the secret: it is shown this once. Receivers verify webhook-signature with it (docs/delivery.md).")
	return nil
}

func runEndpointsList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "endpoints list", "[--tenant T] [--json]")
	tenant := fs.String("tenant", "", "only this tenant")
	asJSON := fs.Bool("json", false, "print JSON")
	if pos, err := parseMixed(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return opsUsage(fs, "unexpected argument %q", pos[0])
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	q := url.Values{}
	if *tenant != "" {
		q.Set("tenant", *tenant)
	}
	v, err := c.Endpoints(ctx, q)
	if err != nil {
		return apiErr(c, err)
	}
	if *asJSON {
		return printJSON(env.Stdout, v.Items)
	}
	t := newTable(env.Stdout, "ID", "TENANT", "ENABLED", "ORDERED", "TYPES", "URL")
	for _, e := range v.Items {
		types := strings.Join(e.Types, ",")
		if types == "" {
			types = "*"
		}
		t.row(e.ID, e.Tenant, enabledWord(e), yesNo(e.Ordered), types, e.URL)
	}
	return t.flush()
}

func enabledWord(e adminapi.Endpoint) string {
	if e.Enabled {
		return "yes"
	}
	return "no (" + e.DisabledReason + ")"
}

// endpointArg parses "<id> [flags]" and returns the id and a client.
func endpointArg(env *Env, fs *flag.FlagSet, args []string) (string, *adminapi.Client, error) {
	pos, err := parseMixed(fs, args)
	if err != nil {
		return "", nil, err
	}
	if len(pos) != 1 {
		return "", nil, opsUsage(fs, "want exactly one endpoint id")
	}
	c, err := newAdminClient(env)
	return pos[0], c, err
}

func runEndpointsShow(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "endpoints show", "<id> [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	id, c, err := endpointArg(env, fs, args)
	if err != nil {
		return err
	}
	v, err := c.Endpoint(ctx, id)
	if err != nil {
		return apiErr(c, err)
	}
	if *asJSON {
		return printJSON(env.Stdout, v)
	}
	e, h := v.Endpoint, v.Health
	t := newTable(env.Stdout, "Endpoint", e.ID)
	t.row("Tenant", e.Tenant)
	t.row("URL", e.URL)
	t.row("Types", strings.Join(e.Types, ","))
	t.row("Enabled", enabledWord(e))
	t.row("Source", e.Source) // config-removed: no longer in the config file, may be deleted
	t.row("Ordered", yesNo(e.Ordered))
	t.row("Concurrency", e.Concurrency)
	t.row("Rate limit", e.RateLimit)
	t.row("Secrets", e.Secrets)
	t.row("Headers", strings.Join(e.Headers, ", "))
	t.row("Success rate", fmt.Sprintf("%.1f%% of the last %d attempts", 100*h.SuccessRate, h.Attempts))
	t.row("Latency", fmt.Sprintf("p50 %d ms, p99 %d ms", h.LatencyP50MS, h.LatencyP99MS))
	t.row("Dead letters", h.DeadLetters)
	if e.FailingSince != nil {
		t.row("Failing since", opsTime(*e.FailingSince))
	}
	if h.DisableAt != nil {
		t.row("Disabled at", opsTime(*h.DisableAt)+" if every attempt keeps failing")
	}
	for _, a := range h.LastFailures {
		t.row("Failure", fmt.Sprintf("%s %s attempt %d: %s", opsTime(a.At), a.FactID, a.Attempt, opsCut(a.Error, 80)))
	}
	return t.flush()
}

func runEndpointsDisable(ctx context.Context, env *Env, args []string) error {
	return setEndpointEnabled(ctx, env, args, false)
}

func runEndpointsEnable(ctx context.Context, env *Env, args []string) error {
	return setEndpointEnabled(ctx, env, args, true)
}

func setEndpointEnabled(ctx context.Context, env *Env, args []string, enabled bool) error {
	name := "endpoints disable"
	if enabled {
		name = "endpoints enable"
	}
	fs := newFlags(env, name, "<id> [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	id, c, err := endpointArg(env, fs, args)
	if err != nil {
		return err
	}
	v, err := c.SetEndpointEnabled(ctx, id, enabled)
	if err != nil {
		return apiErr(c, err)
	}
	if *asJSON {
		return printJSON(env.Stdout, v)
	}
	fmt.Fprintf(env.Stdout, "endpoint %s enabled: %s\n", v.ID, enabledWord(*v))
	return nil
}

func runEndpointsRotate(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "endpoints rotate-secret", "<id> [--overlap 24h] [--json]")
	overlap := fs.Duration("overlap", 24*time.Hour, "how long the previous secrets keep signing")
	asJSON := fs.Bool("json", false, "print JSON")
	id, c, err := endpointArg(env, fs, args)
	if err != nil {
		return err
	}
	v, err := c.RotateSecret(ctx, id, adminapi.RotateSecretRequest{Overlap: overlap.String()})
	if err != nil {
		return apiErr(c, err)
	}
	if *asJSON {
		return printJSON(env.Stdout, v)
	}
	fmt.Fprintf(env.Stdout, "secret   %s\nprevious secrets sign until %s (%d signatures per delivery until then)\n",
		v.Secret, opsTime(v.PreviousUntil), v.Signatures)
	return nil
}

func runEndpointsTest(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "endpoints test", "<id> [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	id, c, err := endpointArg(env, fs, args)
	if err != nil {
		return err
	}
	v, err := c.TestEndpoint(ctx, id)
	if err != nil {
		return apiErr(c, err)
	}
	if *asJSON {
		if err := printJSON(env.Stdout, v); err != nil {
			return err
		}
	} else {
		t := newTable(env.Stdout, "Test fact", v.FactID)
		t.row("Status", v.Status)
		t.row("Latency", fmt.Sprintf("%d ms", v.LatencyMS))
		if v.Error != "" {
			t.row("Error", v.Error)
		}
		t.row("Response", opsCut(v.Response, 200))
		if err := t.flush(); err != nil {
			return err
		}
	}
	if !v.OK {
		return fmt.Errorf("endpoint %s did not answer 2xx", id)
	}
	return nil
}

func runEndpointsDelete(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "endpoints delete", "<id> [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	id, c, err := endpointArg(env, fs, args)
	if err != nil {
		return err
	}
	v, err := c.DeleteEndpoint(ctx, id)
	if err != nil {
		return apiErr(c, err)
	}
	if *asJSON {
		return printJSON(env.Stdout, v)
	}
	fmt.Fprintf(env.Stdout, "endpoint %s deleted\n", id)
	return nil
}

func runEndpointsAttempts(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "endpoints attempts", "<id> [--fact ID] [--limit 50] [--json]")
	fact := fs.String("fact", "", "only this fact's attempts")
	limit := fs.Int("limit", 50, "at most this many, newest first")
	asJSON := fs.Bool("json", false, "print JSON")
	id, c, err := endpointArg(env, fs, args)
	if err != nil {
		return err
	}
	if *limit < 1 || *limit > 500 {
		return opsUsage(fs, "--limit %d: want 1 to 500", *limit)
	}
	q := url.Values{"limit": {fmt.Sprint(*limit)}}
	if *fact != "" {
		q.Set("fact_id", *fact)
	}
	v, err := c.EndpointAttempts(ctx, id, q)
	if err != nil {
		return apiErr(c, err)
	}
	if *asJSON {
		return printJSON(env.Stdout, v.Items)
	}
	t := newTable(env.Stdout, "AT", "FACT", "ATTEMPT", "STATUS", "MS", "NEXT", "ERROR")
	for _, a := range v.Items {
		next := "-"
		if a.NextAttemptAt != nil {
			next = opsTime(*a.NextAttemptAt)
		}
		t.row(opsTime(a.At), a.FactID, a.Attempt, a.Status, a.LatencyMS, next, opsCut(a.Error, 60))
	}
	return t.flush()
}

func runEndpointsDeadLetters(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "endpoints dead-letters", "<id> [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	id, c, err := endpointArg(env, fs, args)
	if err != nil {
		return err
	}
	v, err := c.EndpointDeadLetters(ctx, id)
	if err != nil {
		return apiErr(c, err)
	}
	if *asJSON {
		return printJSON(env.Stdout, v.Items)
	}
	t := newTable(env.Stdout, "FAILED", "FACT", "ATTEMPTS", "SUBJECT", "LAST ERROR")
	for _, d := range v.Items {
		t.row(opsTime(d.FailedAt), d.FactID, d.Attempts, d.Subject, opsCut(d.LastError, 60))
	}
	return t.flush()
}

func runEndpointsRetry(ctx context.Context, env *Env, args []string) error {
	return endpointDeadLetterOp(ctx, env, args, "retry")
}

func runEndpointsPurge(ctx context.Context, env *Env, args []string) error {
	return endpointDeadLetterOp(ctx, env, args, "purge")
}

func endpointDeadLetterOp(ctx context.Context, env *Env, args []string, op string) error {
	fs := newFlags(env, "endpoints "+op, "<id> (--fact ID… | --all) [--json]")
	var facts listFlag
	fs.Var(&facts, "fact", "a dead letter's fact id (repeatable)")
	all := fs.Bool("all", false, "every dead letter of the endpoint")
	yes := fs.Bool("yes", false, "purge without delivering (purge only)")
	asJSON := fs.Bool("json", false, "print JSON")
	id, c, err := endpointArg(env, fs, args)
	if err != nil {
		return err
	}
	if *all == (len(facts) > 0) {
		return opsUsage(fs, "name dead letters with --fact, or --all")
	}
	if op == "purge" && !*yes {
		return opsUsage(fs, "purge drops the deliveries: add --yes")
	}
	req := adminapi.EndpointDeadLetterRequest{FactIDs: facts, All: *all}
	var v *adminapi.EndpointDeadLetterResult
	if op == "retry" {
		v, err = c.RetryEndpointDeadLetters(ctx, id, req)
	} else {
		v, err = c.PurgeEndpointDeadLetters(ctx, id, req)
	}
	if err != nil {
		return apiErr(c, err)
	}
	if *asJSON {
		return printJSON(env.Stdout, v)
	}
	verb := "queued again"
	if op == "purge" {
		verb = "purged"
	}
	fmt.Fprintf(env.Stdout, "%d dead letters %s\n", v.Count, verb)
	return nil
}

func runEndpointsReplay(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "endpoints replay", "<id> --since RFC3339 [--yes] [--json]")
	since := fs.String("since", "", "replay the facts published since this time (RFC 3339)")
	yes := fs.Bool("yes", false, "queue them (without it: a dry run that counts)")
	asJSON := fs.Bool("json", false, "print JSON")
	id, c, err := endpointArg(env, fs, args)
	if err != nil {
		return err
	}
	if _, err := time.Parse(time.RFC3339, *since); err != nil {
		return opsUsage(fs, "--since %q: want an RFC 3339 time such as 2026-12-07T08:00:00Z", *since)
	}
	v, err := c.ReplayToEndpoint(ctx, id, adminapi.EndpointReplayRequest{Since: *since, DryRun: !*yes})
	if err != nil {
		return apiErr(c, err)
	}
	if *asJSON {
		return printJSON(env.Stdout, v)
	}
	if v.DryRun {
		fmt.Fprintf(env.Stdout, "dry run: %d of %d facts since %s would be queued for %s; add --yes to queue them\n", v.Matched, v.Scanned, *since, id)
		return nil
	}
	fmt.Fprintf(env.Stdout, "%d of %d facts since %s queued for %s\n", v.Matched, v.Scanned, *since, id)
	return nil
}
