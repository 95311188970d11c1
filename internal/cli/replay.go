package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/replay"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store/ledgerdb"
)

func init() {
	register(&Command{Name: "replay", Summary: "re-drive events from QYS_CALLBACKS, the dead-letter queue or a file of raw callbacks",
		Run: runReplay})
}

// replayWaitNATS is how long replay waits for NATS before giving up.
const replayWaitNATS = 5 * time.Second

// replayArgs are the parsed flags of replay.
type replayArgs struct {
	sel     replay.Selector
	fromDLQ bool
	file    string
	dryRun  bool
	rate    float64
	json    bool
}

const replayUsage = "[--since 24h|RFC3339] [--until …] [--from-seq N] [--to-seq N] [--tenant T] [--contract ID] " +
	"[--type T] [--limit N] [--from-dlq | --file callbacks.jsonl] [--dry-run] [--rate 200] [--json]"

func parseReplayArgs(env *Env, args []string, now time.Time) (*replayArgs, error) {
	a := &replayArgs{}
	fs := newFlags(env, "replay", replayUsage)
	since := fs.String("since", "", "events stored at or after this time: a duration ago (24h, 7d) or RFC3339")
	until := fs.String("until", "", "events stored before this time: a duration ago or RFC3339")
	fs.Uint64Var(&a.sel.FromSeq, "from-seq", 0, "first stream sequence")
	fs.Uint64Var(&a.sel.ToSeq, "to-seq", 0, "last stream sequence")
	fs.StringVar(&a.sel.Tenant, "tenant", "", "only this tenant")
	fs.StringVar(&a.sel.ContractID, "contract", "", "only this contract id (or certification request id)")
	fs.StringVar(&a.sel.CallbackType, "type", "", "only this callbackType")
	fs.IntVar(&a.sel.Limit, "limit", 0, "replay at most N events (0: all)")
	fs.BoolVar(&a.fromDLQ, "from-dlq", false, "replay the dead-letter queue, deleting the rows that now apply")
	fs.StringVar(&a.file, "file", "", "re-ingest a file of raw callbacks (JSON lines) through verification")
	fs.BoolVar(&a.dryRun, "dry-run", false, "show what would be replayed; change nothing")
	fs.Float64Var(&a.rate, "rate", 200, "events per second (0: no limit)")
	fs.BoolVar(&a.json, "json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usageErr("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	if a.sel.Since, err = parseWhen(*since, now); err != nil {
		return nil, usageErr("--since: %v", err)
	}
	if a.sel.Until, err = parseWhen(*until, now); err != nil {
		return nil, usageErr("--until: %v", err)
	}
	if err := a.check(set); err != nil {
		return nil, err
	}
	return a, nil
}

// check rejects flag combinations that mean nothing.
func (a *replayArgs) check(set map[string]bool) error {
	conflicts := func(flag string, others ...string) error {
		for _, o := range others {
			if set[o] {
				return usageErr("--%s cannot be combined with --%s", flag, o)
			}
		}
		return nil
	}
	if a.file != "" {
		if err := conflicts("file", "from-dlq", "since", "until", "from-seq", "to-seq", "tenant", "contract", "type", "limit"); err != nil {
			return err
		}
	}
	if a.fromDLQ {
		if err := conflicts("from-dlq", "since", "until", "from-seq", "to-seq"); err != nil {
			return err
		}
	}
	if set["file"] && a.file == "" {
		return usageErr("--file needs a path")
	}
	if a.rate < 0 || math.IsNaN(a.rate) || math.IsInf(a.rate, 0) {
		return usageErr("--rate must be 0 (no limit) or more")
	}
	if err := a.sel.Validate(); err != nil {
		return usageErr("%v", err)
	}
	return nil
}

// parseWhen reads a time: empty, a duration ago ("90m", "24h", "7d") or
// RFC3339 (a date alone is midnight UTC).
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q: a duration ago must be positive", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration ago (24h, 7d) nor an RFC3339 time", s)
}

