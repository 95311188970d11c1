package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/qyshook/qyshook/internal/app"
	"github.com/qyshook/qyshook/store"
)

// logProblemLine is one problem in `verify --log --json` (JSON lines: one
// per problem, then the summary).
type logProblemLine struct {
	What    string `json:"what"`
	Leaf    *int64 `json:"leaf,omitempty"`
	Problem string `json:"problem"`
}

// logSummaryLine is the last line of `verify --log --json`.
type logSummaryLine struct {
	Summary     bool   `json:"summary"`
	HeadSize    int64  `json:"head_size"`
	HeadRoot    string `json:"head_root"`
	RebuiltSize int64  `json:"rebuilt_size"`
	RebuiltRoot string `json:"rebuilt_root"`
	Leaves      int64  `json:"leaves"`
	Hashes      int64  `json:"stored_hashes"`
	Rows        int64  `json:"rows"`
	Files       int64  `json:"files"`
	Pruned      int64  `json:"pruned_rows"`
	Checkpoints string `json:"checkpoints"`
	Problems    int64  `json:"problems"`
}

// runVerifyLog is `qyshook verify --log`: the receipt log against the
// rows and files it describes, one line per problem as found (the log is
// read page by page: memory stays flat), then a summary line. Exit 1 on
// any problem, as `verify` on a mismatch.
func runVerifyLog(ctx context.Context, env *Env, asJSON bool) error {
	svc, err := openOps(ctx, env, app.Parts{Ledger: true, ReadOnlyLedger: true})
	if err != nil {
		return err
	}
	defer svc.Close()
	lv, ok := svc.Ledger.(store.LogVerifier)
	if !ok {
		return fmt.Errorf("verify --log: the ledger %T keeps no receipt log", svc.Ledger)
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetEscapeHTML(false)
	var werr error
	report := func(p store.LogProblem) {
		if werr != nil {
			return
		}
		if asJSON {
			line := logProblemLine{What: p.What, Problem: p.Problem}
			if p.Leaf >= 0 {
				line.Leaf = &p.Leaf
			}
			werr = enc.Encode(line)
			return
		}
		_, werr = fmt.Fprintln(env.Stdout, "PROBLEM", p.String())
	}
	sum, err := lv.VerifyLog(ctx, store.LogVerifyOptions{DataDir: svc.Cfg.DataDir}, report)
	if err != nil {
		return err
	}
	checked, wired, err := checkLogCheckpoints(ctx, svc, sum.Rebuilt, func(p store.LogProblem) {
		sum.Problems++
		report(p)
	})
	if err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	cps := "not checked here"
	if wired {
		cps = fmt.Sprintf("%d checked, %d anchored (%d to a pinned root)", checked.Checked, checked.Anchored, checked.Pinned)
	}
	if asJSON {
		werr = enc.Encode(logSummaryLine{Summary: true, HeadSize: sum.Head.N, HeadRoot: sum.Head.Hash.String(),
			RebuiltSize: sum.Rebuilt.N, RebuiltRoot: sum.Rebuilt.Hash.String(), Leaves: sum.Leaves, Hashes: sum.Hashes,
			Rows: sum.Rows, Files: sum.Files, Pruned: sum.Pruned, Checkpoints: cps, Problems: sum.Problems})
	} else {
		_, werr = fmt.Fprintf(env.Stdout, "receipt log: %d leaves (head %d, root %s), %d stored hashes, %d rows, %d files, %d pruned rows checked; checkpoints: %s; %s\n",
			sum.Leaves, sum.Head.N, sum.Head.Hash, sum.Hashes, sum.Rows, sum.Files, sum.Pruned, cps, problems(sum.Problems))
	}
	if werr != nil {
		return werr
	}
	if sum.Problems > 0 {
		return fmt.Errorf("%s in the receipt log", problems(sum.Problems))
	}
	return nil
}

// problems counts problems in words: "1 problem", "2 problems".
func problems(n int64) string {
	if n == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", n)
}

// checkLogCheckpoints checks the signed checkpoints and their RFC 3161
// time-stamps against the rebuilt tree (app.Services.CheckLogCheckpoints):
// wired false when the ledger keeps no checkpoints.
func checkLogCheckpoints(ctx context.Context, svc *app.Services, rebuilt tlog.Tree, report func(store.LogProblem)) (got app.CheckpointsChecked, wired bool, err error) {
	return svc.CheckLogCheckpoints(ctx, rebuilt, report)
}

var errLogFlags = errors.New("--log goes alone (with --json)")
