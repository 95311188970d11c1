package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/replay"
	"github.com/qyshook/qyshook/store"
)

func init() {
	register(&Command{Name: "dlq", Summary: "list, show, retry or purge dead letters (events the dispatcher could not apply)",
		Run: func(ctx context.Context, env *Env, args []string) error {
			return runOpsSub(ctx, env, "dlq", dlqSubs, args)
		}})
}

var dlqSubs = []opsSub{
	{"list", "[--limit 50] [--json]", runDLQList},
	{"show", "<id> [--json]", runDLQShow},
	{"retry", "<id> | --all [--job ID] [--dry-run] [--json]", runDLQRetry},
	{"purge", "<id> | --all --yes", runDLQPurge},
}

// deadLetterView is a dead letter in --json output. Payload is the event
// as JSON when it is JSON, else PayloadText holds it.
type deadLetterView struct {
	ID           int64           `json:"id"`
	EventID      string          `json:"event_id"`
	Tenant       string          `json:"tenant"`
	Consumer     string          `json:"consumer"`
	Subject      string          `json:"subject"`
	StreamSeq    uint64          `json:"stream_seq"`
	Reason       string          `json:"reason"`
	Deliveries   int             `json:"deliveries"`
	CreatedAt    time.Time       `json:"created_at"`
	PayloadBytes int             `json:"payload_bytes"`
	Payload      json.RawMessage `json:"payload,omitempty"`
	PayloadText  string          `json:"payload_text,omitempty"`
}

func toDeadLetterView(d *store.DeadLetter, withPayload bool) deadLetterView {
	v := deadLetterView{ID: d.ID, EventID: d.EventID, Tenant: d.Tenant, Consumer: d.Consumer, Subject: d.Subject,
		StreamSeq: d.StreamSeq, Reason: d.Reason, Deliveries: d.Deliveries, CreatedAt: d.CreatedAt, PayloadBytes: len(d.Payload)}
	switch {
	case !withPayload:
	case json.Valid(d.Payload):
		v.Payload = d.Payload
	case utf8.Valid(d.Payload):
		v.PayloadText = string(d.Payload)
	default:
		v.PayloadText = strconv.Quote(string(d.Payload))
	}
	return v
}

func runDLQList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "dlq list", "[--limit 50] [--json]")
	limit := fs.Int("limit", 50, "at most this many, oldest first (0: all)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return opsUsage(fs, "unexpected argument %q", pos[0])
	}
	if *limit < 0 {
		return opsUsage(fs, "--limit must not be negative")
	}
	svc, err := openOps(ctx, env, app.Parts{Ledger: true, ReadOnlyLedger: true})
	if err != nil {
		return err
	}
	defer svc.Close()
	n := *limit
	if n > 0 {
		n++ // one more tells whether there are more
	}
	rows, err := svc.Ledger.DeadLetters(ctx, n)
	if err != nil {
		return fmt.Errorf("list dead letters: %w", err)
	}
	more := *limit > 0 && len(rows) > *limit
	if more {
		rows = rows[:*limit]
	}
	out := make([]deadLetterView, len(rows))
	for i := range rows {
		out[i] = toDeadLetterView(&rows[i], false)
	}
	if *asJSON {
		err = printJSON(env.Stdout, out)
	} else {
		t := newTable(env.Stdout, "ID", "CREATED", "TENANT", "EVENT", "DELIVERIES", "REASON")
		for _, d := range out {
			t.row(d.ID, opsTime(d.CreatedAt), d.Tenant, d.EventID, d.Deliveries, opsCut(d.Reason, 60))
		}
		err = t.flush()
	}
	if more {
		fmt.Fprintf(env.Stderr, "(more than %d dead letters: raise --limit, or --limit 0 for all)\n", *limit)
	}
	return err
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
	svc, err := openOps(ctx, env, app.Parts{Ledger: true, ReadOnlyLedger: true})
	if err != nil {
		return err
	}
	defer svc.Close()
	d, err := svc.Ledger.DeadLetter(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no dead letter %d", id)
	}
	if err != nil {
		return fmt.Errorf("dead letter %d: %w", id, err)
	}
	v := toDeadLetterView(d, true)
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
	fmt.Fprintf(env.Stdout, "\nPayload (%d bytes)\n", v.PayloadBytes)
	var pretty bytes.Buffer
	if v.Payload != nil && json.Indent(&pretty, v.Payload, "", "  ") == nil {
		pretty.WriteByte('\n')
		_, err = pretty.WriteTo(env.Stdout)
		return err
	}
	_, err = fmt.Fprintln(env.Stdout, v.PayloadText)
	return err
}

