// Package embeddednats runs a JetStream-enabled nats-server inside the
// qyshook process, for `qyshook serve` and for tests. By default it opens
// no TCP port (clients connect in-process), so it never collides with a
// NATS already running on the machine; Options.ListenAddr opens one for
// subscribers (Options.ListenPublish also for publishers: a separate
// dispatcher, the CLI's replays).
//
// One process per store: Start takes an exclusive lock on the store
// directory (a pid file under it, held until Shutdown), so a second
// process on the same data dir stops with one line naming the holder
// instead of running a second JetStream over the same files.
//
// A failed write (disk full, file size limit) makes nats-server keep the
// error in the stream's store and refuse every later write until the store
// is reopened. StoreError reports that state, ProbeDisk tells whether the
// disk takes writes again, and Restart reopens the stores by restarting
// the server in-process; clients from Connect reconnect to the new server
// by themselves.
//
// Durability (Options.SyncInterval): by default every acknowledged write is
// on the disk before the caller acts on it. In-process on Linux that is
// grouped (GroupSync): nats-server writes each message to the operating
// system before its PubAck, and the client waits for one syncfs of the
// store shared by every caller that arrived meanwhile. A client port's
// clients may only subscribe and consume unless Options.ListenPublish,
// so the port keeps the grouping. With a port whose clients may publish
// (they cannot be made to wait), off Linux, on a kernel
// or file system where that is not as safe (groupSyncCheck), or with
// SyncEachWrite, nats-server fsyncs each write itself ("sync: always"). A
// positive interval relaxes it to nats-server's periodic flush, which can
// lose acknowledged messages on power loss.
package embeddednats

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/qyshook/qyshook/pidlock"
)

// LockFile is the lock file's name under the store directory.
const LockFile = "qyshook.lock"

// Options configures the embedded server.
type Options struct {
	// StoreDir is the JetStream file store directory (required).
	StoreDir string
	// ListenAddr, e.g. "127.0.0.1:4223", opens a client port. Empty: in-process only.
	ListenAddr string
	// ListenPublish lets the client port's clients publish and manage
	// streams. Without it they may only subscribe and consume (see
	// SubscriberPermissions), so every write to the store comes from an
	// in-process client that waits for the group sync and the store stays
	// grouped; with it nobody can make their publishes wait, so a synced
	// store falls back to nats-server's own fsync per write ("each-write").
	ListenPublish bool
	// LedgerStreams are the streams whose consumers the client port's
	// subscribe-only clients may create, work, delete and ack (the fact
	// ledger: events.Names.LedgerStream, e.g. "ns_QYS_LEDGER"; default
	// "QYS_LEDGER"). Consumers of every other stream (the callbacks qyshook
	// dispatches, the dead letters) are out of their reach.
	LedgerStreams []string
	// ServerName names the server (default "qyshook-embedded").
	ServerName string
	// ReadyTimeout bounds the start and each Restart's start (default 10 s).
	ReadyTimeout time.Duration
	// SyncInterval, when positive, fsyncs the store at that interval
	// instead of on every write: faster, but a power loss can lose
	// messages already acknowledged. Zero makes every write durable before
	// it is acted on: grouped (see Syncer) where possible, else
	// nats-server's "sync: always". SyncEachWrite asks for the latter.
	SyncInterval time.Duration

	grouped bool // set by Start: this server's writes are synced by a GroupSync
}

// SyncEachWrite, as Options.SyncInterval, makes nats-server fsync every
// write before its PubAck ("sync: always"), one fsync per message.
const SyncEachWrite time.Duration = -1

// SyncGroupedFS, as Options.SyncInterval, groups syncs as the default
// does but flushes each group with syncfs(2) of the store's whole file
// system (the behaviour before qyshook synced the store's own files):
// every other program's dirty files on it are written too.
const SyncGroupedFS time.Duration = -2

// Server is a running embedded nats-server.
type Server struct {
	o    Options
	lock *pidlock.Lock

	mu   sync.Mutex
	srv  *server.Server // replaced by Restart
	down error          // why the last Restart could not start the server; nil when running

	cmu     sync.Mutex               // guards clients (never held while taking mu)
	clients map[*clientConn]struct{} // in-process client ends their client has not closed yet

	gs          *GroupSync   // nil unless o.grouped
	closeSync   func() error // releases gs's store handle
	syncfs      bool         // gs flushes with syncfs(2), not the store's own files
	files       *fileSync    // gs's flush unless syncfs
	filesFailed string       // why the store's own files could not be followed (syncfs instead)
	syncReason  string       // why a synced store is not grouped ("" when it is, or relaxed)
}

