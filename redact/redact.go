// Package redact hides the credentials a URL may carry (its user info,
// the values of its query) wherever a URL is shown: errors, logs, metric
// labels, doctor lines, API answers.
package redact

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
)

// Mask replaces what is hidden.
const Mask = "REDACTED"

// invalid is what URL shows of a string that is not a URL: nothing of it.
const invalid = "(invalid URL)"

// URL returns s without its user info and fragment, the value of each
// query parameter replaced by REDACTED (a parameter without '=' whole);
// the scheme, host, port, path and parameter names stay.
// "https://u:p@tsa.example/ts?token=abc" gives
// "https://tsa.example/ts?token=REDACTED". A string that does not parse as
// a URL gives "(invalid URL)".
func URL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return invalid
	}
	if u.Opaque != "" {
		return u.Scheme + ":" + Mask
	}
	u.User = nil
	u.RawQuery, u.ForceQuery = query(u.RawQuery), false
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

func query(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		if k, _, ok := strings.Cut(p, "="); ok {
			parts[i] = k + "=" + Mask
		} else if p != "" {
			parts[i] = Mask
		}
	}
	return strings.Join(parts, "&")
}

// Error returns err with every mention of each raw URL, whole or of its
// credentials (user info, query values, raw or escaped), hidden as URL
// hides them; it unwraps to err (nil for nil, err itself when nothing is
// mentioned).
func Error(err error, rawURLs ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := Text(msg, rawURLs...)
	if red == msg {
		return err
	}
	return &redacted{msg: red, err: err}
}

// Text returns s with every mention of each raw URL, whole or of its
// credentials, hidden as URL hides them.
func Text(s string, rawURLs ...string) string {
	type pair struct{ old, new string }
	var pairs []pair
	for _, raw := range rawURLs {
		if raw == "" {
			continue
		}
		shown := URL(raw)
		pairs = append(pairs, pair{raw, shown})
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		pairs = append(pairs, pair{u.String(), shown}, pair{u.Redacted(), shown})
		var secrets []string
		if u.User != nil {
			p, _ := u.User.Password()
			secrets = append(secrets, u.User.String(), u.User.Username(), p)
		}
		for _, p := range strings.Split(u.RawQuery, "&") {
			_, v, ok := strings.Cut(p, "=")
			if !ok {
				v = p
			}
			if uv, err := url.QueryUnescape(v); err == nil {
				secrets = append(secrets, uv)
			}
			secrets = append(secrets, v)
		}
		for _, sec := range secrets {
			if len(sec) >= 3 {
				pairs = append(pairs, pair{sec, Mask}, pair{url.QueryEscape(sec), Mask}, pair{url.PathEscape(sec), Mask})
			}
		}
	}
	if len(pairs) == 0 {
		return s
	}
	// The longest first: a whole URL before the secret inside it.
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(len(b.old), len(a.old)) })
	args := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		args = append(args, p.old, p.new)
	}
	return strings.NewReplacer(args...).Replace(s)
}

// redacted shows a redacted text and unwraps to the original.
type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }
