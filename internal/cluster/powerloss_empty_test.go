package cluster

import (
	"strings"
	"testing"
)

// TestPowerRunEmpty: the power-loss drill's default run fails on empty
// data (no callback accepted, no archived document checked, no fact on
// QYS_LEDGER) instead of reporting 0 lost.
func TestPowerRunEmpty(t *testing.T) {
	full := &powerRun{factsN: 7, cuts: []cutResult{{accepted: 3, docs: 2}, {accepted: 9, docs: 0}}}
	if why := full.empty(); why != "" {
		t.Fatalf("a run with callbacks, documents and facts: %q, want empty", why)
	}
	for name, c := range map[string]struct {
		r    *powerRun
		want string
	}{
		"no cuts":      {&powerRun{}, "no callback answered success, no archived document checked, no fact found on QYS_LEDGER"},
		"no callbacks": {&powerRun{factsN: 1, cuts: []cutResult{{docs: 1}}}, "no callback answered success"},
		"no documents": {&powerRun{factsN: 1, cuts: []cutResult{{accepted: 1}}}, "no archived document checked"},
		"no facts":     {&powerRun{cuts: []cutResult{{accepted: 1, docs: 1}}}, "no fact found on QYS_LEDGER"},
	} {
		if got := c.r.empty(); got != c.want || !strings.Contains(got, "no ") {
			t.Errorf("%s: %q, want %q", name, got, c.want)
		}
	}
}