func (s *Server) current() *server.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv
}

// Start starts the server and waits until it is ready for connections.
func Start(o Options) (*Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("embeddednats: store dir required")
	}
	if o.ServerName == "" {
		o.ServerName = "qyshook-embedded"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 10 * time.Second
	}
	if err := os.MkdirAll(o.StoreDir, 0o700); err != nil {
		return nil, fmt.Errorf("embeddednats: store dir: %w", err)
	}
	lock, err := pidlock.Acquire(filepath.Join(o.StoreDir, LockFile))
	if err != nil {
		return nil, fmt.Errorf("embedded NATS store in use: %w", err)
	}
	s := &Server{o: o, lock: lock}
	if err := s.setupGroupSync(); err != nil {
		lock.Release()
		return nil, err
	}
	if s.srv, err = start(s.o); err != nil {
		if s.closeSync != nil {
			_ = s.closeSync()
		}
		lock.Release()
		return nil, err
	}
	return s, nil
}

// setupGroupSync decides, for a synced store, whether its writes are
// synced in groups (in-process only, on a file system and kernel where
// that is as safe as nats-server's own sync; see groupSyncCheck) and
// opens the flush, checking once that it works.
func (s *Server) setupGroupSync() error {
	o := &s.o
	if s.syncReason = planReason(*o); s.syncReason != "" || (o.SyncInterval != 0 && o.SyncInterval != SyncGroupedFS) {
		return nil
	}
	// nats-server writes under StoreDir/jetstream: sync the file system
	// that holds it (a volume may be mounted there).
	dir := filepath.Join(o.StoreDir, server.JetStreamStoreDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("embeddednats: store dir: %w", err)
	}
	if s.syncReason = groupSyncCheck(dir); s.syncReason != "" {
		return nil
	}
	syncfs := o.SyncInterval == SyncGroupedFS
	var flush, closeFlush func() error
	var err error
	if !syncfs {
		flush, closeFlush, s.files, err = storeFilesFlush(dir)
		if err != nil {
			// No inotify here (or no watch left): the file system's
			// syncfs still serves, at its neighbours' cost.
			syncfs, s.filesFailed = true, err.Error()
		}
	}
	if syncfs {
		flush, closeFlush, err = storeFlush(dir)
	}
	if err == nil {
		if err = flush(); err != nil {
			_ = closeFlush()
		}
	}
	if err != nil {
		s.syncReason = "sync: " + err.Error()
		return nil
	}
	o.grouped, s.syncfs = true, syncfs
	s.gs, s.closeSync = NewGroupSync(flush), closeFlush
	if !syncfs {
		s.gs.detail = func(st *SyncStats) { st.Files, st.Dirs, st.FullPasses, st.Syncfs = s.files.stats() }
	}
	return nil
}

// planReason is why o's store would not be grouped before looking at the
// file system ("" when that is next, or when o relaxes the sync).
func planReason(o Options) string {
	switch {
	case o.SyncInterval < 0 && o.SyncInterval != SyncGroupedFS:
		return "asked for"
	case o.SyncInterval > 0:
		return ""
	case o.ListenAddr != "" && o.ListenPublish:
		return "the client port lets other processes publish (they cannot wait for a group sync)"
	}
	return ""
}

// PlanSync says which mode Start would sync o's store in (as SyncMode
// names it) and why a synced store would not be grouped (SyncReason),
// without starting, locking or creating anything: for qyshook doctor,
// which must not touch the store serve holds. The file system checked is
// the store's, or its nearest existing parent's.
func PlanSync(o Options) (mode, reason string) {
	switch {
	case o.SyncInterval > 0:
		return o.SyncInterval.String(), ""
	case o.SyncInterval < 0 && o.SyncInterval != SyncGroupedFS:
		return "each-write", planReason(o)
	}
	if r := planReason(o); r != "" {
		return "each-write", r
	}
	dir := filepath.Join(o.StoreDir, server.JetStreamStoreDir)
	for {
		if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
			break
		}
		dir = filepath.Dir(dir)
	}
	if r := groupSyncCheck(dir); r != "" {
		return "each-write", r
	}
	if o.SyncInterval == SyncGroupedFS {
		return ModeGroupedSyncfs, ""
	}
	return ModeGrouped, ""
}

