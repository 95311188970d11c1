package app

import (
	"bytes"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/store"
)

// editFinder is a ledger whose commits found n edited rows.
type editFinder struct {
	store.Ledger
	n  int64
	on func(store.LogProblem)
}

func (e *editFinder) FoundEdited() int64                     { return e.n }
func (e *editFinder) OnFoundEdited(f func(store.LogProblem)) { e.on = f }

// TestFoundEditedMetricAndLog: the dispatcher exports the ledger's count
// of rows found edited outside qyshook and logs an error line per row.
func TestFoundEditedMetricAndLog(t *testing.T) {
	var buf bytes.Buffer
	reg := prometheus.NewRegistry()
	l := &editFinder{}
	registerFoundEdited(reg, l, zerolog.New(&buf))
	l.n = 1
	l.on(store.LogProblem{What: "contract default/C1", Leaf: 42, Problem: "edited outside qyshook before leaf 42 (found at commit)"})
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP qyshook_log_found_edited_total Rows a commit found edited outside qyshook (differing from their last receipt-log leaf): each is a found-edited leaf verify --log reports.
# TYPE qyshook_log_found_edited_total counter
qyshook_log_found_edited_total 1
`), "qyshook_log_found_edited_total"); err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	for _, want := range []string{`"level":"error"`, `"row":"contract default/C1"`, `"leaf":42`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %s lacks %s", line, want)
		}
	}
	// A ledger that does not look registers nothing.
	reg2 := prometheus.NewRegistry()
	registerFoundEdited(reg2, struct{ store.Ledger }{}, zerolog.Nop())
	if n, err := testutil.GatherAndCount(reg2); err != nil || n != 0 {
		t.Fatalf("%d metrics (%v) for a ledger without the check", n, err)
	}
}
