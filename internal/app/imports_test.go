package app_test

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/qyshook/qyshook"

// stages are the pipeline's peers: each imports libraries (qys, events,
// store, lifecycle, confirm, deadletter, intake, replay, backoff, pidlock, receiptlog,
// …) and never another stage or internal/; internal/app builds and runs
// them all.
var stages = []string{"receiver", "dispatcher", "relay", "archiver", "reconcile", "trimmer", "retention", "admin", "delivery", "anchor", "bundler"}

// TestStagesArePeers fails on any import, direct or not (tests aside),
// from a stage to another stage or to internal/, and from a library to a
// stage or to internal/.
func TestStagesArePeers(t *testing.T) {
	isStage := func(p string) bool { return slices.Contains(stages, strings.TrimPrefix(p, module+"/")) }
	isInternal := func(p string) bool { return strings.HasPrefix(p, module+"/internal/") }
	for _, s := range stages {
		deps := moduleDeps(t, module+"/"+s)
		for _, d := range deps {
			if isStage(d) || isInternal(d) {
				t.Errorf("stage %s depends on %s", s, strings.TrimPrefix(d, module+"/"))
			}
		}
	}
	deps := moduleDeps(t, module+"/dispatcher")
	if !slices.Contains(deps, module+"/store") || !slices.Contains(deps, module+"/qys") {
		t.Fatalf("the dependency walk found %v for the dispatcher: it should at least find store and qys", deps)
	}
	for _, lib := range []string{"qys", "events", "store", "lifecycle", "confirm", "deadletter", "intake", "replay", "crosscheck",
		"backoff", "pidlock", "pdfverify", "failures", "activity", "adminapi", "receiptlog", "tracing", "store/docstore", "store/sqlite", "store/postgres", "store/ledgerdb",
		"webhook", "deliveryq", "checkpoint", "tsa", "tsa/tsatest", "redact", "evidence"} {
		for _, d := range moduleDeps(t, module+"/"+lib) {
			if isStage(d) || isInternal(d) {
				t.Errorf("library %s depends on %s", lib, strings.TrimPrefix(d, module+"/"))
			}
		}
	}
}

// moduleDeps returns the packages of this module that pkg imports,
// directly or not, without its tests. It reads the sources with go/build,
// so it needs no go command.
func moduleDeps(t *testing.T, pkg string) []string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var walk func(path string)
	walk = func(path string) {
		p, err := build.ImportDir(filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(path, module))), 0)
		if err != nil {
			t.Fatalf("import %s: %v", path, err)
		}
		for _, imp := range p.Imports {
			if (imp == module || strings.HasPrefix(imp, module+"/")) && !seen[imp] {
				seen[imp] = true
				walk(imp)
			}
		}
	}
	walk(pkg)
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