// The grouped modes as SyncMode and PlanSync name them.
const (
	// ModeGrouped: each group is flushed by fdatasync of the files the
	// store wrote since the previous group and fsync of the directories
	// whose entries changed (fileSync).
	ModeGrouped = "grouped"
	// ModeGroupedSyncfs: each group is flushed by syncfs(2) of the
	// store's file system (SyncGroupedFS, or no inotify).
	ModeGroupedSyncfs = "grouped-syncfs"
)

func start(o Options) (*server.Server, error) {
	opts := &server.Options{
		ServerName:         o.ServerName,
		JetStream:          true,
		StoreDir:           o.StoreDir,
		NoSigs:             true,
		NoLog:              true,
		MaxPayload:         8 << 20,
		JetStreamMaxMemory: 256 << 20,
		// Grouped: no fsync of its own beyond nats-server's periodic one
		// (default 2 min); the GroupSync flushes before a PubAck is used.
		SyncAlways: o.SyncInterval <= 0 && !o.grouped,
	}
	if o.SyncInterval > 0 {
		opts.SyncInterval = o.SyncInterval
	}
	if o.ListenAddr == "" {
		opts.DontListen = true
	} else {
		host, port, err := net.SplitHostPort(o.ListenAddr)
		if err != nil {
			return nil, fmt.Errorf("embeddednats: listen addr %q: %w", o.ListenAddr, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("embeddednats: listen port %q: %w", port, err)
		}
		if host == "" {
			host = "127.0.0.1"
		}
		if p > 0 {
			// Probe the port first: the server only says "not ready" when
			// it is taken; this error wraps the listen failure
			// (syscall.EADDRINUSE) for the caller to name its setting.
			ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
			if err != nil {
				return nil, fmt.Errorf("embeddednats: listen %s: %w", o.ListenAddr, err)
			}
			_ = ln.Close()
		}
		opts.Host, opts.Port = host, p
		if !o.ListenPublish {
			streams := o.LedgerStreams
			if len(streams) == 0 {
				streams = []string{DefaultLedgerStream}
			}
			opts.CustomClientAuthentication = portAuth{perms: SubscriberPermissions(streams...)}
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embeddednats: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(o.ReadyTimeout) {
		srv.Shutdown()
		return nil, errors.New("embeddednats: server not ready in time (port in use or store dir unusable?)")
	}
	return srv, nil
}

// DefaultLedgerStream is the ledger stream without a namespace
// (events.StreamLedger), the default of Options.LedgerStreams.
const DefaultLedgerStream = "QYS_LEDGER"

// SubscriberPermissions are the client port's clients' permissions
// unless Options.ListenPublish: subscribe to anything; publish only what
// reads a stream (stream info and names, message gets) or, on the given
// ledger streams only, works a consumer (consumer create/info/list/
// delete/next, acks), plus flow control. Publishing to an inbox is
// refused too: a client that may subscribe to anything could otherwise
// answer qyshook's own pull requests or publishes with forgeries.
// Publishing to a stream's subjects, the JetStream calls that add, delete
// or purge messages or create, change or delete streams, and every
// consumer call or ack on any other stream (qyshook's own dispatcher
// durable on QYS_CALLBACKS, QYS_DLQ) are refused ("Permissions
// Violation"), so no write reaches the store without waiting for the
// group sync and nobody outside can take, skip or end qyshook's
// deliveries.
func SubscriberPermissions(ledgerStreams ...string) server.Permissions {
	allow := []string{
		"$JS.API.INFO",
		"$JS.API.STREAM.INFO.*",
		"$JS.API.STREAM.NAMES",
		"$JS.API.STREAM.LIST",
		"$JS.API.STREAM.MSG.GET.*",
		"$JS.API.DIRECT.GET.>",
		"$JS.FC.>",
	}
	for _, st := range ledgerStreams {
		allow = append(allow,
			"$JS.API.CONSUMER.CREATE."+st,      // ephemeral, older servers' form
			"$JS.API.CONSUMER.CREATE."+st+".>", // <consumer>[.<filter>]
			"$JS.API.CONSUMER.DURABLE.CREATE."+st+".*",
			"$JS.API.CONSUMER.INFO."+st+".*",
			"$JS.API.CONSUMER.DELETE."+st+".*",
			"$JS.API.CONSUMER.MSG.NEXT."+st+".*",
			"$JS.API.CONSUMER.LIST."+st,
			"$JS.API.CONSUMER.NAMES."+st,
			"$JS.ACK."+st+".>",
		)
	}
	return server.Permissions{Publish: &server.SubjectPermission{Allow: allow}}
}

// portAuth gives in-process clients every permission and the client
// port's clients perms. An in-process client's end is a net.Pipe, whose
// address is "pipe"; anything else came through the port.
type portAuth struct{ perms server.Permissions }

func (a portAuth) Check(c server.ClientAuthentication) bool {
	if ra := c.RemoteAddress(); ra != nil && ra.Network() == "pipe" {
		c.RegisterUser(&server.User{Username: "in-process"})
		return true
	}
	perms := a.perms
	perms.Publish = &server.SubjectPermission{Allow: append([]string(nil), a.perms.Publish.Allow...)}
	c.RegisterUser(&server.User{Username: "subscriber", Permissions: &perms})
	return true
}

// InProcessConn connects to the current server (nats.InProcessConnProvider),
// so a client reconnecting after Restart reaches the new one.
func (s *Server) InProcessConn() (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	conn, err := s.srv.InProcessConn()
	if err != nil {
		return nil, err
	}
	c := &clientConn{Conn: conn, s: s, closed: make(chan struct{})}
	s.cmu.Lock()
	if s.clients == nil {
		s.clients = map[*clientConn]struct{}{}
	}
	s.clients[c] = struct{}{}
	s.cmu.Unlock()
	return c, nil
}

// clientConn is a client's end of an in-process connection. nats.go
// closes it as soon as it sees the server gone, and from then on buffers
// what it publishes until it has reconnected; Restart waits for that.
type clientConn struct {
	net.Conn
	s      *Server
	once   sync.Once
	closed chan struct{}
}

func (c *clientConn) Close() error {
	c.once.Do(func() {
		c.s.cmu.Lock()
		delete(c.s.clients, c)
		c.s.cmu.Unlock()
		close(c.closed)
	})
	return c.Conn.Close()
}

// Connect opens an in-process client connection. Extra options are
// appended (name, handlers…). The connection follows Restart.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.InProcessServer(s)}, opts...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("embeddednats: connect: %w", err)
	}
	return nc, nil
}

// ClientURL is the TCP URL when ListenAddr was set, else "".
func (s *Server) ClientURL() string {
	srv := s.current()
	if srv.Addr() == nil {
		return ""
	}
	return srv.ClientURL()
}

// Shutdown stops the server and waits for it to finish.
func (s *Server) Shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	if s.gs != nil {
		_ = s.gs.Close() // nats-server's last writes on stop are synced too
		_ = s.closeSync()
	}
	s.lock.Release()
}

