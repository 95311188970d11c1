package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/internal/config"
)

const (
	certificationsListArgs = "[--tenant default] [--unconfirmed | --confirmed] [--pending] [--state SUCCESS,IN_PROGRESS] " +
		"[--kind personal|company] [--limit 50] [--json]"
	certificationsShowArgs = "<request-id> [--tenant default] [--json]"
)

var certificationsSubs = []opsSub{
	{"list", certificationsListArgs, runCertificationsList},
	{"show", certificationsShowArgs, runCertificationsShow},
}

// certState is the state as a table shows it: the state word, flagged
// when the API did not confirm it.
func certState(c adminapi.Certification) string {
	if c.Confirmed {
		return c.State
	}
	reason := c.Reason
	if reason == "" {
		reason = "from the callback"
	}
	return c.State + " (unconfirmed: " + reason + ")"
}

func runCertificationsList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "certifications list", certificationsListArgs+"\n"+
		"  Lists a tenant's certifications, newest first. A state the certification-result API did not confirm\n"+
		"  is shown \"(unconfirmed: <reason>)\": it rests on a callback alone.")
	tenant := fs.String("tenant", config.DefaultTenant, "the tenant")
	unconfirmed := fs.Bool("unconfirmed", false, "only those the API has not confirmed")
	confirmed := fs.Bool("confirmed", false, "only those the API confirmed")
	pending := fs.Bool("pending", false, "only those the reconciler still polls")
	state := fs.String("state", "", "only these states, comma-separated (e.g. SUCCESS,IN_PROGRESS)")
	kind := fs.String("kind", "", "only personal or company")
	limit := fs.Int("limit", 50, "at most this many, newest update first (0: all)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseList(fs, args, limit); err != nil {
		return err
	}
	if *unconfirmed && *confirmed {
		return opsUsage(fs, "--unconfirmed and --confirmed exclude each other")
	}
	if *kind != "" && *kind != "personal" && *kind != "company" {
		return opsUsage(fs, "--kind: %q is not personal or company", *kind)
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	q := url.Values{"tenant": {*tenant}}
	switch {
	case *unconfirmed:
		q.Set("confirmed", "false")
	case *confirmed:
		q.Set("confirmed", "true")
	}
	if *pending {
		q.Set("pending", "true")
	}
	if s := strings.ToUpper(strings.TrimSpace(*state)); s != "" {
		q.Set("state", s)
	}
	if *kind != "" {
		q.Set("kind", *kind)
	}
	out, more, err := collect(ctx, c, c.Certifications, q, *limit)
	if err != nil {
		return err
	}
	return printList(env, out, more, *limit, "certifications", *asJSON, []string{"TENANT", "REQUEST ID", "KIND", "STATE", "CONFIRMED", "PENDING", "NAME", "UPDATED"},
		func(t *table, c adminapi.Certification) {
			t.row(c.Tenant, c.RequestID, c.Kind, certState(c), yesNo(c.Confirmed), yesNo(c.Pending), opsCut(c.Name, 30),
				opsTime(c.UpdatedAt))
		})
}

func runCertificationsShow(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "certifications show", certificationsShowArgs+"\n"+
		"  Shows one certification: its state and whether the certification-result API confirmed it (and why\n"+
		"  not), the raw status code, and the detail (for an operator token, the API's answer kept when it was\n"+
		"  not recognised).")
	return showOne(ctx, env, fs, args, "certification", (*adminapi.Client).Certification,
		func(v *adminapi.Certification) error { return printCertification(env, v) })
}

// printCertification prints one certification as a table.
func printCertification(env *Env, v *adminapi.Certification) error {
	t := newTable(env.Stdout, "Certification", v.RequestID)
	t.row("Tenant", v.Tenant)
	t.row("Kind", v.Kind)
	t.row("State", certState(*v))
	t.row("Confirmed", yesNo(v.Confirmed)+map[bool]string{true: " (the certification-result API's answer)",
		false: " (the callback's word; the API did not confirm it)"}[v.Confirmed])
	if !v.Confirmed {
		t.row("Reason", orDash(v.Reason))
	}
	t.row("Pending", yesNo(v.Pending)+map[bool]string{true: " (the reconciler still polls it)", false: ""}[v.Pending])
	t.row("Status", orDash(v.Status)+" (raw code from the source)")
	t.row("Name", orDash(v.Name))
	if v.Mode != "" {
		t.row("Mode", v.Mode)
	}
	if v.FailReason != "" {
		t.row("Fail reason", v.FailReason)
	}
	t.row("Updated", opsTime(v.UpdatedAt))
	if err := t.flush(); err != nil {
		return err
	}
	for _, part := range []struct {
		title string
		raw   json.RawMessage
	}{{"Answer kept (not recognised)", v.Answer}, {"Detail", v.Detail}} {
		if len(part.raw) > 0 {
			fmt.Fprintf(env.Stdout, "\n%s\n  %s\n", part.title, strings.TrimSpace(string(part.raw)))
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
