package cli

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/internal/app"
)

// TestOnlyMigrateOpensTheLedger walks the CLI's source: no command but
// migrate opens a ledger (store/ledgerdb, the store drivers), and none but
// the service itself (serve, demo) builds app services or touches NATS,
// the dispatcher or the replay machinery. contracts, dlq, replay and
// reconcile reach the deployment through the admin API only.
func TestOnlyMigrateOpensTheLedger(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	// import path -> the files allowed to import it.
	restricted := map[string][]string{
		"github.com/qyshook/qyshook/store/ledgerdb":        {"migrate.go", "local.go"},
		"github.com/qyshook/qyshook/store/sqlite":          {"migrate.go"},
		"github.com/qyshook/qyshook/store/postgres":        {"migrate.go"},
		"github.com/qyshook/qyshook/internal/app":          {"serve.go", "demo.go", "local.go", "verify.go", "verifylog.go", "doctor.go"},
		"github.com/qyshook/qyshook/internal/natsconn":     nil,
		"github.com/qyshook/qyshook/replay":                nil,
		"github.com/qyshook/qyshook/dispatcher":            nil,
		"github.com/qyshook/qyshook/archiver":              nil,
		"github.com/nats-io/nats.go":                       {"sim.go"},
		"github.com/nats-io/nats.go/jetstream":             nil,
		"github.com/qyshook/qyshook/store/docstore":        nil,
		"github.com/qyshook/qyshook/store/internal":        nil,
		"github.com/qyshook/qyshook/internal/bench":        {"bench.go"},
		"github.com/qyshook/qyshook/internal/embeddednats": nil,
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			allowed, ok := restricted[path]
			if !ok {
				continue
			}
			if !contains(allowed, name) {
				t.Errorf("%s imports %s: only %v may (operator commands go through the admin API)", name, path, allowed)
			}
		}
		checkCalls(t, name, src)
	}
	if checked < 8 {
		t.Fatalf("checked %d files; the walk is not looking at the CLI's source", checked)
	}
}

// checkCalls refuses, outside the service itself (demo.go runs and reads
// back its own data dir): ledgerdb writers (migrate.go may; local.go only
// opens read-only), app.Open except local.go's (which opens no ledger and
// no NATS), and any app.Parts that asks for NATS or a writable ledger.
func checkCalls(t *testing.T, name string, src []byte) {
	t.Helper()
	if name == "demo.go" || name == "serve.go" {
		return
	}
	f, err := parser.ParseFile(token.NewFileSet(), name, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			pkg, ok := n.X.(*ast.Ident)
			if !ok {
				break
			}
			switch {
			case pkg.Name == "ledgerdb" && name == "migrate.go":
			case pkg.Name == "ledgerdb" && name == "local.go" && (n.Sel.Name == "OpenReadOnly" || n.Sel.Name == "DefaultFile"):
			case pkg.Name == "ledgerdb":
				t.Errorf("%s uses ledgerdb.%s: only migrate opens the ledger for writing", name, n.Sel.Name)
			case pkg.Name == "app" && n.Sel.Name == "Open" && name != "local.go":
				t.Errorf("%s calls app.Open: operator commands go through the admin API (local.go opens read-only)", name)
			}
		case *ast.CompositeLit:
			sel, ok := n.Type.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Parts" {
				break
			}
			set := map[string]bool{}
			for _, e := range n.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					k, _ := kv.Key.(*ast.Ident)
					v, _ := kv.Value.(*ast.Ident)
					if k != nil && (v == nil || v.Name != "false") {
						set[k.Name] = true
					}
				}
			}
			if set["NATS"] || (set["Ledger"] && !set["ReadOnlyLedger"]) || (name == "local.go" && (set["Ledger"] || set["NATS"])) {
				t.Errorf("%s builds app.Parts%v: operator commands never open NATS or a writable ledger", name, keys(set))
			}
		}
		return true
	})
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestLocalOpenIsReadOnly: the one local open refuses NATS and a writable
// ledger before it reads any configuration.
func TestLocalOpenIsReadOnly(t *testing.T) {
	env := &Env{Stdout: new(strings.Builder), Stderr: new(strings.Builder), Getenv: func(string) string { return "" }}
	for _, p := range []app.Parts{{NATS: true}, {Ledger: true}, {Ledger: true, NATS: true, ReadOnlyLedger: true}} {
		if _, err := openOps(context.Background(), env, p); !errors.Is(err, errLocalWrite) {
			t.Errorf("openOps(%+v) = %v, want errLocalWrite", p, err)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