// retryResult is one dead letter's outcome in `dlq retry`.
type retryResult struct {
	ID         int64  `json:"id"`
	EventID    string `json:"event_id,omitempty"`
	Tenant     string `json:"tenant,omitempty"`
	Kind       string `json:"kind,omitempty"`
	ContractID string `json:"contract_id,omitempty"`
	// ReplayID is the id the event was republished with.
	ReplayID string `json:"replay_id,omitempty"`
	// Result is republished, already_republished (by this --job),
	// failed, undecodable, or would_republish (--dry-run).
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

func runDLQRetry(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "dlq retry", "<id> | --all [--job ID] [--dry-run] [--json]\n"+
		"  Republishes the dead letters into QYS_CALLBACKS; the running dispatcher applies each and then deletes it.")
	all := fs.Bool("all", false, "retry every dead letter")
	dryRun := fs.Bool("dry-run", false, "only decode and report what would be retried")
	job := fs.String("job", "", "replay job id (default: generated); the same job republishes a dead letter once")
	asJSON := fs.Bool("json", false, "print JSON")
	id, err := dlqTarget(fs, args, all)
	if err != nil {
		return err
	}
	if *job == "" {
		*job = newJobID(time.Now())
	} else if !events.ValidToken(*job) {
		return opsUsage(fs, "--job %q: only letters, digits, '-' and '_' (1-64)", *job)
	}
	return retryDeadLetters(ctx, env, *job, replay.Selector{}, id, *dryRun, 0, func(rep replay.Report) error {
		return printRetry(env, rep, *asJSON)
	})
}

// retryDeadLetters is the one dead-letter retry path (dlq retry, replay
// --from-dlq): it reads the dead letters (one id, or all when id is 0)
// and republishes those sel selects into QYS_CALLBACKS. It writes
// nothing: the running dispatcher confirms each event through the API,
// and deletes the dead letter (row and QYS_DLQ message) once it applies.
func retryDeadLetters(ctx context.Context, env *Env, job string, sel replay.Selector, id int64, dryRun bool, rate float64,
	print func(replay.Report) error) error {
	svc, err := openOps(ctx, env, app.Parts{Ledger: true, NATS: !dryRun, WaitNATS: replayWaitNATS})
	if err != nil {
		return err
	}
	defer svc.Close()
	rows, err := dlqRows(ctx, svc, id, id == 0)
	if err != nil {
		return err
	}
	cfg := replay.Config{Names: svc.Names, Job: job, Rate: rate}
	if svc.Conn != nil {
		cfg.JS = svc.Conn.JS
	}
	r, err := replay.New(cfg)
	if err != nil {
		return usageErr("%v", err)
	}
	rep, err := r.RetryDeadLetters(ctx, rows, sel, dryRun, nil)
	if perr := print(rep); perr != nil {
		return perr
	}
	if err != nil {
		return err
	}
	if n := rep.Failed + rep.Undecodable; n > 0 && !dryRun {
		return fmt.Errorf("%d of %d dead letters not republished (kept)", n, rep.Scanned)
	}
	return nil
}

