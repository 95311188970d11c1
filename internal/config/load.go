package config

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/qys"
)

// envNames maps a tenant field to the variable that sets it for "default".
var envNames = map[string]string{
	"name":                 "",
	"format":               "CALLBACK_FORMAT",
	"cipher":               "CALLBACK_CIPHER",
	"iv":                   "CALLBACK_IV",
	"secret":               "CALLBACK_SECRET",
	"token":                "CALLBACK_TOKEN",
	"signature_b":          "CALLBACK_SIGNATURE_B",
	"qys_base_url":         "QYS_BASE_URL",
	"qys_app_token":        "QYS_APP_TOKEN",
	"qys_app_secret":       "QYS_APP_SECRET",
	"qys_agent_token":      "QYS_AGENT_TOKEN",
	"auth_result_shape":    "QYS_AUTH_RESULT_SHAPE",
	"qys_oplog_path":       "QYS_OPLOG_PATH",
	"accept_contract":      "ACCEPT_CONTRACT",
	"accept_auth_personal": "ACCEPT_AUTH_PERSONAL",
	"accept_auth_company":  "ACCEPT_AUTH_COMPANY",
	"accept_notify":        "ACCEPT_NOTIFY",
	"accept_physical_seal": "ACCEPT_PHYSICAL_SEAL",
	"auth_answer":          "AUTH_ANSWER",
	"api_rate":             "API_RATE",
	"api_inflight":         "API_INFLIGHT",
}

// acceptVars are the per-kind policy variables of the "default" tenant.
var acceptVars = []string{"ACCEPT_CONTRACT", "ACCEPT_AUTH_PERSONAL", "ACCEPT_AUTH_COMPANY", "ACCEPT_NOTIFY",
	"ACCEPT_PHYSICAL_SEAL", "AUTH_ANSWER", "QYS_AUTH_RESULT_SHAPE", "QYS_OPLOG_PATH"}