// SyncAlways reports whether every acknowledged write is made durable
// before it is acted on: by nats-server itself, or by the Syncer that
// every in-process publisher must wait for.
func (s *Server) SyncAlways() bool {
	if s.gs != nil {
		return true
	}
	c := s.current().JetStreamConfig()
	return c != nil && c.SyncAlways
}

// Syncer is the GroupSync a publisher waits on after each PubAck before
// acting on it (answering a callback, acknowledging its source), or nil
// when nats-server syncs by itself or by interval (see Options).
func (s *Server) Syncer() *GroupSync { return s.gs }

// ListenAccess names what the client port's clients may do: "subscribe"
// or "publish" ("" without a port).
func (s *Server) ListenAccess() string {
	switch {
	case s.o.ListenAddr == "":
		return ""
	case s.o.ListenPublish:
		return "publish"
	}
	return "subscribe"
}

// SyncReason says why a synced store is not grouped ("" when it is, or
// when writes are synced by interval).
func (s *Server) SyncReason() string { return s.syncReason }

// SyncMode names the durability in force: "grouped" (Syncer), "each-write"
// (nats-server "sync: always") or the periodic flush interval.
func (s *Server) SyncMode() string {
	switch {
	case s.gs != nil && s.syncfs:
		return ModeGroupedSyncfs
	case s.gs != nil:
		return ModeGrouped
	case s.o.SyncInterval > 0:
		return s.o.SyncInterval.String()
	default:
		return "each-write"
	}
}

