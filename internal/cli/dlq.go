package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/qyshook/qyshook/adminapi"
)

var dlqSubs = []opsSub{
	{"list", "[--tenant T] [--limit 50] [--json]", runDLQList},
	{"show", "<id> [--json]", runDLQShow},
	{"retry", "<id> | --all | --tenant T [--json]", runDLQRetry},
	{"purge", "<id> --reason TEXT | --all --reason TEXT --yes [--json]", runDLQPurge},
}

func runDLQList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "dlq list", "[--tenant T] [--limit 50] [--json]")
	tenant := fs.String("tenant", "", "only this tenant")
	limit := fs.Int("limit", 50, "at most this many, oldest first (0: all)")
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
	out, more, err := collect(ctx, c, c.DeadLetters, q, *limit)
	if err != nil {
		return err
	}
	return printList(env, out, more, *limit, "dead letters", *asJSON, []string{"ID", "CREATED", "TENANT", "EVENT", "DELIVERIES", "REASON"},
		func(t *table, d adminapi.DeadLetter) {
			t.row(d.ID, opsTime(d.CreatedAt), d.Tenant, d.EventID, d.Deliveries, opsCut(d.Reason, 60))
		})
}

func runDLQShow(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "dlq show", "<id> [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return opsUsage(fs, "want exactly one dead-letter id")
	}
	id, err := dlqID(fs, pos[0])
	if err != nil {
		return err
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	v, err := c.DeadLetter(ctx, id)
	if err != nil {
		return apiErr(c, err)
	}
	if *asJSON {
		return printJSON(env.Stdout, v)
	}
	t := newTable(env.Stdout, "Dead letter", strconv.FormatInt(v.ID, 10))
	t.row("Event", v.EventID)
	t.row("Tenant", v.Tenant)
	t.row("Consumer", v.Consumer)
	t.row("Subject", v.Subject)
	t.row("Stream seq", v.StreamSeq)
	t.row("Deliveries", v.Deliveries)
	t.row("Created", opsTime(v.CreatedAt))
	t.row("Reason", opsCut(v.Reason, 1000))
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "\nPayload\n")
	var pretty bytes.Buffer
	if len(v.Payload) > 0 && json.Indent(&pretty, v.Payload, "", "  ") == nil {
		pretty.WriteByte('\n')
		_, err = pretty.WriteTo(env.Stdout)
		return err
	}
	_, err = fmt.Fprintln(env.Stdout, string(v.Payload))
	return err
}

func runDLQRetry(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "dlq retry", "<id> | --all | --tenant T [--json]\n"+
		"  Asks the running service to republish the dead letters into QYS_CALLBACKS; its dispatcher applies each\n"+
		"  (confirmed through the 契约锁 API) and then resolves it, or dead-letters it again.")
	all := fs.Bool("all", false, "retry every dead letter")
	tenant := fs.String("tenant", "", "retry the dead letters of this tenant")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	var retry func(ctx context.Context, c *adminapi.Client) (*adminapi.RetryResult, error)
	switch {
	case len(pos) > 1:
		return opsUsage(fs, "want one dead-letter id")
	case len(pos) == 1 && (*all || *tenant != ""):
		return opsUsage(fs, "give an id, or --all / --tenant, not both")
	case len(pos) == 1:
		id, err := dlqID(fs, pos[0])
		if err != nil {
			return err
		}
		retry = func(ctx context.Context, c *adminapi.Client) (*adminapi.RetryResult, error) {
			return c.RetryDeadLetter(ctx, id)
		}
	case *all || *tenant != "":
		retry = func(ctx context.Context, c *adminapi.Client) (*adminapi.RetryResult, error) {
			return c.RetryDeadLetters(ctx, adminapi.RetryRequest{All: *all && *tenant == "", Tenant: *tenant})
		}
	default:
		return opsUsage(fs, "nothing to retry: give a dead-letter id, --tenant T or --all")
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	rep, err := retry(ctx, c)
	if err != nil {
		return apiErr(c, err)
	}
	if *asJSON {
		if err := printJSON(env.Stdout, rep); err != nil {
			return err
		}
	} else if len(rep.Items) == 0 {
		fmt.Fprintln(env.Stdout, "no dead letters")
	} else {
		t := newTable(env.Stdout, "ID", "EVENT", "KIND", "CONTRACT", "RESULT", "ERROR")
		for _, r := range rep.Items {
			t.row(r.ID, r.EventID, r.Kind, r.ContractID, r.Result, opsCut(r.Error, 80))
		}
		if err := t.flush(); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "\nrepublished %d of %d dead letters (job %s); the running dispatcher resolves each "+
			"once it applies, or dead-letters it again (see qyshook dlq list)\n", rep.Republished, len(rep.Items), rep.Job)
	}
	if n := rep.Failed + rep.Undecodable; n > 0 {
		return fmt.Errorf("%d of %d dead letters not republished (kept)", n, len(rep.Items))
	}
	return nil
}

func runDLQPurge(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "dlq purge", "<id> --reason TEXT | --all --reason TEXT --yes [--json]\n"+
		"  Deletes dead letters without applying them (row and QYS_DLQ message); the reason is audited.")
	all := fs.Bool("all", false, "purge every dead letter")
	yes := fs.Bool("yes", false, "confirm --all")
	reason := fs.String("reason", "", "why the events are dropped (required; kept in the audit trail)")
	asJSON := fs.Bool("json", false, "print JSON")
	id, err := dlqTarget(fs, args, all)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return opsUsage(fs, "--reason is required: say why the events are dropped without being applied")
	}
	if *all && !*yes {
		return opsUsage(fs, "--all deletes every dead letter: add --yes to confirm")
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	ids := []int64{id}
	if *all {
		rows, _, err := collect(ctx, c, c.DeadLetters, nil, 0)
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, d := range rows {
			ids = append(ids, d.ID)
		}
	}
	purged := []int64{}
	for _, id := range ids {
		_, err := c.PurgeDeadLetter(ctx, id, *reason)
		err = apiErr(c, err)
		var ee *ExitError
		if *all && errors.As(err, &ee) && ee.Code == ExitNotFound {
			continue // resolved meanwhile
		}
		if err != nil {
			return fmt.Errorf("purged %d of %d, then dead letter %d: %w", len(purged), len(ids), id, err)
		}
		purged = append(purged, id)
	}
	if *asJSON {
		return printJSON(env.Stdout, map[string]any{"purged": len(purged), "ids": purged})
	}
	_, err = fmt.Fprintf(env.Stdout, "purged %d dead letters\n", len(purged))
	return err
}

// dlqTarget parses `<id> | --all`, returning the id (0 with --all).
func dlqTarget(fs *flag.FlagSet, args []string, all *bool) (int64, error) {
	pos, err := parseMixed(fs, args)
	if err != nil {
		return 0, err
	}
	switch {
	case *all && len(pos) > 0:
		return 0, opsUsage(fs, "give an id or --all, not both")
	case *all:
		return 0, nil
	case len(pos) != 1:
		return 0, opsUsage(fs, "want one dead-letter id, or --all")
	}
	return dlqID(fs, pos[0])
}

func dlqID(fs *flag.FlagSet, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, opsUsage(fs, "dead-letter id %q: want a positive number (see qyshook dlq list)", s)
	}
	return id, nil
}
