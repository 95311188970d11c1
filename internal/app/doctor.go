package app

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/migrations"
	"github.com/qyshook/qyshook/store/ledgerdb"
)

// Finding is one line of `qyshook doctor`: what was checked, whether it
// is fine, what was seen and, when not fine, how to fix it.
type Finding struct {
	Check string
	OK    bool
	Seen  string
	Fix   string
}

// MaxClockSkew is the distance from the platform's clock doctor accepts;
// the open API refuses requests whose timestamp is too far off.
const MaxClockSkew = 30 * time.Second

// Doctor checks, for a loaded configuration, NATS and its streams, the
// ledger (opened read-only) and its migrations, the open-API credentials
// (one signed call per tenant), the clock against the platform's, the
// checkpoint key and each time-stamping authority (one token over a
// probe). It never creates, provisions or writes anything.
func Doctor(ctx context.Context, cfg *config.Config) []Finding {
	var out []Finding
	out = append(out, DoctorPrivate(cfg)...)
	out = append(out, doctorNATS(ctx, cfg)...)
	out = append(out, doctorLedger(ctx, cfg)...)
	out = append(out, doctorAPI(ctx, cfg)...)
	out = append(out, doctorAnchor(ctx, cfg)...)
	return out
}

// DoctorPrivate checks that the data dir (0700) and a SQLite ledger with
// its -wal and -shm files (0600) are private: the ledger holds names,
// phone and ID numbers. A file not there yet is fine (serve creates it
// private).
func DoctorPrivate(cfg *config.Config) []Finding {
	type item struct {
		path  string
		want  os.FileMode
		check string
	}
	items := []item{{cfg.DataDir, 0o700, "data dir"}}
	if p, ok := ledgerdb.SQLitePath(cfg.DB.Reveal(), cfg.DataDir); ok {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			items = append(items, item{p + suffix, 0o600, "ledger file"})
		}
	}
	var out []Finding
	var open []string
	for _, it := range items {
		st, err := os.Stat(it.path)
		if err != nil {
			continue
		}
		if perm := st.Mode().Perm(); perm&0o077 != 0 {
			out = append(out, Finding{Check: it.check, Seen: fmt.Sprintf("%s is %#o: other users can read it", it.path, perm),
				Fix: fmt.Sprintf("chmod %o %s", it.want, it.path)})
			continue
		}
		open = append(open, it.path)
	}
	if len(out) == 0 {
		seen := "private (0700 dir, 0600 ledger): " + strings.Join(open, ", ")
		if len(open) == 0 {
			seen = cfg.DataDir + " not created yet; serve creates it 0700"
		}
		out = append(out, Finding{Check: "data dir", OK: true, Seen: seen})
	}
	return out
}

func doctorNATS(ctx context.Context, cfg *config.Config) []Finding {
	if cfg.NATSURL == "" {
		return []Finding{{Check: "nats", OK: true, Seen: "embedded (started by serve in " + cfg.DataDir + "); not checked"},
			{Check: "nats sync", OK: true, Seen: plannedSyncInfo(cfg).String()}}
	}
	s, err := Open(ctx, cfg, zerolog.Nop(), Parts{NATS: true, WaitNATS: 3 * time.Second})
	if err != nil {
		return []Finding{{Check: "nats", Seen: err.Error(),
			Fix: "start NATS with JetStream, or point " + config.Prefix + "NATS_URL at it; a first `qyshook serve` creates the streams"}}
	}
	defer s.Close()
	out := []Finding{{Check: "nats", OK: true, Seen: "reachable"},
		{Check: "nats sync", OK: true, Seen: SyncExternal + " (the NATS servers' own sync_interval; see the README's durability table)"}}
	for _, name := range []string{s.Names.CallbacksStream(), s.Names.LedgerStream(), s.Names.DLQStream()} {
		st, err := s.Conn.JS.Stream(ctx, name)
		if err != nil {
			out = append(out, Finding{Check: "stream " + name, Seen: err.Error(), Fix: "run `qyshook serve` once to create it"})
			continue
		}
		info, err := st.Info(ctx)
		if err != nil {
			out = append(out, Finding{Check: "stream " + name, Seen: err.Error(), Fix: "check the NATS account's JetStream"})
			continue
		}
		c := info.Config
		f := Finding{Check: "stream " + name, OK: true,
			Seen: fmt.Sprintf("replicas %d, discard %s, max bytes %d", c.Replicas, c.Discard, c.MaxBytes)}
		if name == s.Names.CallbacksStream() && c.Discard != jetstream.DiscardNew {
			f.OK, f.Fix = false, "the callback stream must discard new (a full stream refuses callbacks instead of dropping stored ones): restart `qyshook serve` to reprovision it"
		}
		if cfg.Stream.Replicas > 0 && c.Replicas != cfg.Stream.Replicas {
			f.OK, f.Fix = false, fmt.Sprintf("%sSTREAM_REPLICAS is %d: restart the service to apply it", config.Prefix, cfg.Stream.Replicas)
		}
		out = append(out, f)
	}
	return out
}

