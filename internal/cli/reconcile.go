package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/qyshook/qyshook/adminapi"
)

// reconcilePoll is how often reconcile asks whether its pass ended.
const reconcilePoll = 200 * time.Millisecond

func runReconcile(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "reconcile", "[--since 72h|2006-01-02T15:04:05Z] [--json]\n"+
		"  Asks the running service to run one reconcile pass now (stuck contracts, the archive queue, contracts\n"+
		"  published since --since, pending certifications) and prints what it did: contracts and certifications\n"+
		"  are counted apart, and the certifications the API could not confirm are named (qyshook certifications\n"+
		"  show <id>); its dispatchers apply the RECONCILE triggers.")
	sinceFlag := fs.String("since", "", "list contracts published since this long ago or this RFC 3339 time "+
		"(default: the service's QYSHOOK_RECONCILE_WINDOW; at most 90 days back)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return opsUsage(fs, "unexpected argument %q", pos[0])
	}
	var body adminapi.ReconcileRequest
	if *sinceFlag != "" {
		since, err := parseSince(*sinceFlag, time.Now())
		if err != nil {
			return opsUsage(fs, "--since: %v", err)
		}
		body.Since = since.UTC().Format(time.RFC3339Nano)
	}
	c, err := newAdminClient(env)
	if err != nil {
		return err
	}
	job, err := c.Reconcile(ctx, body)
	if err != nil {
		return apiErr(c, err)
	}
	run, err := waitReconcileRun(ctx, c, job.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := printJSON(env.Stdout, run); err != nil {
			return err
		}
	} else {
		printReconcileRun(env.Stdout, run)
	}
	if run.Error != "" {
		return fmt.Errorf("reconcile pass %s incomplete: %s", run.ID, run.Error)
	}
	return nil
}

// waitReconcileRun polls GET /reconcile-runs until pass id is finished.
func waitReconcileRun(ctx context.Context, c *adminapi.Client, id string) (*adminapi.ReconcileRun, error) {
	var run *adminapi.ReconcileRun
	for run == nil || run.FinishedAt == nil {
		if run != nil {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("stopped waiting; pass %s keeps running in the service: %w", id, ctx.Err())
			case <-time.After(reconcilePoll):
			}
		}
		runs, _, err := collect(ctx, c, c.ReconcileRuns, nil, 20)
		if err != nil {
			return nil, err
		}
		run = &adminapi.ReconcileRun{ID: id}
		for i := range runs {
			if runs[i].ID == id {
				run = &runs[i]
			}
		}
	}
	return run, nil
}

// printReconcileRun says what a finished pass did, contracts and
// certifications apart.
func printReconcileRun(w io.Writer, run *adminapi.ReconcileRun) {
	since := "-"
	if run.Since != nil {
		since = opsTime(*run.Since)
	}
	fmt.Fprintf(w, "reconciled since %s: checked %d contracts and %d pending certifications, published %d RECONCILE triggers\n",
		since, run.Checked, run.CertificationsChecked+run.CertificationsUnconfirmed, run.Triggered)
	if n := run.CertificationsChecked + run.CertificationsUnconfirmed; n > 0 {
		line := fmt.Sprintf("certifications: %d confirmed by the API, %d unconfirmed", run.CertificationsChecked,
			run.CertificationsUnconfirmed)
		if run.CertificationsUnconfirmed > 0 {
			ids := strings.Join(run.UnconfirmedCertifications, ", ")
			if more := run.CertificationsUnconfirmed - int64(len(run.UnconfirmedCertifications)); more > 0 {
				ids += fmt.Sprintf(" and %d more", more)
			}
			line += " (" + ids + "; qyshook certifications show <id>)"
		}
		fmt.Fprintln(w, line)
	}
	if run.Requeued > 0 {
		fmt.Fprintf(w, "queued %d failed or never-queued documents for the archive again\n", run.Requeued)
	}
	if run.Triggered > 0 || run.Requeued > 0 {
		fmt.Fprintln(w, "(the running dispatcher applies the triggers and archives the documents)")
	}
}

// parseSince reads a duration back from now (72h) or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q: want a positive duration", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration such as 72h nor an RFC 3339 time", s)
	}
	if t.After(now) {
		return time.Time{}, fmt.Errorf("%q is in the future", s)
	}
	return t, nil
}
