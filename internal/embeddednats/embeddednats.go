// Package embeddednats runs a JetStream-enabled nats-server inside the
// qyshook process, for `qyshook serve` and for tests. By default it opens
// no TCP port (clients connect in-process), so it never collides with a
// NATS already running on the machine; Options.ListenAddr opens one so a
// separate dispatcher can join.
//
// One process per store: Start takes an exclusive lock on the store
// directory (a pid file under it, held until Shutdown), so a second
// process on the same data dir stops with one line naming the holder
// instead of running a second JetStream over the same files.
//
// Durability: every write is fsynced before it is acknowledged (nats-server
// "sync: always") unless Options.SyncInterval relaxes it to nats-server's
// periodic flush, which can lose acknowledged messages on power loss.
package embeddednats

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/qyshook/qyshook/internal/pidlock"
)

// LockFile is the lock file's name under the store directory.
const LockFile = "qyshook.lock"

// Options configures the embedded server.
type Options struct {
	// StoreDir is the JetStream file store directory (required).
	StoreDir string
	// ListenAddr, e.g. "127.0.0.1:4223", opens a client port. Empty: in-process only.
	ListenAddr string
	// ServerName names the server (default "qyshook-embedded").
	ServerName string
	// ReadyTimeout bounds the start (default 10 s).
	ReadyTimeout time.Duration
	// SyncInterval, when positive, fsyncs the store at that interval
	// instead of on every write: faster, but a power loss can lose
	// messages already acknowledged. Zero syncs every write.
	SyncInterval time.Duration
}

// Server is a running embedded nats-server.
type Server struct {
	srv  *server.Server
	lock *pidlock.Lock
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
	if err := os.MkdirAll(o.StoreDir, 0o750); err != nil {
		return nil, fmt.Errorf("embeddednats: store dir: %w", err)
	}
	lock, err := pidlock.Acquire(filepath.Join(o.StoreDir, LockFile))
	if err != nil {
		return nil, fmt.Errorf("embedded NATS store in use: %w", err)
	}
	s, err := start(o)
	if err != nil {
		lock.Release()
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func start(o Options) (*Server, error) {
	opts := &server.Options{
		ServerName:         o.ServerName,
		JetStream:          true,
		StoreDir:           o.StoreDir,
		NoSigs:             true,
		NoLog:              true,
		MaxPayload:         8 << 20,
		JetStreamMaxMemory: 256 << 20,
		SyncAlways:         o.SyncInterval <= 0,
		SyncInterval:       o.SyncInterval,
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
		opts.Host, opts.Port = host, p
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
	return &Server{srv: srv}, nil
}

// Connect opens an in-process client connection. Extra options are
// appended (name, handlers…).
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.InProcessServer(s.srv)}, opts...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("embeddednats: connect: %w", err)
	}
	return nc, nil
}

// ClientURL is the TCP URL when ListenAddr was set, else "".
func (s *Server) ClientURL() string {
	if s.srv.Addr() == nil {
		return ""
	}
	return s.srv.ClientURL()
}

// Shutdown stops the server and waits for it to finish.
func (s *Server) Shutdown() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.lock.Release()
}

// SyncAlways reports whether every write is fsynced before its
// acknowledgement.
func (s *Server) SyncAlways() bool {
	c := s.srv.JetStreamConfig()
	return c != nil && c.SyncAlways
}
