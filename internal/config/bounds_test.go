package config

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qyshook/qyshook/store/sqlite"
)

func loadVars(vars map[string]string) (*Config, error) {
	vars["QYSHOOK_CALLBACK_SECRET"] = "0123456789abcdef"
	return Load(func(k string) string { return vars[k] })
}

// TestBoundsRefuseOutOfRange: every duration and size setting refuses a
// value below its floor and one above its ceiling with exactly one line
// naming the setting and its range, and accepts both ends and its "off"
// value. Before the bounds, QYSHOOK_RECONCILE_INTERVAL=1ns was accepted (a
// busy loop) and most settings had no ceiling at all.
func TestBoundsRefuseOutOfRange(t *testing.T) {
	raw := func(b Bound, n int64) string {
		if b.Size || b.Count {
			return strconv.FormatInt(n, 10)
		}
		return time.Duration(n).String()
	}
	for _, b := range Bounds {
		t.Run(b.Name, func(t *testing.T) {
			name := Prefix + b.Name
			refused := []string{raw(b, b.Max+1)}
			if b.Min > 0 && raw(b, b.Min-1) != b.Off {
				refused = append(refused, raw(b, b.Min-1))
			}
			if b.Count {
				refused = append(refused, "-1", "1.5", "many")
			}
			if b.Min-1 != b.OffValue || b.Off == "" {
				if b.Min == 0 {
					refused = append(refused, raw(b, -1)) // negative
				}
			}
			for _, v := range refused {
				_, err := loadVars(map[string]string{name: v})
				if err == nil {
					t.Fatalf("%s=%s accepted", name, v)
				}
				lines := strings.Split(err.Error(), "\n")
				if len(lines) != 1 || !strings.HasPrefix(lines[0], name+": ") || !strings.Contains(lines[0], b.Range()) {
					t.Errorf("%s=%s: %q, want one line naming it and %q", name, v, err, b.Range())
				}
			}
			for _, v := range []string{raw(b, b.Min), raw(b, b.Max), b.Off} {
				if v == "" {
					continue
				}
				if _, err := loadVars(map[string]string{name: v}); err != nil {
					t.Errorf("%s=%s refused: %v", name, v, err)
				}
			}
		})
	}
}

// TestReconcileIntervalBusyLoop is the case the issue names.
func TestReconcileIntervalBusyLoop(t *testing.T) {
	if _, err := loadVars(map[string]string{"QYSHOOK_RECONCILE_INTERVAL": "1ns"}); err == nil ||
		!strings.Contains(err.Error(), "QYSHOOK_RECONCILE_INTERVAL: \"1ns\" is outside the accepted range 0 (disables) or 100ms to 24h") {
		t.Fatalf("1ns: %v", err)
	}
	c, err := loadVars(map[string]string{"QYSHOOK_RECONCILE_INTERVAL": "0"})
	if err != nil || c.Dispatch.ReconcileInterval != 0 {
		t.Fatalf("0 (disables): %v %v", c, err)
	}
	if _, err := loadVars(map[string]string{"QYSHOOK_STREAM_MAX_BYTES": "99999999999T"}); err == nil ||
		!strings.Contains(err.Error(), "too large") {
		t.Fatalf("overflowing size: %v", err)
	}
}

// TestBoundsInReadme: the README's configuration table shows each range.
func TestBoundsInReadme(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "| `QYSHOOK_") {
			name := strings.TrimPrefix(line, "| `QYSHOOK_")
			rows[name[:strings.Index(name, "`")]] = line
		}
	}
	rows["TIMESTAMP_FUTURE"] = rows["TIMESTAMP_PAST"]
	for _, b := range Bounds {
		want := b.Format(b.Min) + "–" + b.Format(b.Max)
		if !strings.Contains(rows[b.Name], want) {
			t.Errorf("README row of QYSHOOK_%s does not show %q: %q", b.Name, want, rows[b.Name])
		}
	}
}

