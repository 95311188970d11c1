package cli

import (
	"strconv"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/adminapi"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
)

// TestLogCommandsThroughTheAPI: `log head`, `log proof` and `log
// consistency` read the receipt log through the admin API from another
// directory, check the proofs they print, and refuse bad selectors with
// the usage and unknown rows with exit 4.
func TestLogCommandsThroughTheAPI(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			_, l := opsLedger(t, kind)
			svc := startOpsService(t, l, natstest.New(t), newFake(t))
			vars, dir := clientVars(t, svc.url, opsViewerToken)
			archive(t, l, t.TempDir(), "c-1", "d-1", []byte("%PDF-1.7 one"), nil)
			var first adminapi.LogTree
			mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "log", "head", "--json"), &first)
			archive(t, l, t.TempDir(), "c-2", "d-2", []byte("%PDF-1.7 two"), nil)
			r := mustOpsRun(t, ExitOK, vars, "log", "head")
			if !strings.Contains(r.stdout, "Root") {
				t.Fatalf("log head: %s", r.stdout)
			}
			var ps adminapi.LogProofs
			mustOpsJSON(t, mustOpsRun(t, ExitOK, vars, "log", "proof", "--contract", "c-1", "--json"), &ps)
			if len(ps.Leaves) == 0 || ps.Tree.Size <= first.Size {
				t.Fatalf("proofs of c-1: %+v (first head %+v)", ps, first)
			}
			r = mustOpsRun(t, ExitOK, vars, "log", "proof", "--document", "d-1", "--tenant", "default")
			if !strings.Contains(r.stdout, "proof checked") || !strings.Contains(r.stdout, `"kind":"document"`) {
				t.Fatalf("log proof --document: %s", r.stdout)
			}
			r = mustOpsRun(t, ExitOK, vars, "log", "consistency", "--from", strconv.FormatInt(first.Size, 10))
			if !strings.Contains(r.stdout, "the old tree is a prefix of the new") {
				t.Fatalf("log consistency: %s", r.stdout)
			}
			mustOpsRun(t, ExitUsage, vars, "log", "proof")
			mustOpsRun(t, ExitUsage, vars, "log", "proof", "--index", "0", "--event", "e")
			mustOpsRun(t, ExitUsage, vars, "log", "consistency", "--from", "0")
			mustOpsRun(t, ExitNotFound, vars, "log", "proof", "--event", "nope")
			assertUntouched(t, dir)
		})
	}
}
