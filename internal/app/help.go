package app

import (
	"fmt"
	"io"
	"strings"

	"github.com/qyshook/qyshook/qys"
)

// helpCommon lists the settings both daemons read.
const helpCommon = `  QYSHOOK_HTTP_ADDR          HTTP listen address (receiver :8080, dispatcher :8081)
  QYSHOOK_DATA_DIR           local state: embedded NATS store, SQLite ledger, documents (./data)
  QYSHOOK_NATS_URL           NATS server(s); empty starts an embedded JetStream under the data dir
  QYSHOOK_EMBEDDED_NATS_ADDR let the embedded server accept TCP clients, e.g. 127.0.0.1:4223
  QYSHOOK_EMBEDDED_NATS_ACCESS what they may do: subscribe (default; the grouped sync stays) or
                             publish (a separate dispatcher, the CLI's replays; each-write sync)
  QYSHOOK_NATS_NAMESPACE     prefix for every stream, subject and durable
  QYSHOOK_NATS_SYNC          embedded store: always (default; every write on disk before it is used,
                             grouped syncs of the store's own files), grouped-syncfs (grouped syncs of
                             the whole file system), each-write (nats-server fsyncs each) or an interval such as 1s
  QYSHOOK_STREAM_MAX_AGE, QYSHOOK_STREAM_MAX_BYTES, QYSHOOK_DUPLICATE_WINDOW, QYSHOOK_STREAM_REPLICAS
                             stream limits (a full callback stream answers 503)
  QYSHOOK_MAX_CONNS, QYSHOOK_IDLE_TIMEOUT, QYSHOOK_READ_HEADER_TIMEOUT
                             per HTTP listener: connections held at once (2048; more are answered 503),
                             idle keep-alive close (30s), request header wait (5s)
  QYSHOOK_LOG_LEVEL          debug, info, warn, error (JSON on stderr)
  QYSHOOK_CONFIG             TOML file with several tenants
`

const helpReceiver = `  QYSHOOK_CALLBACK_SECRET    the 16-character callback secret (required)
  QYSHOOK_CALLBACK_FORMAT, _CIPHER, _IV (required with AES_CBC), _TOKEN, _SIGNATURE_B
                             callback format and checks
  QYSHOOK_ACCEPT_CONTRACT, _AUTH_PERSONAL, _AUTH_COMPANY
                             per kind: encrypted, plain or unsigned (defaults encrypted, unsigned, unsigned)
  QYSHOOK_AUTH_ANSWER        certification answer: json (default) or success
  QYSHOOK_TIMESTAMP_PAST, _FUTURE, QYSHOOK_MAX_BODY, QYSHOOK_PUBLISH_TIMEOUT
`

const helpDispatcher = `  QYSHOOK_DB                 ledger: sqlite://path (default <data dir>/ledger.db) or postgres://…
  QYSHOOK_SQLITE_CACHE       SQLite ledger: page cache of the writing connection (default 128MiB; 1MiB-64GiB)
  QYSHOOK_QYS_BASE_URL, QYSHOOK_QYS_APP_TOKEN, QYSHOOK_QYS_APP_SECRET, QYSHOOK_QYS_PRIVATE_CLOUD
                             契约锁 open API
  QYSHOOK_QYS_AGENT_TOKEN, QYSHOOK_QYS_AGENT_SECRET
                             SaaS agent mode (acting for other companies)
  QYSHOOK_QYS_OPLOG_PATH     operation-log call (default /v2/contract/stream, private cloud /contract/stream;
                             /contract/operationlog for private cloud 4.0's documented call)
  QYSHOOK_API_CHECK          refused credentials at start: stop (default), warn (hold the dispatcher) or off
  QYSHOOK_API_RATE           open-API requests/s per tenant in this process (0 = no limit; 1-100000);
                             with N dispatchers: the application's limit / N, minus headroom
  QYSHOOK_API_INFLIGHT       open-API requests at once per tenant in this process (0 = no bound; 1-10000)
  QYSHOOK_MAX_DELIVER, QYSHOOK_ACK_WAIT, QYSHOOK_DISPATCH_WORKERS, QYSHOOK_ARCHIVE_BUNDLE
  QYSHOOK_RECONCILE_INTERVAL, _STUCK_AFTER, _WINDOW
  QYSHOOK_SHUTDOWN_TIMEOUT   how long the batch in hand may run after SIGTERM (30s)
  QYSHOOK_LEDGER_RETENTION   how long applied events stay in the ledger (2160h; 0 keeps them)
  QYSHOOK_OUTBOX_RETENTION   how long published facts stay in the outbox (168h; 0 keeps them)
`

// flags handles the command line of a daemon, which takes no arguments
// but -h/--help and --version. done reports that the process should exit
// with code (help and version: 0; anything else: one line, 2).
func flags(service string, roles Roles, args []string, stdout, stderr io.Writer) (code int, done bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		writeHelp(stdout, service, roles)
		return 0, true
	case "-version", "--version", "version":
		fmt.Fprintln(stdout, service, qys.Version)
		return 0, true
	}
	what := "argument"
	if strings.HasPrefix(args[0], "-") {
		what = "flag"
	}
	fmt.Fprintf(stderr, "%s: unknown %s %q (only -h, --help, --version; settings are QYSHOOK_* variables, see %s --help)\n",
		service, what, args[0], service)
	return 2, true
}

// WriteSettings lists the QYSHOOK_* settings the roles read (for the
// --help of commands that run them, such as qyshook serve).
func WriteSettings(w io.Writer, roles Roles) {
	fmt.Fprint(w, helpCommon)
	if roles.Receiver {
		fmt.Fprint(w, helpReceiver)
	}
	if roles.Dispatcher {
		fmt.Fprint(w, helpDispatcher)
	}
}

func writeHelp(w io.Writer, service string, roles Roles) {
	fmt.Fprintf(w, "usage: %s [-h | --help | --version]\n\n", service)
	fmt.Fprintf(w, "qyshook %s %s. Runs until SIGINT or SIGTERM; configured by environment:\n\n", service, qys.Version)
	WriteSettings(w, roles)
	fmt.Fprintln(w, "\nOne process per data dir: a second one on the same embedded store or SQLite ledger stops at start.")
}
