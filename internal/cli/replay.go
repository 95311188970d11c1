package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/qyshook/qyshook/adminapi"
)

// replayPoll is how often replay asks for its job's progress.
const replayPoll = 200 * time.Millisecond

// replayArgs are the parsed flags of replay.
type replayArgs struct {
	sel     adminapi.ReplaySelector
	fromDLQ bool
	dryRun  bool
	yes     bool
	json    bool
}

const replayUsage = "(--since 24h|RFC3339 [--until …] | --from-seq N [--to-seq N] | --tenant T | --contract ID | --type T)… " +
	"[--dry-run | --yes] [--json]\n" +
	"       qyshook replay --from-dlq [--tenant T]\n" +
	"  Asks the running service (QYSHOOK_ADMIN_URL, QYSHOOK_ADMIN_TOKEN) to republish events of QYS_CALLBACKS;\n" +
	"  its dispatchers apply them, confirmed through the 契约锁 API. Always a dry run first: replay prints its counts,\n" +
	"  and republishes only with --yes. A selector is required: --from-seq 1 selects the whole stream."

func parseReplayArgs(env *Env, args []string, now time.Time) (*replayArgs, error) {
	a := &replayArgs{}
	fs := newFlags(env, "replay", replayUsage)
	since := fs.String("since", "", "events stored at or after this time: a duration ago (24h, 7d) or RFC3339")
	until := fs.String("until", "", "events stored before this time: a duration ago or RFC3339")
	fs.Uint64Var(&a.sel.FromSeq, "from-seq", 0, "first stream sequence")
	fs.Uint64Var(&a.sel.ToSeq, "to-seq", 0, "last stream sequence")
	fs.StringVar(&a.sel.Tenant, "tenant", "", "only this tenant")
	fs.StringVar(&a.sel.ContractID, "contract", "", "only this contract id (or certification request id)")
	fs.StringVar(&a.sel.Type, "type", "", "only this callbackType")
	fs.BoolVar(&a.fromDLQ, "from-dlq", false, "retry the dead letters instead (as qyshook dlq retry --all, or --tenant T)")
	fs.BoolVar(&a.dryRun, "dry-run", false, "only show what would be republished")
	fs.BoolVar(&a.yes, "yes", false, "republish what the dry run selected")
	fs.BoolVar(&a.json, "json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, opsUsage(fs, "unexpected argument %q", fs.Arg(0))
	}
	for _, w := range []struct {
		flag, v string
		dst     *string
	}{{"since", *since, &a.sel.From}, {"until", *until, &a.sel.To}} {
		t, err := parseWhen(w.v, now)
		if err != nil {
			return nil, opsUsage(fs, "--%s: %v", w.flag, err)
		}
		if !t.IsZero() {
			*w.dst = t.UTC().Format(time.RFC3339Nano)
		}
	}
	if a.dryRun && a.yes {
		return nil, opsUsage(fs, "--dry-run and --yes contradict each other")
	}
	if a.fromDLQ {
		if a.sel != (adminapi.ReplaySelector{Tenant: a.sel.Tenant}) {
			return nil, opsUsage(fs, "--from-dlq takes --tenant only")
		}
		return a, nil
	}
	if a.sel == (adminapi.ReplaySelector{}) {
		return nil, opsUsage(fs, "replay needs a selector (a time range, sequences, tenant, contract or type): "+
			"a bare replay would republish the whole stream")
	}
	return a, nil
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
	if a.fromDLQ {
		retry := []string{"--all"}
		if a.sel.Tenant != "" {
			retry = []string{"--tenant", a.sel.Tenant}
		}
		if a.json {
			retry = append(retry, "--json")
		}
		return runDLQRetry(ctx, env, retry)
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	dry, err := c.ReplayDryRun(ctx, a.sel)
	if err != nil {
		return apiErr(c, err)
	}
	if !a.yes || dry.Selected == 0 {
		if a.json {
			return printJSON(env.Stdout, dry)
		}
		printDryRun(env.Stdout, dry)
		switch {
		case dry.Selected == 0:
			fmt.Fprintln(env.Stdout, "nothing to replay")
		case !a.dryRun:
			fmt.Fprintf(env.Stdout, "run again with --yes to republish these %d events\n", dry.Selected)
		}
		return nil
	}
	job, err := c.StartReplay(ctx, a.sel, dry.Confirm)
	if err != nil {
		return apiErr(c, err)
	}
	bar := newProgressBar(env)
	for job.State == adminapi.JobRunning {
		select {
		case <-ctx.Done():
			bar.finish()
			return fmt.Errorf("stopped waiting; job %s keeps running in the service (GET /api/v1/replays/%s): %w", job.ID, job.ID, ctx.Err())
		case <-time.After(replayPoll):
		}
		if job, err = c.ReplayJob(ctx, job.ID); err != nil {
			bar.finish()
			return apiErr(c, err)
		}
		bar.update(job.Progress.Done, job.Progress.Total)
	}
	bar.finish()
	if a.json {
		if err := printJSON(env.Stdout, map[string]any{"dry_run": dry, "job": job}); err != nil {
			return err
		}
	} else {
		printDryRun(env.Stdout, dry)
		printReplayJob(env.Stdout, job)
	}
	switch {
	case job.State != adminapi.JobDone:
		return fmt.Errorf("replay job %s %s: %s", job.ID, job.State, job.Error)
	case job.Failed > 0:
		return fmt.Errorf("%d of %d events not republished", job.Failed, job.Selected)
	}
	return nil
}

func printDryRun(w io.Writer, d *adminapi.DryRun) {
	t := newTable(w, "TENANT", "EVENTS")
	for _, k := range sortedCounts(d.ByTenant) {
		t.row(k, d.ByTenant[k])
	}
	_ = t.flush()
	fmt.Fprintln(w)
	t = newTable(w, "TYPE", "EVENTS")
	for _, k := range sortedCounts(d.ByType) {
		t.row(k, d.ByType[k])
	}
	_ = t.flush()
	fmt.Fprintf(w, "\ndry run: %d events would be republished (%d read, %d undecodable, %d replays skipped)\n",
		d.Selected, d.Scanned, d.Undecodable, d.SkippedReplays)
}

func printReplayJob(w io.Writer, j *adminapi.Job) {
	fmt.Fprintln(w)
	t := newTable(w, "JOB", "STATE", "SELECTED", "REPUBLISHED", "ALREADY", "FAILED")
	t.row(j.ID, j.State, j.Selected, j.Republished, j.Duplicates, j.Failed)
	_ = t.flush()
	if j.Republished > 0 {
		fmt.Fprintf(w, "republished %d events into QYS_CALLBACKS; the running dispatchers apply them\n", j.Republished)
	}
	if rep, err := j.ReplayReport(); err == nil && rep != nil {
		for _, e := range rep.Errors {
			fmt.Fprintf(w, "seq %s %s: %s\n", strconv.FormatUint(e.Seq, 10), e.EventID, e.Error)
		}
	}
}

func sortedCounts(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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
