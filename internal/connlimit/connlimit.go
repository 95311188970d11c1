// Package connlimit caps the connections a listener holds open at once.
// Each idle HTTP keep-alive connection costs the server its buffers and
// goroutine (about 13 KiB), so without a cap a crowd of idle clients can
// grow a process's memory without bound. Beyond the cap, a new connection
// is answered "503 Service Unavailable" (HTTP/1.1, Connection: close, a
// Retry-After) and closed at once, so 契约锁 retries it later instead of
// the server queueing it.
//
// The listener exports, with a "listener" label, the number of open
// connections (qyshook_http_connections_open) and the count of refused
// ones (qyshook_http_connections_refused_total).
package connlimit

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// refusal is the whole answer written to a connection over the cap.
const refusal = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Retry-After: 1\r\nConnection: close\r\nContent-Length: 28\r\n\r\ntoo many connections; retry\n"

// refuseWriteTimeout bounds the write of the refusal; the accept loop
// never waits longer for a refused client.
const refuseWriteTimeout = 100 * time.Millisecond

// Options configures Wrap.
type Options struct {
	// Max is the most connections open at once (required, at least 1).
	Max int
	// Name is the listener label of the metrics, e.g. "callback" or "admin".
	Name string
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Listener is a net.Listener that holds at most Options.Max connections.
type Listener struct {
	net.Listener
	max     int64
	open    atomic.Int64
	refused atomic.Int64
}

// Wrap caps ln. It fails when Max is below 1 or the metrics cannot be
// registered.
func Wrap(ln net.Listener, o Options) (*Listener, error) {
	if o.Max < 1 {
		return nil, errors.New("connlimit: Max must be at least 1")
	}
	l := &Listener{Listener: ln, max: int64(o.Max)}
	if o.Registerer != nil {
		labels := prometheus.Labels{"listener": o.Name}
		for _, c := range []prometheus.Collector{
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name:        "qyshook_http_connections_open",
				Help:        "HTTP connections open on the listener (idle keep-alive ones included).",
				ConstLabels: labels,
			}, func() float64 { return float64(l.open.Load()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name:        "qyshook_http_connections_refused_total",
				Help:        "HTTP connections answered 503 and closed because the listener held QYSHOOK_MAX_CONNS already.",
				ConstLabels: labels,
			}, func() float64 { return float64(l.refused.Load()) }),
		} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, errors.Join(errors.New("connlimit: register metrics"), err)
			}
		}
	}
	return l, nil
}

// Accept returns the next connection under the cap. Connections over it
// are refused and closed without being returned.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) <= l.max {
			return &conn{Conn: c, l: l}, nil
		}
		l.open.Add(-1)
		l.refused.Add(1)
		refuse(c)
	}
}

// Open is the number of connections open now.
func (l *Listener) Open() int64 { return l.open.Load() }

// Refused is the number of connections refused since Wrap.
func (l *Listener) Refused() int64 { return l.refused.Load() }

func refuse(c net.Conn) {
	_ = c.SetWriteDeadline(time.Now().Add(refuseWriteTimeout))
	_, _ = c.Write([]byte(refusal))
	_ = c.Close()
}

// conn gives its slot back once, on the first Close.
type conn struct {
	net.Conn
	l    *Listener
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}
