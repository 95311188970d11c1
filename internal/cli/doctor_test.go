package cli

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/embeddednats"
	"github.com/qyshook/qyshook/internal/natstest"
	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/qys/qystest"
	"github.com/qyshook/qyshook/tsa/tsatest"
)

// TestDoctor: one all-green run against the fake platform, NATS with the
// streams and a migrated SQLite ledger; then one run per fault (wrong app
// secret, unreachable NATS, unmigrated ledger), each exiting non-zero with
// a row saying what is wrong and how to fix it.
func TestDoctor(t *testing.T) {
	fake, env, vars := doctorEnv(t)
	vars["QYSHOOK_TSA_URLS"] = fake.TSAURL()
	with := func(k, v string) map[string]string {
		out := map[string]string{}
		for a, b := range vars {
			out[a] = b
		}
		out[k] = v
		return out
	}

	// Unmigrated ledger first (then migrate it). A ledger not created yet
	// is fine (serve creates it); one without the schema is not.
	if err := os.WriteFile(strings.TrimPrefix(vars["QYSHOOK_DB"], "sqlite://"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustOpsRun(t, ExitFailure, vars, "doctor")
	if !strings.Contains(r.stdout, "ledger") || !strings.Contains(r.stdout, "migrate up") {
		t.Errorf("unmigrated ledger:\n%s", r)
	}
	mustOpsRun(t, ExitOK, vars, "migrate", "up")

	r = mustOpsRun(t, ExitOK, vars, "doctor")
	t.Logf("all green:\n%s", r.stdout)
	for _, want := range []string{"configuration", "nats", "stream " + env.Names.CallbacksStream(), "ledger", "open API credentials", "clock",
		"checkpoint key", "tsa " + fake.TSAURL()} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("all green: no %q row:\n%s", want, r)
		}
	}
	if strings.Contains(r.stdout, " no ") {
		t.Errorf("all green has a failing row:\n%s", r)
	}

	fake.TSA().SetFault(tsatest.Fault500)
	r = mustOpsRun(t, ExitFailure, vars, "doctor")
	fake.TSA().SetFault(tsatest.FaultNone)
	if !strings.Contains(r.stdout, "tsa "+fake.TSAURL()) || !strings.Contains(r.stdout, "HTTP 500") {
		t.Errorf("authority down:\n%s", r)
	}
	r = mustOpsRun(t, ExitFailure, with("QYSHOOK_LOG_KEY", filepath.Join(t.TempDir(), "missing.key")), "doctor")
	if !strings.Contains(r.stdout, "checkpoint key") || !strings.Contains(r.stdout, "QYSHOOK_LOG_KEY") {
		t.Errorf("missing key:\n%s", r)
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

// TestDoctorCertification: doctor --certification prints the platform's
// raw answer and how qyshook reads it, for company and personal ids; an
// answer of no known shape exits 1 and says it stays unconfirmed; an
// unknown id (1604) reads as not found.
func TestDoctorCertification(t *testing.T) {
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	vars := withOpsFake(opsVars(t, testdb.URL(t, testdb.SQLite)), fake)
	vars["QYSHOOK_CALLBACK_SECRET"] = "0123456789abcdef"
	fake.SetCompanyAuth(qystest.CompanyAuth{RequestID: "co-pass", CompanyName: "甲方", ResultStatus: "2"})
	fake.SetCompanyAuth(qystest.CompanyAuth{RequestID: "co-odd", Result: []byte(`{"status":1}`)})
	fake.SetPersonalAuth(qystest.PersonalAuth{AuthID: "pe-no", Mode: "IVS", Status: "0"})

	r := mustOpsRun(t, ExitOK, vars, "doctor", "--certification", "co-pass", "--kind", "company")
	for _, want := range []string{"/companyauth/result?requestId=co-pass", `"status": 2`, "SUCCESS, confirmed", "documented"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("co-pass: no %q in\n%s", want, r)
		}
	}
	r = mustOpsRun(t, ExitFailure, vars, "doctor", "--certification", "co-odd", "--kind", "company")
	if !strings.Contains(r.stdout, "not recognised") || !strings.Contains(r.stdout, "unrecognized_result") {
		t.Errorf("co-odd:\n%s", r)
	}
	r = mustOpsRun(t, ExitOK, vars, "doctor", "--certification", "pe-no", "--kind", "personal", "--json")
	var got []certAnswer
	mustOpsJSON(t, r, &got)
	if len(got) != 1 || got[0].State != "NOT_CERTIFIED" || !strings.Contains(strings.Join(strings.Fields(string(got[0].Answer)), ""), `"realName":false`) {
		t.Errorf("pe-no: %+v", got)
	}
	// Both kinds asked; neither knows it: 1604 for the person.
	r = mustOpsRun(t, ExitOK, vars, "doctor", "--certification", "ghost")
	if strings.Count(r.stdout, "not found") != 2 || !strings.Contains(r.stdout, "1604") {
		t.Errorf("ghost:\n%s", r)
	}
	mustOpsRun(t, ExitUsage, vars, "doctor", "--certification", "x", "--kind", "robot")
	if r := mustOpsRun(t, ExitUsage, vars, "doctor", "--certification", "x", "--tenant", "nope"); !strings.Contains(r.stderr, `no tenant "nope"`) {
		t.Errorf("unknown tenant:\n%s", r)
	}
	mustOpsRun(t, ExitUsage, vars, "doctor", "--json")
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

// TestListCommandsRefuseBadArguments: the list commands refuse a
// negative --limit and a stray argument before calling the service.
func TestListCommandsRefuseBadArguments(t *testing.T) {
	vars := opsVars(t, testdb.URL(t, testdb.SQLite))
	for _, cmd := range [][]string{{"contracts", "list"}, {"dlq", "list"}, {"certifications", "list"}} {
		r := mustOpsRun(t, ExitUsage, vars, append(cmd, "--limit", "-1")...)
		if !strings.Contains(r.stderr, "--limit must not be negative") {
			t.Errorf("%v --limit -1:\n%s", cmd, r)
		}
		r = mustOpsRun(t, ExitUsage, vars, append(cmd, "stray")...)
		if !strings.Contains(r.stderr, `unexpected argument "stray"`) {
			t.Errorf("%v stray:\n%s", cmd, r)
		}
	}
}

// TestDoctorHidesTheTSAToken: an authority URL with a query token (and a
// password) is named in the doctor's rows, ok or failing, without them.
// Before, the row and the TSA's error showed the token.
func TestDoctorHidesTheTSAToken(t *testing.T) {
	fake, _, vars := doctorEnv(t)
	vars["QYSHOOK_TSA_URLS"] = strings.Replace(fake.TSAURL(), "http://", "http://user:pw-S3CRET@", 1) + "?token=T0KEN"
	mustOpsRun(t, ExitOK, vars, "migrate", "up")
	want := "tsa " + fake.TSAURL() + "?token=REDACTED"
	r := mustOpsRun(t, ExitOK, vars, "doctor")
	if !strings.Contains(r.stdout, want) || strings.Contains(r.stdout+r.stderr, "T0KEN") || strings.Contains(r.stdout+r.stderr, "S3CRET") {
		t.Errorf("authority up:\n%s", r)
	}
	fake.TSA().SetFault(tsatest.Fault500)
	r = mustOpsRun(t, ExitFailure, vars, "doctor")
	fake.TSA().SetFault(tsatest.FaultNone)
	if !strings.Contains(r.stdout, want) || strings.Contains(r.stdout+r.stderr, "T0KEN") || strings.Contains(r.stdout+r.stderr, "S3CRET") {
		t.Errorf("authority down:\n%s", r)
	}
}

// doctorEnv is the fake platform, NATS and the variables of a doctor run
// against them and a SQLite ledger.
func doctorEnv(t *testing.T) (*qystest.Server, *natstest.Env, map[string]string) {
	fake := qystest.NewServer()
	t.Cleanup(fake.Close)
	env := natstest.New(t)
	vars := withOpsFake(opsVars(t, testdb.URL(t, testdb.SQLite)), fake)
	vars["QYSHOOK_CALLBACK_SECRET"] = "0123456789abcdef"
	vars["QYSHOOK_NATS_URL"], vars["QYSHOOK_NATS_NAMESPACE"] = env.URL, env.Names.Namespace
	return fake, env, vars
}
