package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// ErrPrivateAddress: the endpoint's host is (or resolves to) a loopback,
// link-local, private or otherwise non-public address, and the endpoint
// does not allow it (SSRF).
var ErrPrivateAddress = errors.New("webhook: address is loopback, link-local or private")

// ErrBadURL: the endpoint URL is not an absolute http(s) URL, or is plain
// http where HTTPS is required.
var ErrBadURL = errors.New("webhook: bad endpoint url")

// CheckURL validates an endpoint URL: absolute, http or https (https
// unless allowHTTP), no user info, and, unless allowPrivate, a host that is
// not a literal private address. Names are checked again, resolved, at
// connection time (Dialer), so DNS cannot be used to reach what a literal
// address cannot.
func CheckURL(raw string, allowHTTP, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w: %q is not an absolute URL", ErrBadURL, raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP {
			return fmt.Errorf("%w: %s: https is required (allow http for this endpoint or tenant to use it)", ErrBadURL, u.Redacted())
		}
	default:
		return fmt.Errorf("%w: scheme %q: want https (or http)", ErrBadURL, u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("%w: user info in the URL: use a header instead", ErrBadURL)
	}
	if allowPrivate {
		return nil
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, host)
	}
	if ip, err := netip.ParseAddr(host); err == nil && !Public(ip) {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, ip)
	}
	return nil
}

// Public reports whether ip is a public unicast address: not loopback,
// private (RFC 1918, fc00::/7), link-local, unspecified, multicast, CGNAT
// (100.64/10) or otherwise reserved.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// dialControl refuses, at connection time, any address that is not
// public: the check after DNS resolution.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: dial %s: %w", address, err)
	}
	if !Public(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, ap.Addr())
	}
	return nil
}

// dialer returns the dial function of a client: guarded unless private
// addresses are allowed, or addr is a proxy (isProxy), whose target was
// checked before.
func dialer(allowPrivate bool, isProxy func(addr string) bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	open := &net.Dialer{}
	if allowPrivate {
		return open.DialContext
	}
	guarded := &net.Dialer{Control: dialControl}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if isProxy(addr) {
			return open.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
}
