package app

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/store"
)

// registerFoundEdited exports how many rows this process's commits found
// edited outside qyshook (a found-edited leaf of the receipt log each) and
// logs an error line for each. Nothing when the ledger does not look.
func registerFoundEdited(reg prometheus.Registerer, l store.Ledger, log zerolog.Logger) {
	ef, ok := l.(store.LogEditFinder)
	if !ok {
		return
	}
	ef.OnFoundEdited(func(p store.LogProblem) {
		log.Error().Str("row", p.What).Int64("leaf", p.Leaf).
			Msg("receipt log: a row qyshook was writing had been edited outside qyshook; the log records it (qyshook verify --log reports it)")
	})
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "qyshook_log_found_edited_total",
		Help: "Rows a commit found edited outside qyshook (differing from their last receipt-log leaf): each is a found-edited leaf verify --log reports."},
		func() float64 { return float64(ef.FoundEdited()) }))
}
