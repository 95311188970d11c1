package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/replay"
	"github.com/qyshook/qyshook/qys"
)

func init() {
	register(&Command{Name: "replay", Summary: "republish events from QYS_CALLBACKS, the dead-letter queue or a file of raw callbacks for the dispatchers to apply",
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
	job     string
}

const replayUsage = "(--since 24h|RFC3339 [--until …] | --from-seq N [--to-seq N] | --tenant T | --contract ID | --type T)… " +
	"[--limit N] [--from-dlq | --file callbacks.jsonl] [--job ID] [--dry-run] [--rate 200] [--json]\n" +
	"  Replays are republished into QYS_CALLBACKS; the running dispatchers apply them (confirmed through the API).\n" +
	"  A selector is required: --from-seq 1 selects the whole stream."

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
	fs.BoolVar(&a.fromDLQ, "from-dlq", false, "retry the dead letters (as qyshook dlq retry): the dispatcher resolves those that now apply")
	fs.StringVar(&a.file, "file", "", "re-ingest a file of raw callbacks (JSON lines) through verification")
	fs.StringVar(&a.job, "job", "", "replay job id (default: generated); running the same job again republishes nothing new")
	fs.BoolVar(&a.dryRun, "dry-run", false, "show what would be republished; change nothing")
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
	if a.file == "" && !a.fromDLQ && !a.sel.Bounded() {
		fs.Usage()
		return nil, usageErr("replay needs a selector (a time range, sequences, tenant, contract or type): " +
			"a bare replay would republish the whole stream")
	}
	if a.job == "" {
		a.job = newJobID(now)
	}
	return a, nil
}

// newJobID names a replay job: replay-<UTC time>-<random>.
func newJobID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "replay-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
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
		if err := conflicts("file", "job", "from-dlq", "since", "until", "from-seq", "to-seq", "tenant", "contract", "type", "limit"); err != nil {
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
	if set["job"] && !events.ValidToken(a.job) {
		return usageErr("--job %q: only letters, digits, '-' and '_' (1-64)", a.job)
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
	if a.fromDLQ {
		return retryDeadLetters(ctx, env, a.job, a.sel, 0, a.dryRun, a.rate, func(rep replay.Report) error {
			return printReplayReport(env, a, rep)
		})
	}
	// Only NATS: a replay never opens the ledger; the running dispatchers
	// apply what it republishes.
	svc, err := openOps(ctx, env, app.Parts{NATS: true, WaitNATS: replayWaitNATS})
	if err != nil {
		return err
	}
	defer svc.Close()
	r, err := replay.New(replay.Config{JS: svc.Conn.JS, Names: svc.Names, Job: a.job, Rate: a.rate})
	if err != nil {
		return usageErr("%v", err)
	}
	bar := newProgressBar(env)
	rep, err := r.Run(ctx, a.sel, a.dryRun, bar.update)
	bar.finish()
	if perr := printReplayReport(env, a, rep); perr != nil {
		return perr
	}
	if err != nil {
		return err
	}
	if rep.Failed > 0 {
		return fmt.Errorf("%d of %d events not republished", rep.Failed, rep.Selected)
	}
	return nil
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
			if it.Result != replay.ResultWouldRepublish {
				continue
			}
			dl := ""
			if it.DeadLetterID != 0 {
				dl = strconv.FormatInt(it.DeadLetterID, 10)
			}
			t.row(it.Seq, it.Time.Format(time.RFC3339), it.Tenant, it.Kind, it.Type, it.ContractID, it.EventID, dl)
		}
		if err := t.flush(); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "\ndry run: %d events would be republished (%d read, %d undecodable)\n",
			rep.Selected, rep.Scanned, rep.Undecodable)
	} else {
		t := newTable(env.Stdout, "JOB", "READ", "SELECTED", "REPUBLISHED", "ALREADY", "FAILED", "UNDECODABLE")
		t.row(rep.Job, rep.Scanned, rep.Selected, rep.Republished, rep.Duplicates, rep.Failed, rep.Undecodable)
		if err := t.flush(); err != nil {
			return err
		}
		if rep.Republished > 0 {
			fmt.Fprintf(env.Stdout, "republished %d events into QYS_CALLBACKS; the running dispatchers apply them\n", rep.Republished)
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
