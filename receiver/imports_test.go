package receiver_test

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/qyshook/qyshook"

// TestLibraryTakesItsOwnOptions keeps the receiver a library: it takes its
// own options (verifiers, a Publisher, limits), never the app's
// configuration or connection, so neither it nor anything it imports may
// reach internal/config, internal/natsconn or the wiring.
func TestLibraryTakesItsOwnOptions(t *testing.T) {
	forbidden := []string{module + "/internal/config", module + "/internal/natsconn", module + "/internal/app"}
	deps := moduleDeps(t, module+"/receiver")
	if len(deps) == 0 || !slices.Contains(deps, module+"/qys") {
		t.Fatalf("dependency walk found %v: it should at least find qys", deps)
	}
	for _, d := range deps {
		if slices.Contains(forbidden, d) {
			t.Errorf("receiver depends on %s", d)
		}
	}
}

// moduleDeps returns the packages of this module that pkg imports,
// directly or not, without its tests. It reads the sources with go/build,
// so it needs no go command.
func moduleDeps(t *testing.T, pkg string) []string {
	t.Helper()
	root, err := filepath.Abs("..")
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
