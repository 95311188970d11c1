package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
		"github.com/qyshook/qyshook/store/ledgerdb":        {"migrate.go"},
		"github.com/qyshook/qyshook/store/sqlite":          {"migrate.go"},
		"github.com/qyshook/qyshook/store/postgres":        {"migrate.go"},
		"github.com/qyshook/qyshook/internal/app":          {"serve.go", "demo.go"},
		"github.com/qyshook/qyshook/internal/natsconn":     nil,
		"github.com/qyshook/qyshook/internal/replay":       nil,
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

// checkCalls refuses app.Open with a ledger outside demo.go (the demo
// reads back its own data dir) and ledgerdb writers outside migrate.go.
func checkCalls(t *testing.T, name string, src []byte) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), name, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		pkg, ok := sel.X.(*ast.Ident)
		if !ok {
			return true
		}
		switch {
		case pkg.Name == "ledgerdb" && name != "migrate.go",
			pkg.Name == "app" && sel.Sel.Name == "Open" && name != "demo.go",
			pkg.Name == "app" && sel.Sel.Name == "Parts" && name != "demo.go":
			t.Errorf("%s uses %s.%s: only migrate (and the service itself) opens the ledger", name, pkg.Name, sel.Sel.Name)
		}
		return true
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
