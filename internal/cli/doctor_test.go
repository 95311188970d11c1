package cli

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/embeddednats"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys/qystest"
)

// TestDoctor: one all-green run against the fake platform, NATS with the
// streams and a migrated SQLite ledger; then one run per fault (wrong app
// secret, unreachable NATS, unmigrated ledger), each exiting non-zero with
// a row saying what is wrong and how to fix it.
func TestDoctor(t *testing.T) {
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	env := natstest.New(t)
	vars := withOpsFake(opsVars(t, testdb.URL(t, testdb.SQLite)), fake)
	vars["QYSHOOK_CALLBACK_SECRET"] = "0123456789abcdef"
	vars["QYSHOOK_NATS_URL"], vars["QYSHOOK_NATS_NAMESPACE"] = env.URL, env.Names.Namespace
	with := func(k, v string) map[string]string {
		out := map[string]string{}
		for a, b := range vars {
			out[a] = b
		}
		out[k] = v
		return out
	}

	// Unmigrated ledger first (then migrate it).
	r := mustOpsRun(t, ExitFailure, vars, "doctor")
	if !strings.Contains(r.stdout, "ledger") || !strings.Contains(r.stdout, "migrate up") {
		t.Errorf("unmigrated ledger:\n%s", r)
	}
	mustOpsRun(t, ExitOK, vars, "migrate", "up")

	r = mustOpsRun(t, ExitOK, vars, "doctor")
	t.Logf("all green:\n%s", r.stdout)
	for _, want := range []string{"configuration", "nats", "stream " + env.Names.CallbacksStream(), "ledger", "open API credentials", "clock"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("all green: no %q row:\n%s", want, r)
		}
	}
	if strings.Contains(r.stdout, " no ") {
		t.Errorf("all green has a failing row:\n%s", r)
	}

	r = mustOpsRun(t, ExitFailure, with("QYSHOOK_QYS_APP_SECRET", "wrong-"+fake.AppSecret), "doctor")
	if !strings.Contains(r.stdout, "refused the credentials") || strings.Contains(r.stdout+r.stderr, fake.AppSecret) {
		t.Errorf("wrong secret:\n%s", r)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "nats://" + l.Addr().String()
	l.Close()
	r = mustOpsRun(t, ExitFailure, with("QYSHOOK_NATS_URL", dead), "doctor")
	if !strings.Contains(r.stdout, "nats: not reachable") || !strings.Contains(r.stdout, "QYSHOOK_NATS_URL") {
		t.Errorf("unreachable NATS:\n%s", r)
	}

	r = mustOpsRun(t, ExitFailure, with("QYSHOOK_RECONCILE_INTERVAL", "1ns"), "doctor")
	if !strings.Contains(r.stdout, "QYSHOOK_RECONCILE_INTERVAL") {
		t.Errorf("bad configuration:\n%s", r)
	}
}

// TestDoctorSyncMode: with the embedded server, doctor shows the sync
// mode serve will run the store in: with a client port for subscribers
// (QYSHOOK_EMBEDDED_NATS_ADDR alone) the same as without one, not
// downgraded; each-write, with the reason, only when the port's clients
// may publish (QYSHOOK_EMBEDDED_NATS_ACCESS=publish); a refused value of
// that setting is a configuration error.
func TestDoctorSyncMode(t *testing.T) {
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	vars := withOpsFake(opsVars(t, testdb.URL(t, testdb.SQLite)), fake)
	vars["QYSHOOK_CALLBACK_SECRET"] = "0123456789abcdef"
	mustOpsRun(t, ExitOK, vars, "migrate", "up")
	syncRow := func(r string) string {
		for _, line := range strings.Split(r, "\n") {
			if strings.HasPrefix(line, "nats sync") {
				return line
			}
		}
		t.Fatalf("no nats sync row:\n%s", r)
		return ""
	}
	want, _ := embeddednats.PlanSync(embeddednats.Options{StoreDir: filepath.Join(vars["QYSHOOK_DATA_DIR"], "nats")})
	without := syncRow(mustOpsRun(t, ExitOK, vars, "doctor").stdout)
	if !strings.Contains(without, want) {
		t.Fatalf("without a client port: %q, want %q", without, want)
	}
	vars["QYSHOOK_EMBEDDED_NATS_ADDR"] = "127.0.0.1:4223"
	sub := syncRow(mustOpsRun(t, ExitOK, vars, "doctor").stdout)
	if !strings.Contains(sub, want) || !strings.Contains(sub, "subscribers only") {
		t.Fatalf("with a client port for subscribers: %q, want %q and the port's access", sub, want)
	}
	vars["QYSHOOK_EMBEDDED_NATS_ACCESS"] = "publish"
	pub := syncRow(mustOpsRun(t, ExitOK, vars, "doctor").stdout)
	if !strings.Contains(pub, "each-write") || !strings.Contains(pub, "publish") {
		t.Fatalf("with a client port for publishers: %q, want each-write and why", pub)
	}
	vars["QYSHOOK_EMBEDDED_NATS_ACCESS"] = "everything"
	if r := mustOpsRun(t, ExitFailure, vars, "doctor"); !strings.Contains(r.stdout, "QYSHOOK_EMBEDDED_NATS_ACCESS") {
		t.Fatalf("refused access value:\n%s", r)
	}
}