// Load reads the configuration through getenv (os.Getenv in a main, a map
// lookup in tests), reads the tenants file named by QYSHOOK_CONFIG, and
// validates the result. The error joins every problem, one line each.
func Load(getenv func(string) string, opts ...Option) (*Config, error) {
	c := &Config{HTTPAddr: DefaultReceiverAddr, needs: NeedCallbackSecrets}
	for _, o := range opts {
		o(c)
	}
	e := envReader{getenv: getenv, c: c}
	c.HTTPAddr = e.str("HTTP_ADDR", c.HTTPAddr)
	e.nats()
	c.DataDir = e.str("DATA_DIR", DefaultDataDir)
	c.DB = Secret(e.str("DB", "sqlite://"+filepath.Join(c.DataDir, "ledger.db")))
	c.SQLiteCache = e.bytes("SQLITE_CACHE")
	c.LogLevel = e.level("LOG_LEVEL", zerolog.InfoLevel)
	c.MaxBody = e.bytes("MAX_BODY")
	c.PublishTimeout = e.duration("PUBLISH_TIMEOUT")
	c.HTTP = HTTPLimits{
		MaxConns:          int(e.integer("MAX_CONNS", DefaultMaxConns)),
		IdleTimeout:       e.duration("IDLE_TIMEOUT"),
		ReadHeaderTimeout: e.duration("READ_HEADER_TIMEOUT"),
	}
	c.Window = Window{
		Past:   e.duration("TIMESTAMP_PAST"),
		Future: e.duration("TIMESTAMP_FUTURE"),
	}
	// An explicit max age applies to the callback stream too; unset, the
	// callbacks are kept however old until they are worked.
	c.Stream.MaxAge = e.duration("STREAM_MAX_AGE")
	if e.str("STREAM_MAX_AGE", "") != "" {
		c.Stream.CallbackMaxAge = c.Stream.MaxAge
	}
	c.Stream.MaxBytes = e.bytes("STREAM_MAX_BYTES")
	c.Stream.DuplicateWindow = e.duration("DUPLICATE_WINDOW")
	c.Stream.Replicas = int(e.integer("STREAM_REPLICAS", 0)) // unset: 1, or 3 on a cluster
	if e.str("STREAM_REPLICAS", "") != "" && c.Stream.Replicas == 0 {
		c.Stream.Replicas = -1 // explicit 0: refused by Validate
	}
	c.Dispatch = e.dispatch()
	c.Delivery = e.delivery()
	c.Admin = e.admin()
	c.Anchor = e.anchor()
	c.APICheck = strings.ToLower(e.str("API_CHECK", APICheckStop))
	switch c.APICheck {
	case APICheckStop, APICheckWarn, APICheckOff:
	default:
		e.problem("API_CHECK", "%q: must be stop, warn or off", c.APICheck)
	}
	c.File = e.str("CONFIG", "")
	c.APIBudget = APIBudget{Rate: int(e.count("API_RATE")), InFlight: int(e.count("API_INFLIGHT"))}
	e.tenants()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// nats reads the NATS settings.
func (e envReader) nats() {
	c := e.c
	c.NATSURL = e.str("NATS_URL", "")
	c.EmbeddedNATSAddr = e.str("EMBEDDED_NATS_ADDR", "")
	switch access := strings.ToLower(strings.TrimSpace(e.str("EMBEDDED_NATS_ACCESS", AccessSubscribe))); access {
	case AccessSubscribe:
	case AccessPublish:
		c.EmbeddedNATSPublish = true
	default:
		c.problems = append(c.problems, fmt.Errorf("%sEMBEDDED_NATS_ACCESS: %q: want %s (the port's clients may only subscribe; the grouped sync stays) or %s (they may publish too; a synced store then fsyncs each write, several times slower)",
			Prefix, access, AccessSubscribe, AccessPublish))
	}
	c.NATSNamespace = e.str("NATS_NAMESPACE", "")
	switch v := strings.TrimSpace(e.str("NATS_SYNC", "")); {
	case strings.EqualFold(v, SyncEachWrite):
		c.NATSSyncEachWrite = true
	case strings.EqualFold(v, SyncGroupedSyncfs):
		c.NATSSyncFS = true
	default:
		c.NATSSyncInterval = e.duration("NATS_SYNC")
	}
}

// tenants makes the tenants: the "default" one from the environment,
// and those of the tenants file.
func (e envReader) tenants() {
	c := e.c
	baseURL := e.str("QYS_BASE_URL", DefaultQYSBaseURL)
	if c.File == "" || e.str("CALLBACK_SECRET", "") != "" || e.str("ALLOW_UNSIGNED", "") != "" {
		c.Tenants = append(c.Tenants, e.tenant(baseURL))
	} else {
		for _, v := range acceptVars {
			if e.str(v, "") != "" {
				e.problem(v, "set, but no tenant comes from the environment (no %sCALLBACK_SECRET): "+
					"set it per [[tenant]] in %s", Prefix, c.File)
			}
		}
	}
	if c.File != "" {
		tenants, endpoints, err := readFile(c.File, baseURL, c.APIBudget, e.getenv, c.Delivery.AllowPrivateTenants)
		if err != nil {
			c.problems = append(c.problems, err)
		}
		c.Tenants = append(c.Tenants, tenants...)
		c.Delivery.Endpoints = endpoints
	}
	for i := range c.Tenants {
		c.Tenants[i].Window = c.Window
	}
}

// Values of QYSHOOK_API_CHECK.
const (
	APICheckStop = "stop"
	APICheckWarn = "warn"
	APICheckOff  = "off"
)

// envReader reads QYSHOOK_ variables and collects parse problems.
type envReader struct {
	getenv func(string) string
	c      *Config
}

func (e envReader) str(name, def string) string {
	if v := strings.TrimSpace(e.getenv(Prefix + name)); v != "" {
		return v
	}
	return def
}

func (e envReader) problem(name, format string, args ...any) {
	e.c.problems = append(e.c.problems, fmt.Errorf("%s%s: "+format, append([]any{Prefix, name}, args...)...))
}

func (e envReader) duration(name string) time.Duration {
	return time.Duration(e.bounded(name, false))
}

// count reads a whole-number setting listed in Bounds.
func (e envReader) count(name string) int64 {
	b, ok := BoundOf(name)
	if !ok || !b.Count {
		panic("config: " + name + " has no count bound in config.Bounds")
	}
	return b.read(e)
}

// bounded reads a setting listed in Bounds; a name not listed is a
// programming error.
func (e envReader) bounded(name string, size bool) int64 {
	b, ok := BoundOf(name)
	if !ok || b.Size != size || b.Count {
		panic("config: " + name + " has no bound in config.Bounds")
	}
	return b.read(e)
}

func (e envReader) integer(name string, def int64) int64 {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		e.problem(name, "%q is not an integer", v)
		return def
	}
	return n
}