// StoreError returns nil while the server is up with JetStream enabled
// and every stream's store takes writes; otherwise the server's own
// health error, such as "JetStream stream '$G > QYS_CALLBACKS' write
// error: … file too large". It is cheap: nats-server's healthz check,
// in-process, without a request.
func (s *Server) StoreError() error {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down != nil {
		// Not running since a failed Restart: the condition Restart is
		// for, so the watcher tries again.
		return fmt.Errorf("%w: the server is down after a failed restart: %w", ErrStoreWrite, down)
	}
	if err := s.gs.Err(); err != nil {
		return err // final: /readyz fails until the process restarts
	}
	h := s.current().Healthz(&server.HealthzOptions{})
	if h.Error == "" && len(h.Errors) == 0 && h.StatusCode == 200 {
		return nil
	}
	msg := h.Error
	if msg == "" {
		msg = h.Status
	}
	if strings.Contains(msg, " write error: ") {
		return fmt.Errorf("%w: %s", ErrStoreWrite, msg)
	}
	return fmt.Errorf("embeddednats: %s", msg)
}

// ErrStoreWrite is the StoreError of a store that kept a failed write's
// error: the one condition Restart is for. Other health errors (a stream
// that could not be recovered, JetStream disabled) are reported but not
// wrapped.
var ErrStoreWrite = errors.New("embeddednats: store refuses writes after a failed write")

// probeSize is the write ProbeDisk makes: larger than a full disk's last
// free fragment is likely to be, small next to a message block.
const probeSize = 256 << 10

// ProbeDisk writes, syncs and removes a file of probeSize bytes under the
// store directory, and returns the error of the first step that fails
// (nil: the disk takes writes).
func (s *Server) ProbeDisk() error {
	f, err := os.CreateTemp(s.o.StoreDir, ".qyshook-probe-*")
	if err != nil {
		return fmt.Errorf("embeddednats: probe: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, probeSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("embeddednats: probe: %w", err)
	}
	return nil
}

// Restart shuts the server down and starts it again on the same store,
// in this process: nats-server reopens every stream's files, which clears
// a store's kept write error. Clients from Connect see a disconnection
// and reconnect to the new server; TCP clients reconnect to the same
// address. When the new server cannot start, the error is returned and a
// later Restart may try again.
//
// Restart returns once every client from Connect has seen the old server
// gone (or after ReadyTimeout): a client that had not yet would write a
// request sent meanwhile into the closed connection, where nats.go drops
// it, and its caller would wait out its timeout; from then on, it keeps
// the request until it has reconnected.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv.Running() {
		s.cmu.Lock()
		old := make([]*clientConn, 0, len(s.clients))
		for c := range s.clients {
			old = append(old, c)
		}
		s.cmu.Unlock()
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		deadline := time.NewTimer(min(s.o.ReadyTimeout, clientLetGoWait))
		defer deadline.Stop()
	wait:
		for _, c := range old {
			select {
			case <-c.closed:
			case <-deadline.C:
				// A client that does not read, or an end nats.go dropped
				// without closing it (a handshake that failed): it finds
				// out on its own.
				break wait
			}
		}
		s.cmu.Lock()
		for _, c := range old {
			delete(s.clients, c) // never waited for again
		}
		s.cmu.Unlock()
	}
	srv, err := startServer(s.o)
	if err != nil {
		s.down = err
		return err
	}
	s.srv, s.down = srv, nil
	return nil
}

// clientLetGoWait bounds Restart's wait for in-process clients to close
// their end of the old server (a live client does within milliseconds);
// /readyz and reconnecting clients wait on the server lock meanwhile, and
// an end nats.go abandoned without closing it would otherwise cost the
// whole ReadyTimeout.
const clientLetGoWait = 2 * time.Second

// startServer is start; a test makes it fail.
var startServer = start
