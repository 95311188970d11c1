package qystest

import (
	"fmt"
	"net"
)

// WithListener makes the fake serve on ln instead of a random loopback
// port; Close closes ln. When ln listens on an unspecified address
// (":9090", "0.0.0.0:9090"), URL names 127.0.0.1 instead, so it stays
// usable as a base URL.
func WithListener(ln net.Listener) Option {
	return func(c *config) {
		c.setup = append(c.setup, func(s *Server) {
			_ = s.srv.Listener.Close()
			s.srv.Listener = reachable(ln)
		})
	}
}

// Listen starts a fake on addr, such as "127.0.0.1:9090" (the standalone
// simulator behind `qyshook sim`). Unlike NewServer it returns an error
// when addr cannot be listened on.
func Listen(addr string, opts ...Option) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("qystest: listen %s: %w", addr, err)
	}
	return NewServer(append(opts, WithListener(ln))...), nil
}

// reachable wraps ln so that Addr reports a loopback address instead of an
// unspecified one (httptest builds URL from Addr).
func reachable(ln net.Listener) net.Listener {
	tcp, ok := ln.Addr().(*net.TCPAddr)
	if !ok || (tcp.IP != nil && !tcp.IP.IsUnspecified()) {
		return ln
	}
	return addrListener{Listener: ln, addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: tcp.Port}}
}

type addrListener struct {
	net.Listener
	addr net.Addr
}

func (l addrListener) Addr() net.Addr { return l.addr }