func runReplay(ctx context.Context, env *Env, args []string) error {
	a, err := parseReplayArgs(env, args, time.Now())
	if err != nil {
		return err
	}
	if a.file != "" {
		return runIngest(ctx, env, a)
	}
	cfg, err := loadConfig(env, 0)
	if err != nil {
		return err
	}
	parts := app.Parts{NATS: !a.fromDLQ || !a.dryRun, Ledger: a.fromDLQ || !a.dryRun, WaitNATS: replayWaitNATS}
	if parts.Ledger && !a.dryRun {
		// A replay may rebuild a wiped ledger: create it if it is missing.
		if err := ledgerdb.MigrateUp(cfg.DB.Reveal(), cfg.DataDir); err != nil {
			return unavailable(fmt.Errorf("database unavailable: %s", opsRedact(err, cfg.DB.Reveal())))
		}
	}
	svc, err := openOpsCfg(ctx, env, cfg, parts)
	if err != nil {
		return err
	}
	defer svc.Close()
	r, err := replay.New(replayConfig(svc, a.rate))
	if err != nil {
		return usageErr("%v", err)
	}
	var apply replay.ApplyFunc
	var flush func(context.Context) (int, error)
	if !a.dryRun {
		warnUnconfirmed(env, cfg)
		d, err := svc.NewDispatcher(prometheus.NewRegistry())
		if err != nil {
			return err
		}
		apply, flush = d.Apply, d.FlushOutbox
	}
	bar := newProgressBar(env)
	var rep replay.Report
	if a.fromDLQ {
		rep, err = r.RunDeadLetters(ctx, svc.Ledger, a.sel, apply, bar.update)
	} else {
		rep, err = r.Run(ctx, a.sel, apply, bar.update)
	}
	bar.finish()
	if flush != nil && rep.Applied > 0 {
		if _, ferr := flush(context.WithoutCancel(ctx)); ferr != nil {
			fmt.Fprintf(env.Stderr, "qyshook replay: warning: facts not published yet (a running dispatcher will): %s\n", oneLine(ferr))
		}
	}
	if perr := printReplayReport(env, a, rep); perr != nil {
		return perr
	}
	if err != nil {
		return err
	}
	if rep.Failed > 0 {
		return fmt.Errorf("%d of %d events failed", rep.Failed, rep.Selected)
	}
	return nil
}

func replayConfig(svc *app.Services, rate float64) replay.Config {
	c := replay.Config{Names: svc.Names, Rate: rate}
	if svc.Conn != nil {
		c.JS = svc.Conn.JS
	}
	return c
}

// warnUnconfirmed says when a tenant's events cannot be confirmed.
func warnUnconfirmed(env *Env, cfg *config.Config) {
	for _, t := range cfg.Tenants {
		if !t.QYS.Credentials() {
			fmt.Fprintf(env.Stderr, "qyshook replay: warning: tenant %q has no 契约锁 API credentials: "+
				"its contracts are applied from the callbacks alone (unconfirmed)\n", t.Name)
		}
	}
}

func runIngest(ctx context.Context, env *Env, a *replayArgs) error {
	cfg, err := loadConfig(env, config.NeedCallbackSecrets)
	if err != nil {
		return err
	}
	f, err := os.Open(a.file)
	if err != nil {
		return usageErr("%v", err)
	}
	defer f.Close()
	ic := replay.IngestConfig{Rate: a.rate, Verifiers: map[string]qys.VerifierConfig{}}
	for _, t := range cfg.Tenants {
		ic.Verifiers[t.Name] = t.VerifierConfig()
	}
	if ic.Names, err = cfg.Names(); err != nil {
		return usageErr("%v", err)
	}
	if !a.dryRun {
		svc, err := openOpsCfg(ctx, env, cfg, app.Parts{NATS: true, WaitNATS: replayWaitNATS})
		if err != nil {
			return err
		}
		defer svc.Close()
		ic.JS = svc.Conn.JS
	}
	in, err := replay.NewIngester(ic)
	if err != nil {
		return usageErr("%v", err)
	}
	rep, err := in.Ingest(ctx, f, a.dryRun)
	if perr := printIngestReport(env, a, rep); perr != nil {
		return perr
	}
	if err != nil {
		return err
	}
	if rep.Rejected > 0 {
		return fmt.Errorf("%d of %d lines rejected", rep.Rejected, rep.Lines)
	}
	return nil
}