func doctorLedger(ctx context.Context, cfg *config.Config) []Finding {
	if p, ok := ledgerdb.SQLitePath(cfg.DB.Reveal(), cfg.DataDir); ok {
		if _, err := os.Stat(p); errors.Is(err, iofs.ErrNotExist) {
			// A first serve creates and migrates it: not a fault.
			return []Finding{{Check: "ledger", OK: true, Seen: p + " not created yet; serve creates it (or `qyshook migrate up`)"}}
		}
	}
	s, err := Open(ctx, cfg, zerolog.Nop(), Parts{Ledger: true, ReadOnlyLedger: true})
	if err != nil {
		return []Finding{{Check: "ledger", Seen: err.Error(), Fix: "check " + config.Prefix + "DB; `qyshook migrate up` creates the schema"}}
	}
	s.Close()
	v, dirty, err := ledgerdb.Version(cfg.DB.Reveal(), cfg.DataDir)
	latest := latestMigration()
	switch {
	case err != nil:
		return []Finding{{Check: "ledger", Seen: err.Error(), Fix: "check " + config.Prefix + "DB"}}
	case dirty:
		return []Finding{{Check: "ledger", Seen: fmt.Sprintf("migration %d failed halfway (dirty)", v), Fix: "repair the schema by hand, then `qyshook migrate up`"}}
	case v < latest:
		return []Finding{{Check: "ledger", Seen: fmt.Sprintf("schema version %d of %d", v, latest), Fix: "run `qyshook migrate up`"}}
	case v > latest:
		return []Finding{{Check: "ledger", Seen: fmt.Sprintf("schema version %d, newer than this qyshook (%d)", v, latest), Fix: "upgrade qyshook"}}
	}
	return []Finding{{Check: "ledger", OK: true, Seen: fmt.Sprintf("schema version %d of %d", v, latest)}}
}

func latestMigration() uint {
	var latest uint
	entries, _ := iofs.ReadDir(migrations.SQLite, "sqlite")
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		if v, err := strconv.ParseUint(num, 10, 32); err == nil && uint(v) > latest {
			latest = uint(v)
		}
	}
	return latest
}

func doctorAPI(ctx context.Context, cfg *config.Config) []Finding {
	apis, err := APIClients(cfg)
	if err != nil {
		return []Finding{{Check: "open API", Seen: err.Error(), Fix: "check the tenants' open-API settings"}}
	}
	if len(apis) == 0 {
		return []Finding{{Check: "open API", OK: true, Seen: "no credentials configured: facts stay unconfirmed"}}
	}
	var out []Finding
	refused, unchecked := CheckAPICredentials(ctx, apis)
	switch {
	case refused != nil:
		out = append(out, Finding{Check: "open API credentials", Seen: refused.Error(),
			Fix: "copy the app token and secret again from the 契约锁 console"})
	case unchecked != nil:
		out = append(out, Finding{Check: "open API credentials", Seen: unchecked.Error(),
			Fix: "check " + config.Prefix + "QYS_BASE_URL and the network path to it"})
	default:
		out = append(out, Finding{Check: "open API credentials", OK: true, Seen: "accepted"})
	}
	seen := map[string]bool{}
	for _, t := range cfg.Tenants {
		if !t.QYS.Credentials() || seen[t.QYS.BaseURL] {
			continue
		}
		seen[t.QYS.BaseURL] = true
		out = append(out, doctorClock(ctx, t.QYS.BaseURL))
	}
	return out
}

// doctorClock compares the Date header of the platform's answer with the
// local clock (taken halfway through the request).
func doctorClock(ctx context.Context, baseURL string) Finding {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, baseURL, nil)
	if err != nil {
		return Finding{Check: "clock", Seen: err.Error(), Fix: "check " + config.Prefix + "QYS_BASE_URL"}
	}
	before := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Finding{Check: "clock", Seen: err.Error(), Fix: "check the network path to " + baseURL}
	}
	resp.Body.Close()
	local := before.Add(time.Since(before) / 2)
	remote, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return Finding{Check: "clock", OK: true, Seen: "the platform sent no Date header; not checked"}
	}
	skew := local.Sub(remote)
	if skew < 0 {
		skew = -skew
	}
	seen := fmt.Sprintf("%s from the platform's", skew.Round(time.Second))
	if skew > MaxClockSkew+time.Second { // Date has whole seconds
		return Finding{Check: "clock", Seen: seen, Fix: "synchronise this host's clock (NTP): the open API refuses stale timestamps"}
	}
	return Finding{Check: "clock", OK: true, Seen: seen}
}
