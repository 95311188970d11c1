package bench

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// DispatcherRounds is the outcome of RunDispatcherRounds: each round ran
// the dispatcher benchmark once per ledger, in the order given.
type DispatcherRounds struct {
	// DBs are the ledgers' kinds ("sqlite", "postgres") in run order.
	DBs []string
	// Results[round][i] is ledger i's result in that round.
	Results [][]*DispatcherResult
}

// RatiosOf are, per round, ledger i's events/s ÷ the first ledger's.
func (r *DispatcherRounds) RatiosOf(i int) []float64 {
	var xs []float64
	for _, round := range r.Results {
		if i < len(round) && len(round) > 0 {
			xs = append(xs, Ratio(round[i].PerSec, round[0].PerSec))
		}
	}
	return xs
}

// String formats every round, the ratios to the first ledger and their
// medians.
func (r *DispatcherRounds) String() string {
	var b strings.Builder
	for n, round := range r.Results {
		for _, res := range round {
			fmt.Fprintf(&b, "round %d  %s\n", n+1, res)
		}
	}
	r.writeRatios(&b)
	return b.String()
}

// Ratios is a line per ledger after the first: its ratio to the first
// ledger per round and the median ("" for one ledger).
func (r *DispatcherRounds) Ratios() string {
	var b strings.Builder
	r.writeRatios(&b)
	return b.String()
}

func (r *DispatcherRounds) writeRatios(w io.Writer) {
	for i := 1; i < len(r.DBs); i++ {
		xs := r.RatiosOf(i)
		parts := make([]string, len(xs))
		for k, x := range xs {
			parts[k] = fmt.Sprintf("%.3f", x)
		}
		var rates [2][]float64
		for _, round := range r.Results {
			rates[0] = append(rates[0], round[0].PerSec)
			rates[1] = append(rates[1], round[i].PerSec)
		}
		fmt.Fprintf(w, "%s ÷ %s per round: %s; median %.3f (median %.0f vs %.0f events/s)\n",
			r.DBs[i], r.DBs[0], strings.Join(parts, " "), Median(xs), Median(rates[1]), Median(rates[0]))
	}
}

// RunDispatcherRounds runs the dispatcher benchmark rounds times over
// every ledger in dbs ("sqlite" or a postgres:// URL), interleaved: round
// 1 runs each ledger in turn, then round 2, and so on, each run on a
// fresh stream and ledger. progress, when set, gets each result as it
// comes.
func RunDispatcherRounds(ctx context.Context, o DispatcherOptions, dbs []string, rounds int, progress io.Writer) (*DispatcherRounds, error) {
	if len(dbs) == 0 {
		dbs = []string{"sqlite"}
	}
	if rounds <= 0 {
		rounds = DefaultRounds
	}
	res := &DispatcherRounds{}
	for n := 1; n <= rounds; n++ {
		var round []*DispatcherResult
		for _, db := range dbs {
			run := o
			run.DB = db
			r, err := RunDispatcher(ctx, run)
			if err != nil {
				return nil, err
			}
			if n == 1 {
				res.DBs = append(res.DBs, r.DB)
			}
			if progress != nil {
				fmt.Fprintf(progress, "round %d  %s\n", n, r)
			}
			round = append(round, r)
		}
		res.Results = append(res.Results, round)
	}
	return res, nil
}