// progressBar draws "\r[=====     ] done/total" on stderr, on terminals only.
type progressBar struct {
	w     io.Writer
	last  time.Time
	shown bool
}

func newProgressBar(env *Env) *progressBar {
	if !env.Terminal {
		return &progressBar{}
	}
	return &progressBar{w: env.Stderr}
}

func (p *progressBar) update(done, total int) {
	if p.w == nil || total <= 0 || (done < total && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last, p.shown = time.Now(), true
	const width = 30
	filled := width * done / total
	fmt.Fprintf(p.w, "\rreplay [%s%s] %d/%d", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, total)
}

func (p *progressBar) finish() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}

func printReplayReport(env *Env, a *replayArgs, rep replay.Report) error {
	if a.json {
		return printJSON(env.Stdout, rep)
	}
	if rep.DryRun {
		t := newTable(env.Stdout, "SEQ", "TIME", "TENANT", "KIND", "TYPE", "CONTRACT", "EVENT_ID", "DEAD_LETTER")
		for _, it := range rep.Items {
			dl := ""
			if it.DeadLetterID != 0 {
				dl = strconv.FormatInt(it.DeadLetterID, 10)
			}
			t.row(it.Seq, it.Time.Format(time.RFC3339), it.Tenant, it.Kind, it.Type, it.ContractID, it.EventID, dl)
		}
		if err := t.flush(); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "\ndry run: %d events would be replayed (%d read, %d undecodable)\n",
			rep.Selected, rep.Scanned, rep.Undecodable)
	} else {
		headers := []string{"READ", "SELECTED", "APPLIED", "FAILED", "UNDECODABLE"}
		cells := []any{rep.Scanned, rep.Selected, rep.Applied, rep.Failed, rep.Undecodable}
		if a.fromDLQ {
			headers, cells = append(headers, "DELETED"), append(cells, rep.Deleted)
		}
		t := newTable(env.Stdout, headers...)
		t.row(cells...)
		if err := t.flush(); err != nil {
			return err
		}
	}
	for _, e := range rep.Errors {
		where := "seq " + strconv.FormatUint(e.Seq, 10)
		if e.DeadLetterID != 0 {
			where = "dead letter " + strconv.FormatInt(e.DeadLetterID, 10)
		}
		fmt.Fprintf(env.Stdout, "%s %s: %s\n", where, e.EventID, e.Error)
	}
	return nil
}

func printIngestReport(env *Env, a *replayArgs, rep replay.IngestReport) error {
	if a.json {
		return printJSON(env.Stdout, rep)
	}
	if rep.DryRun {
		t := newTable(env.Stdout, "RECEIVED", "TENANT", "KIND", "TYPE", "CONTRACT", "EVENT_ID")
		for _, it := range rep.Items {
			t.row(it.Time.Format(time.RFC3339), it.Tenant, it.Kind, it.Type, it.ContractID, it.EventID)
		}
		if err := t.flush(); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, "\ndry run: verified, nothing published")
	}
	t := newTable(env.Stdout, "LINES", "VERIFIED", "PUBLISHED", "DUPLICATES", "CHECKS", "REJECTED")
	t.row(rep.Lines, rep.Verified, rep.Published, rep.Duplicates, rep.Checks, rep.Rejected)
	if err := t.flush(); err != nil {
		return err
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(env.Stdout, "line %d: %s\n", p.Line, p.Error)
	}
	return nil
}
