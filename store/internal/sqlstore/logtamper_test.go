package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/testdb"
	"github.com/qyshook/qyshook/store"
	"github.com/qyshook/qyshook/store/internal/sqlstore"
)

// colType says how a tamper edits a column.
type colType int

const (
	cText colType = iota
	cTime
	cNullTime
	cInt
	cBool
	cJSON
	cBytes
)

// tamperTable is a ledger table a tamper test edits, deletes from and
// reorders: its key, the columns of the key named in verify's line
// (expect) and the columns the receipt log covers.
type tamperTable struct {
	name   string
	key    []string
	expect []int // positions in key whose values name the row in the problem line
	cols   map[string]colType
}

var tamperTables = []tamperTable{
	{"events", []string{"id"}, []int{0}, map[string]colType{"tenant": cText, "kind": cText, "type": cText,
		"contract_id": cText, "source": cText, "received_at": cTime, "applied_at": cTime, "payload": cJSON}},
	{"contracts", []string{"tenant", "id"}, []int{1}, map[string]colType{"biz_id": cText, "subject": cText, "status": cText,
		"confirmed": cBool, "signed_count": cInt, "updated_at": cTime, "completed_at": cNullTime, "detail": cJSON}},
	{"signatories", []string{"tenant", "contract_id", "id"}, []int{1}, map[string]colType{"tenant_type": cText,
		"tenant_name": cText, "status": cText, "serial_no": cInt}},
	{"documents", []string{"tenant", "id"}, []int{1}, map[string]colType{"contract_id": cText, "title": cText,
		"sha256": cText, "size": cInt, "path": cText}},
	{"certifications", []string{"tenant", "request_id"}, []int{1}, map[string]colType{"kind": cText, "status": cText,
		"state": cText, "success": cBool, "mode": cText, "name": cText, "fail_reason": cText, "confirmed": cBool,
		"reason": cText, "detail": cJSON, "answer": cJSON, "updated_at": cTime}},
	{"outbox", []string{"id"}, []int{0}, map[string]colType{"subject": cText, "tenant": cText, "contract_id": cText,
		"seq": cInt, "created_at": cTime, "payload": cBytes}},
	{"audit", []string{"id"}, []int{0}, map[string]colType{"at": cTime, "who": cText, "action": cText, "selector": cText,
		"count": cInt, "outcome": cText, "job_id": cText}},
	{"dead_letters", []string{"id"}, []int{0}, map[string]colType{"event_id": cText, "tenant": cText, "consumer": cText,
		"subject": cText, "stream_seq": cInt, "reason": cText, "deliveries": cInt, "payload": cBytes, "created_at": cTime}},
	{"log_leaves", []string{"idx"}, nil, map[string]colType{"leaf": cText}},
	{"log_hashes", []string{"idx"}, nil, map[string]colType{"hash": cBytes}},
}

// editExpr is the SET expression that changes column c of type t.
func editExpr(pg bool, c string, t colType) string {
	switch {
	case t == cText:
		return c + " || 'x'"
	case t == cInt:
		return c + " + 7919"
	case t == cBool && pg:
		return "NOT " + c
	case t == cBool:
		return "1 - " + c
	case t == cTime && pg:
		return c + " + interval '1 second'"
	case t == cNullTime && pg:
		return "COALESCE(" + c + " + interval '1 second', now())"
	case t == cJSON && pg:
		return "(COALESCE(" + c + "::text, '{}') || ' ')::json"
	case t == cBytes && pg:
		return "COALESCE(" + c + ", ''::bytea) || '\\x78'::bytea"
	case t == cBytes:
		return "COALESCE(" + c + ", X'') || X'78'"
	default: // SQLite text times and JSON
		return "COALESCE(" + c + ", '') || 'x'"
	}
}

// tamperTrials is QYSHOOK_TAMPER_TRIALS (default 300).
func tamperTrials(t *testing.T) int {
	n := 300
	if v := os.Getenv("QYSHOOK_TAMPER_TRIALS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("QYSHOOK_TAMPER_TRIALS=%q is not a positive number", v)
		}
	}
	return n
}

// TestLogTamper edits, deletes and reorders random rows of the ledger
// (and of the log's own tables) and flips random bytes of archived files,
// QYSHOOK_TAMPER_TRIALS times per database: each trial in a transaction
// verified and rolled back (a file flipped back). verify --log must name
// the row (its id) or the file (its path) every time.
func TestLogTamper(t *testing.T) {
	for _, kind := range testdb.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			f := newLogFixture(t, kind, 12)
			if ps, _ := f.verify(t); len(ps) > 0 {
				t.Fatalf("untouched ledger: %v", ps)
			}
			trials := tamperTrials(t)
			rng := rand.New(rand.NewPCG(uint64(trials), 19))
			pg := kind == testdb.Postgres
			caught := map[string]int{}
			tried := map[string]int{}
			for i := 0; i < trials; i++ {
				op, expect, problems := f.tamperOnce(t, rng, pg)
				tried[op]++
				if named(problems, expect) {
					caught[op]++
					continue
				}
				t.Errorf("trial %d: %s not caught (want a line naming one of %q); verify said %v", i, op, expect, problems)
			}
			total := 0
			for op, n := range tried {
				total += caught[op]
				t.Logf("%-24s %5d tried, %5d caught", op, n, caught[op])
			}
			t.Logf("%s: %d of %d tampers caught and named", kind, total, trials)
		})
	}
}

func named(ps []store.LogProblem, expect []string) bool {
	for _, p := range ps {
		for _, e := range expect {
			if strings.Contains(p.What, e) {
				return true
			}
		}
	}
	return false
}