func printRetry(env *Env, rep replay.Report, asJSON bool) error {
	results := make([]retryResult, len(rep.Items))
	for i, it := range rep.Items {
		results[i] = retryResult{ID: it.DeadLetterID, EventID: it.EventID, Tenant: it.Tenant, Kind: it.Kind,
			ContractID: it.ContractID, ReplayID: it.ReplayID, Result: it.Result, Error: it.Error}
	}
	if asJSON {
		return printJSON(env.Stdout, results)
	}
	if len(results) == 0 {
		_, err := fmt.Fprintln(env.Stdout, "no dead letters")
		return err
	}
	t := newTable(env.Stdout, "ID", "EVENT", "KIND", "CONTRACT", "RESULT", "ERROR")
	for _, r := range results {
		t.row(r.ID, r.EventID, r.Kind, r.ContractID, r.Result, opsCut(r.Error, 80))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if !rep.DryRun {
		_, err := fmt.Fprintf(env.Stdout, "\nrepublished %d of %d dead letters (job %s); the running dispatcher deletes each "+
			"once it applies, or dead-letters it again (see qyshook dlq list)\n", rep.Republished, rep.Scanned, rep.Job)
		return err
	}
	return nil
}

func runDLQPurge(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "dlq purge", "<id> | --all --yes")
	all := fs.Bool("all", false, "delete every dead letter and purge the DLQ stream")
	yes := fs.Bool("yes", false, "confirm --all")
	id, err := dlqTarget(fs, args, all)
	if err != nil {
		return err
	}
	if *all && !*yes {
		return opsUsage(fs, "--all deletes every dead letter and purges the DLQ stream: add --yes to confirm")
	}
	// The one operator write left (until the admin API): the row and its
	// QYS_DLQ message, which the dead-letter depth gauge counts.
	svc, err := openOps(ctx, env, app.Parts{Ledger: true, NATS: true})
	if err != nil {
		return err
	}
	defer svc.Close()
	if !*all {
		err := dispatcher.ResolveDeadLetter(ctx, svc.Conn.JS, svc.Names, svc.Ledger, id, 0)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("no dead letter %d", id)
		} else if err != nil {
			return fmt.Errorf("delete dead letter %d: %w", id, err)
		}
		_, err = fmt.Fprintf(env.Stdout, "deleted dead letter %d\n", id)
		return err
	}
	return purgeAll(ctx, env, svc)
}

// purgeAll purges the DLQ stream up to what it held before the rows were
// listed, then deletes the rows listed: a dead letter arriving meanwhile
// keeps its row.
func purgeAll(ctx context.Context, env *Env, svc *app.Services) error {
	name := svc.Names.DLQStream()
	stream, err := svc.Conn.JS.Stream(ctx, name)
	if err != nil {
		return unavailable(fmt.Errorf("nats: stream %s: %w", name, err))
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return unavailable(fmt.Errorf("nats: stream %s: %w", name, err))
	}
	rows, err := svc.Ledger.DeadLetters(ctx, 0)
	if err != nil {
		return fmt.Errorf("list dead letters: %w", err)
	}
	if info.State.Msgs > 0 {
		if err := stream.Purge(ctx, jetstream.WithPurgeSequence(info.State.LastSeq+1)); err != nil {
			return fmt.Errorf("purge stream %s: %w", name, err)
		}
	}
	deleted := 0
	for _, d := range rows {
		if err := svc.Ledger.DeleteDeadLetter(ctx, d.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("deleted %d of %d dead letters, then: %w", deleted, len(rows), err)
		}
		deleted++
	}
	_, err = fmt.Fprintf(env.Stdout, "deleted %d dead letters; purged %d messages from stream %s\n", deleted, info.State.Msgs, name)
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

// dlqRows loads one dead letter, or all of them.
func dlqRows(ctx context.Context, svc *app.Services, id int64, all bool) ([]store.DeadLetter, error) {
	if all {
		rows, err := svc.Ledger.DeadLetters(ctx, 0)
		if err != nil {
			return nil, fmt.Errorf("list dead letters: %w", err)
		}
		return rows, nil
	}
	d, err := svc.Ledger.DeadLetter(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no dead letter %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("dead letter %d: %w", id, err)
	}
	return []store.DeadLetter{*d}, nil
}
