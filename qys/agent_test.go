package qys_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/qyshook/qyshook/qys"
)

func TestNewClientAgentOptions(t *testing.T) {
	const base = "https://openapi.qiyuesuo.cn"
	for name, tc := range map[string]struct {
		token, secret string
		opts          []qys.Option
		ok            bool
	}{
		"OKAppOnly":           {"t", "s", nil, true},
		"OKAgentOnly":         {"", "", []qys.Option{qys.WithAgent("at", "s3cr3t-agent")}, true},
		"OKAgentAndApp":       {"t", "s", []qys.Option{qys.WithAgent("at", "s3cr3t-agent")}, true},
		"ErrNoCredentials":    {"", "", nil, false},
		"ErrHalfAppPair":      {"t", "", []qys.Option{qys.WithAgent("at", "s3cr3t-agent")}, false},
		"ErrEmptyAgentSecret": {"t", "s", []qys.Option{qys.WithAgent("at", "")}, false},
		"ErrAgentLineBreak":   {"t", "s", []qys.Option{qys.WithAgent("a\r\nX: y", "s3cr3t-agent")}, false},
		"ErrAgentPrivate":     {"t", "s", []qys.Option{qys.WithAgent("at", "s3cr3t-agent"), qys.WithPrivateCloud()}, false},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := qys.NewClient(base, tc.token, tc.secret, tc.opts...)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, qys.ErrInvalidOption)) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t-agent") {
				t.Fatalf("error leaks the agent secret: %v", err)
			}
		})
	}
}