// tamperOnce applies one random tamper, verifies and undoes it.
func (f *logFixture) tamperOnce(t *testing.T, rng *rand.Rand, pg bool) (op string, expect []string, ps []store.LogProblem) {
	t.Helper()
	ctx := context.Background()
	if rng.IntN(8) == 0 {
		return f.flipFile(t, rng)
	}
	tx, err := sqlstore.Writer(f.db).BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	tb := tamperTables[rng.IntN(len(tamperTables))]
	keys := randomRows(t, tx, tb, rng, 2)
	where := func(k []any) (string, []any) {
		parts := make([]string, len(tb.key))
		for i, c := range tb.key {
			parts[i] = c + " = ?"
		}
		return strings.Join(parts, " AND "), k
	}
	expectOf := func(k []any) []string {
		if tb.expect == nil { // the log's own tables: any line on a leaf, a hash or the head
			return []string{"leaf ", "stored hash", "head"}
		}
		var out []string
		for _, i := range tb.expect {
			out = append(out, fmt.Sprint(k[i]))
		}
		return out
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if pg {
			q = numbered(q)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s %v: %v", q, args, err)
		}
	}
	switch r := rng.IntN(3); {
	case r == 0 || len(keys) < 2 && r == 2:
		col := pickCol(tb, rng)
		w, args := where(keys[0])
		exec("UPDATE "+tb.name+" SET "+col+" = "+editExpr(pg, col, tb.cols[col])+" WHERE "+w, args...)
		op, expect = "edit "+tb.name+"."+col, expectOf(keys[0])
	case r == 1:
		w, args := where(keys[0])
		exec("DELETE FROM "+tb.name+" WHERE "+w, args...)
		op, expect = "delete "+tb.name, expectOf(keys[0])
	default:
		// Reorder: the two rows swap what they hold (every covered column).
		a, b := keys[0], keys[1]
		var cols []string
		for _, c := range sortedCols(tb) {
			if !(tb.name == "dead_letters" && c == "stream_seq") { // unique with consumer: cannot swap in place
				cols = append(cols, c)
			}
		}
		va, vb := readCols(t, tx, tb, cols, a, pg), readCols(t, tx, tb, cols, b, pg)
		if fmt.Sprint(va) == fmt.Sprint(vb) {
			t.Fatalf("reorder %s: rows %v and %v hold the same values: the fixture must make rows differ", tb.name, a, b)
		}
		set := make([]string, len(cols))
		for i, c := range cols {
			set[i] = c + " = ?"
		}
		wa, aa := where(a)
		wb, ab := where(b)
		exec("UPDATE "+tb.name+" SET "+strings.Join(set, ", ")+" WHERE "+wa, append(vb, aa...)...)
		exec("UPDATE "+tb.name+" SET "+strings.Join(set, ", ")+" WHERE "+wb, append(va, ab...)...)
		op, expect = "reorder "+tb.name, append(expectOf(a), expectOf(b)...)
	}
	sum, err := sqlstore.VerifyLogIn(ctx, f.db, tx, store.LogVerifyOptions{DataDir: f.dataDir, PageSize: 50},
		func(p store.LogProblem) { ps = append(ps, p) })
	if err != nil {
		t.Fatalf("%s: verify: %v", op, err)
	}
	_ = sum
	return op, expect, ps
}

func pickCol(tb tamperTable, rng *rand.Rand) string {
	cols := sortedCols(tb)
	return cols[rng.IntN(len(cols))]
}

func sortedCols(tb tamperTable) []string {
	var cols []string
	for c := range tb.cols {
		cols = append(cols, c)
	}
	// map order is random; sort for a reproducible rng
	for i := 1; i < len(cols); i++ {
		for j := i; j > 0 && cols[j] < cols[j-1]; j-- {
			cols[j], cols[j-1] = cols[j-1], cols[j]
		}
	}
	return cols
}

func numbered(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// randomRows picks up to n distinct random rows of tb (their keys).
func randomRows(t *testing.T, tx *sql.Tx, tb tamperTable, rng *rand.Rand, n int) [][]any {
	t.Helper()
	var count int
	if err := tx.QueryRow("SELECT COUNT(*) FROM " + tb.name).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count == 0 {
		t.Fatalf("table %s is empty", tb.name)
	}
	var out [][]any
	for _, off := range rng.Perm(count)[:min(n, count)] {
		vals := make([]any, len(tb.key))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		q := "SELECT " + strings.Join(tb.key, ", ") + " FROM " + tb.name + " ORDER BY " + strings.Join(tb.key, ", ") +
			" LIMIT 1 OFFSET " + strconv.Itoa(off)
		if err := tx.QueryRow(q).Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	return out
}

func readCols(t *testing.T, tx *sql.Tx, tb tamperTable, cols []string, key []any, pg bool) []any {
	t.Helper()
	parts := make([]string, len(tb.key))
	for i, c := range tb.key {
		parts[i] = c + " = ?"
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + tb.name + " WHERE " + strings.Join(parts, " AND ")
	if pg {
		q = numbered(q)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := tx.QueryRow(q, key...).Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	for i, c := range cols { // json comes back as bytes; pass it back as text
		if b, ok := vals[i].([]byte); ok && tb.cols[c] == cJSON {
			vals[i] = string(b)
		}
	}
	return vals
}

// flipFile flips one random byte of a random archived file, verifies
// and flips it back.
func (f *logFixture) flipFile(t *testing.T, rng *rand.Rand) (string, []string, []store.LogProblem) {
	t.Helper()
	rel := f.files[rng.IntN(len(f.files))]
	path := filepath.Join(f.dataDir, rel)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := rng.IntN(len(b))
	orig := b[i]
	b[i] ^= byte(1 + rng.IntN(255))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ps, _ := f.verify(t)
	b[i] = orig
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return "flip byte of file", []string{rel}, ps
}
