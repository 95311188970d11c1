package bench

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// DispatcherRounds is the outcome of RunDispatcherRounds: each round ran
// the dispatcher benchmark once per ledger (and, with LogBoth, once with
// the receipt log and once without it per ledger), in the order given.
type DispatcherRounds struct {
	// DBs are the ledgers' kinds ("sqlite", "postgres") in run order.
	DBs []string
	// Results[round][i] is ledger i's result in that round.
	Results [][]*DispatcherResult
	// Bare[round][i], with LogBoth, is ledger i's result in that round
	// without the receipt log.
	Bare [][]*DispatcherResult
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

// LogRatiosOf are, per round, ledger i's events/s with the receipt log ÷
// without it (nil unless the rounds ran both).
func (r *DispatcherRounds) LogRatiosOf(i int) []float64 {
	var xs []float64
	for n, round := range r.Results {
		if n < len(r.Bare) && i < len(round) && i < len(r.Bare[n]) {
			xs = append(xs, Ratio(round[i].PerSec, r.Bare[n][i].PerSec))
		}
	}
	return xs
}

// String formats every round, the ratios to the first ledger and their
// medians.
func (r *DispatcherRounds) String() string {
	var b strings.Builder
	for n, round := range r.Results {
		for i, res := range round {
			fmt.Fprintf(&b, "round %d  %s\n", n+1, res)
			if n < len(r.Bare) && i < len(r.Bare[n]) {
				fmt.Fprintf(&b, "round %d  %s\n", n+1, r.Bare[n][i])
			}
		}
	}
	r.writeRatios(&b)
	return b.String()
}

// Ratios is a line per ledger after the first: its ratio to the first
// ledger per round and the median ("" for one ledger); with LogBoth, a
// line per ledger first: with the log ÷ without it.
func (r *DispatcherRounds) Ratios() string {
	var b strings.Builder
	r.writeRatios(&b)
	return b.String()
}

func (r *DispatcherRounds) writeRatios(w io.Writer) {
	if len(r.Bare) > 0 {
		for i, db := range r.DBs {
			xs := r.LogRatiosOf(i)
			var with, without, cpuWith, cpuWithout []float64
			for n, round := range r.Results {
				with = append(with, round[i].PerSec)
				without = append(without, r.Bare[n][i].PerSec)
				cpuWith = append(cpuWith, round[i].CPUPerEvent())
				cpuWithout = append(cpuWithout, r.Bare[n][i].CPUPerEvent())
			}
			fmt.Fprintf(w, "%s with the receipt log ÷ without, per round: %s; median %.3f (median %.0f vs %.0f events/s; process CPU %.0f vs %.0f µs/event)\n",
				db, fmtRatios(xs), Median(xs), Median(with), Median(without), Median(cpuWith), Median(cpuWithout))
		}
	}
	for i := 1; i < len(r.DBs); i++ {
		xs := r.RatiosOf(i)
		var rates [2][]float64
		for _, round := range r.Results {
			rates[0] = append(rates[0], round[0].PerSec)
			rates[1] = append(rates[1], round[i].PerSec)
		}
		fmt.Fprintf(w, "%s ÷ %s per round: %s; median %.3f (median %.0f vs %.0f events/s)\n",
			r.DBs[i], r.DBs[0], fmtRatios(xs), Median(xs), Median(rates[1]), Median(rates[0]))
	}
}

func fmtRatios(xs []float64) string {
	parts := make([]string, len(xs))
	for k, x := range xs {
		parts[k] = fmt.Sprintf("%.3f", x)
	}
	return strings.Join(parts, " ")
}

// RunDispatcherRounds runs the dispatcher benchmark rounds times over
// every ledger in dbs ("sqlite" or a postgres:// URL), interleaved: round
// 1 runs each ledger in turn, then round 2, and so on, each run on a
// fresh stream and ledger. With logBoth each ledger runs twice per round,
// with the receipt log and without it (o.NoReceiptLog ignored), the
// order alternating from round to round so that a drift of the machine
// favours neither. progress, when set, gets each result as it comes.
func RunDispatcherRounds(ctx context.Context, o DispatcherOptions, dbs []string, rounds int, logBoth bool, progress io.Writer) (*DispatcherRounds, error) {
	if len(dbs) == 0 {
		dbs = []string{"sqlite"}
	}
	if rounds <= 0 {
		rounds = DefaultRounds
	}
	res := &DispatcherRounds{}
	for n := 1; n <= rounds; n++ {
		var round, bare []*DispatcherResult
		for _, db := range dbs {
			modes := []bool{o.NoReceiptLog}
			if logBoth {
				modes = []bool{false, true}
				if n%2 == 0 {
					modes = []bool{true, false}
				}
			}
			for _, noLog := range modes {
				run := o
				run.DB, run.NoReceiptLog = db, noLog
				r, err := RunDispatcher(ctx, run)
				if err != nil {
					return nil, err
				}
				if progress != nil {
					fmt.Fprintf(progress, "round %d  %s\n", n, r)
				}
				if logBoth && noLog {
					bare = append(bare, r)
				} else {
					round = append(round, r)
				}
			}
			if n == 1 {
				res.DBs = append(res.DBs, round[len(round)-1].DB)
			}
		}
		res.Results = append(res.Results, round)
		if logBoth {
			res.Bare = append(res.Bare, bare)
		}
	}
	return res, nil
}
