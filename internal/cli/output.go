package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"unicode"

	"golang.org/x/text/width"

	"github.com/qyshook/qyshook/qys"
)

// Version is the build version (from qys.Version, set with -ldflags).
func Version() string {
	if qys.Version != "" && qys.Version != "dev" {
		return qys.Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table writes aligned columns. Widths are display widths (see
// displayWidth), so a column after 契约锁 or 张三 lines up on a terminal.
type table struct {
	w    io.Writer
	rows [][]string
}

func newTable(w io.Writer, headers ...string) *table {
	t := &table{w: w}
	t.row(toAny(headers)...)
	return t
}

func (t *table) row(cells ...any) {
	parts := make([]string, len(cells))
	for i, c := range cells {
		parts[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(fmt.Sprint(c))
	}
	t.rows = append(t.rows, parts)
}

// flush writes the rows: every column but the last padded to its widest
// cell plus two spaces.
func (t *table) flush() error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(c)+2))
			}
		}
		b.WriteByte('\n')
	}
	t.rows = nil
	_, err := io.WriteString(t.w, b.String())
	return err
}

// displayWidth is how many terminal columns s takes: East Asian wide and
// fullwidth characters (汉字, ｱ, ＡＢ) take two, combining marks and other
// zero-width runes none, the rest one.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	switch {
	case r == 0x200B || r == 0x200C || r == 0x200D || r == 0xFEFF:
		return 0
	case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || unicode.IsControl(r):
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// parseList parses a list command's flags: no positional argument, and a
// limit that is not negative.
func parseList(fs *flag.FlagSet, args []string, limit *int) error {
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return opsUsage(fs, "unexpected argument %q", pos[0])
	}
	if *limit < 0 {
		return opsUsage(fs, "--limit must not be negative")
	}
	return nil
}

// printList prints a listing as JSON (an empty list as []) or as a table
// of header with one row per item, and says on stderr when more than
// limit were left out.
func printList[T any](env *Env, out []T, more bool, limit int, what string, asJSON bool, header []string,
	row func(*table, T)) error {
	if out == nil {
		out = []T{}
	}
	var err error
	if asJSON {
		err = printJSON(env.Stdout, out)
	} else {
		t := newTable(env.Stdout, header...)
		for _, item := range out {
			row(t, item)
		}
		err = t.flush()
	}
	if more {
		fmt.Fprintf(env.Stderr, "(more than %d %s: raise --limit, or --limit 0 for all)\n", limit, what)
	}
	return err
}