// TestAPICheckAndAppPair: QYSHOOK_API_CHECK takes stop, warn or off, and
// an app token without its secret (or the reverse) is refused.
func TestAPICheckAndAppPair(t *testing.T) {
	if c, err := loadVars(map[string]string{}); err != nil || c.APICheck != APICheckStop {
		t.Fatalf("default: %v %v", c, err)
	}
	if _, err := loadVars(map[string]string{"QYSHOOK_API_CHECK": "maybe"}); err == nil || !strings.Contains(err.Error(), "QYSHOOK_API_CHECK") {
		t.Fatalf("maybe: %v", err)
	}
	for _, v := range []string{"QYSHOOK_QYS_APP_TOKEN", "QYSHOOK_QYS_APP_SECRET"} {
		if _, err := loadVars(map[string]string{v: "x"}); err == nil || !strings.Contains(err.Error(), "the app token and the app secret go together") {
			t.Errorf("%s alone: %v", v, err)
		}
	}
}

// TestRetentionSettings: the ledger and outbox retentions default to 90
// and 7 days, take 0 for "keep everything" (a negative duration the
// dispatcher reads as such) and refuse a window shorter than their floor.
func TestRetentionSettings(t *testing.T) {
	c, err := loadVars(map[string]string{})
	if err != nil || c.Dispatch.LedgerRetention != 2160*time.Hour || c.Dispatch.OutboxRetention != 168*time.Hour {
		t.Fatalf("defaults: %v %v %v", c.Dispatch.LedgerRetention, c.Dispatch.OutboxRetention, err)
	}
	c, err = loadVars(map[string]string{"QYSHOOK_LEDGER_RETENTION": "0", "QYSHOOK_OUTBOX_RETENTION": "0"})
	if err != nil || c.Dispatch.LedgerRetention >= 0 || c.Dispatch.OutboxRetention >= 0 {
		t.Fatalf("0: %v %v %v", c.Dispatch.LedgerRetention, c.Dispatch.OutboxRetention, err)
	}
	if _, err := loadVars(map[string]string{"QYSHOOK_LEDGER_RETENTION": "24h"}); err == nil || !strings.Contains(err.Error(), "QYSHOOK_LEDGER_RETENTION") {
		t.Fatalf("24h: %v", err)
	}
}

// TestSQLiteCache: QYSHOOK_SQLITE_CACHE defaults to the SQLite store's own
// default and takes a size.
func TestSQLiteCache(t *testing.T) {
	c, err := loadVars(map[string]string{})
	if err != nil || c.SQLiteCache != sqlite.DefaultCacheSize {
		t.Fatalf("default %d, %v; want store/sqlite's %d", c.SQLiteCache, err, sqlite.DefaultCacheSize)
	}
	c, err = loadVars(map[string]string{"QYSHOOK_SQLITE_CACHE": "512MiB"})
	if err != nil || c.SQLiteCache != 512<<20 {
		t.Fatalf("512MiB: %d, %v", c.SQLiteCache, err)
	}
	for _, bad := range []string{"512KiB", "100GiB", "lots", "-1"} {
		if _, err := loadVars(map[string]string{"QYSHOOK_SQLITE_CACHE": bad}); err == nil || !strings.Contains(err.Error(), "QYSHOOK_SQLITE_CACHE") {
			t.Errorf("%s: %v, want an error naming QYSHOOK_SQLITE_CACHE", bad, err)
		}
	}
}

// TestAuthResultShape: QYSHOOK_QYS_AUTH_RESULT_SHAPE takes auto,
// documented or legacy, and refuses anything else in one line naming it.
func TestAuthResultShape(t *testing.T) {
	for _, ok := range []string{"", "auto", "documented", "Legacy"} {
		cfg, err := loadVars(map[string]string{"QYSHOOK_QYS_AUTH_RESULT_SHAPE": ok})
		if err != nil {
			t.Errorf("%q refused: %v", ok, err)
			continue
		}
		if got := cfg.Tenants[0].QYS.AuthResultShape; got != strings.ToLower(ok) {
			t.Errorf("%q read as %q", ok, got)
		}
	}
	_, err := loadVars(map[string]string{"QYSHOOK_QYS_AUTH_RESULT_SHAPE": "guess"})
	if err == nil || !strings.Contains(err.Error(), "QYSHOOK_QYS_AUTH_RESULT_SHAPE") || strings.Count(err.Error(), "\n") > 0 {
		t.Errorf("guess: %v", err)
	}
}
