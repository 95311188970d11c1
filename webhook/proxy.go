package webhook

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/net/http/httpproxy"
)

// proxyGuard picks the proxy of each request from HTTPS_PROXY, HTTP_PROXY
// and NO_PROXY (read when the sender is made, as http.ProxyFromEnvironment
// reads them) and keeps the private-address refusal meaningful through
// it: the connection then goes to the proxy, not to the target, so the
// target's host is resolved and checked before the request is sent. The
// proxy itself is the operator's and may be on a private address.
type proxyGuard struct {
	pick         func(*url.URL) (*url.URL, error)
	allowPrivate bool
	mu           sync.Mutex
	proxies      map[string]bool // host:port of the proxies used
}

func newProxyGuard(allowPrivate bool) *proxyGuard {
	return &proxyGuard{pick: httpproxy.FromEnvironment().ProxyFunc(), allowPrivate: allowPrivate, proxies: map[string]bool{}}
}

// proxy is the Transport's Proxy.
func (g *proxyGuard) proxy(req *http.Request) (*url.URL, error) {
	p, err := g.pick(req.URL)
	if err != nil || p == nil {
		return p, err
	}
	if !g.allowPrivate {
		if err := checkHost(req.Context(), req.URL.Hostname()); err != nil {
			return nil, err
		}
	}
	g.mu.Lock()
	g.proxies[proxyAddr(p)] = true
	g.mu.Unlock()
	return p, nil
}

// isProxy reports whether addr (host:port) is a proxy this sender uses.
func (g *proxyGuard) isProxy(addr string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.proxies[addr]
}

// proxyAddr is the host:port the transport dials for proxy p.
func proxyAddr(p *url.URL) string {
	port := p.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443", "socks5": "1080", "socks5h": "1080"}[p.Scheme]
	}
	return net.JoinHostPort(p.Hostname(), port)
}

// checkHost refuses a host that is, or resolves to, a non-public address
// (any of its addresses), or that cannot be resolved.
func checkHost(ctx context.Context, host string) error {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, host)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !Public(ip) {
			return fmt.Errorf("%w: %s", ErrPrivateAddress, ip)
		}
		return nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("webhook: resolve %s to check it before using the proxy: %w", host, err)
	}
	for _, ip := range ips {
		if !Public(ip) {
			return fmt.Errorf("%w: %s resolves to %s", ErrPrivateAddress, host, ip)
		}
	}
	return nil
}