func (e envReader) bytes(name string) int64 {
	return e.bounded(name, true)
}

func (e envReader) boolean(name string) bool {
	v := e.str(name, "")
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.problem(name, "%q is not a boolean (true or false)", v)
	}
	return b
}

func (e envReader) level(name string, def zerolog.Level) zerolog.Level {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	l, err := zerolog.ParseLevel(strings.ToLower(v))
	if err != nil || v == "" {
		e.problem(name, "%q is not a level (debug, info, warn, error)", v)
		return def
	}
	return l
}

// tenant builds the "default" tenant from the environment.
func (e envReader) tenant(baseURL string) Tenant {
	t := Tenant{
		Name:          DefaultTenant,
		Format:        qys.Format(strings.ToUpper(e.str("CALLBACK_FORMAT", string(qys.FormatA)))),
		Secrets:       splitSecrets(e.getenv(Prefix + "CALLBACK_SECRET")),
		Cipher:        qys.Cipher(strings.ToUpper(e.str("CALLBACK_CIPHER", string(qys.CipherECB)))),
		IV:            Secret(e.str("CALLBACK_IV", "")),
		Token:         Secret(e.str("CALLBACK_TOKEN", "")),
		SignatureB:    strings.ToLower(e.str("CALLBACK_SIGNATURE_B", "")),
		AllowUnsigned: e.boolean("ALLOW_UNSIGNED"),
		AllowPlain:    e.boolean("ALLOW_PLAIN"),
		Accept: qys.Policy{
			Contract:     accept(e.str("ACCEPT_CONTRACT", "")),
			AuthPersonal: accept(e.str("ACCEPT_AUTH_PERSONAL", "")),
			AuthCompany:  accept(e.str("ACCEPT_AUTH_COMPANY", "")),
			Notice:       accept(e.str("ACCEPT_NOTIFY", "")),
			PhysicalSeal: accept(e.str("ACCEPT_PHYSICAL_SEAL", "")),
		},
		AuthAnswer: strings.ToLower(e.str("AUTH_ANSWER", "")),
		QYS: QYS{
			BaseURL:         baseURL,
			AppToken:        Secret(e.str("QYS_APP_TOKEN", "")),
			AppSecret:       Secret(e.str("QYS_APP_SECRET", "")),
			PrivateCloud:    e.boolean("QYS_PRIVATE_CLOUD"),
			AgentToken:      Secret(e.str("QYS_AGENT_TOKEN", "")),
			AgentSecret:     Secret(e.str("QYS_AGENT_SECRET", "")),
			VerifyOnline:    e.boolean("QYS_VERIFY_ONLINE"),
			AuthResultShape: strings.ToLower(e.str("QYS_AUTH_RESULT_SHAPE", "")),
			OplogPath:       strings.TrimSpace(e.str("QYS_OPLOG_PATH", "")),
			APIRate:         e.c.APIBudget.Rate,
			APIInFlight:     e.c.APIBudget.InFlight,
		},
	}
	t.setting = func(field string) string { return Prefix + envNames[field] }
	return t
}

// splitSecrets splits a comma-separated list of secrets, newest first.
func splitSecrets(v string) []Secret {
	var out []Secret
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, Secret(s))
		}
	}
	return out
}

// ParseBytes parses a size: a number of bytes, optionally with a suffix
// KiB, MiB, GiB, TiB (or K, M, G, T, also powers of 1024). "-1" means no limit.
func ParseBytes(v string) (int64, error) {
	s := strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || (n < 0 && n != -1) {
		return 0, fmt.Errorf("%q is not a size such as 1048576, 512KiB or 1MiB", v)
	}
	if n == -1 {
		return -1, nil
	}
	return mulBytes(n, mult, v)
}
