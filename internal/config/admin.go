package config

import (
	"net"
	"strconv"
	"strings"
)

// DefaultAdminAddr is where the admin API listens unless
// QYSHOOK_ADMIN_ADDR says otherwise: loopback only.
const DefaultAdminAddr = "127.0.0.1:8082"

// MinAdminTokenLen is the shortest accepted admin token.
const MinAdminTokenLen = 16

// Admin configures the admin API's listener and its bearer tokens.
type Admin struct {
	// Addr is the admin listener's address (QYSHOOK_ADMIN_ADDR, default
	// 127.0.0.1:8082); "off" disables the admin API, and so does having no
	// token. An address beyond loopback needs a token.
	Addr string
	// Token is the operator token: reads personal data unmasked and runs
	// the write routes (QYSHOOK_ADMIN_TOKEN).
	Token Secret
	// ViewerToken is the viewer token: reads with personal data masked
	// (QYSHOOK_ADMIN_VIEWER_TOKEN).
	ViewerToken Secret
}

// Enabled reports whether the admin API should listen: an address and at
// least one token.
func (a Admin) Enabled() bool {
	return a.Addr != "" && (a.Token != "" || a.ViewerToken != "")
}

func (e envReader) admin() Admin {
	a := Admin{
		Addr:        e.str("ADMIN_ADDR", DefaultAdminAddr),
		Token:       Secret(e.str("ADMIN_TOKEN", "")),
		ViewerToken: Secret(e.str("ADMIN_VIEWER_TOKEN", "")),
	}
	if strings.EqualFold(a.Addr, "off") {
		a.Addr = ""
	}
	for _, t := range []struct {
		name  string
		value Secret
	}{{"ADMIN_TOKEN", a.Token}, {"ADMIN_VIEWER_TOKEN", a.ViewerToken}} {
		if t.value != "" && len(t.value.Reveal()) < MinAdminTokenLen {
			e.problem(t.name, "shorter than %d characters (use e.g. openssl rand -hex 24)", MinAdminTokenLen)
		}
	}
	if a.Token != "" && a.Token == a.ViewerToken {
		e.problem("ADMIN_VIEWER_TOKEN", "same as QYSHOOK_ADMIN_TOKEN; give the viewer its own token")
	}
	if a.Addr == "" {
		return a
	}
	host, port, err := net.SplitHostPort(a.Addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		e.problem("ADMIN_ADDR", "%q is not host:port such as 127.0.0.1:8082 (or off)", a.Addr)
		return a
	}
	if !isLoopback(host) && a.Token == "" && a.ViewerToken == "" {
		e.problem("ADMIN_ADDR", "%s listens beyond loopback without a token; set %sADMIN_TOKEN or listen on 127.0.0.1", a.Addr, Prefix)
	}
	return a
}

// isLoopback reports whether host names only this machine. An empty host
// (":8082") listens on every interface.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
