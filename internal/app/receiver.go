package app

import (
	"fmt"
	"strings"

	"github.com/rs/zerolog"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/receiver"
)

// ReceiverOptions turns the configuration into the receiver's options:
// one verifier per tenant (with its per-kind policy), the answer to
// certification callbacks, the names, and the limits. The caller adds the
// publisher, logger and registry.
func ReceiverOptions(cfg *config.Config, names events.Names) (receiver.Options, error) {
	verifiers, err := Verifiers(cfg.Tenants)
	if err != nil {
		return receiver.Options{}, err
	}
	answers := make(map[string]receiver.AuthAnswer, len(cfg.Tenants))
	for _, t := range cfg.Tenants {
		a, err := receiver.ParseAuthAnswer(t.AuthAnswer)
		if err != nil {
			return receiver.Options{}, fmt.Errorf("tenant %q: %w", t.Name, err)
		}
		answers[t.Name] = a
	}
	return receiver.Options{Tenants: verifiers, AuthAnswers: answers, Names: names, MaxBody: cfg.MaxBody,
		PublishTimeout: cfg.PublishTimeout}, nil
}

// Verifiers builds the callback verifier of every tenant. It fails when a
// tenant is defined twice or its verification settings are invalid.
func Verifiers(tenants []config.Tenant) (map[string]*qys.Verifier, error) {
	out := make(map[string]*qys.Verifier, len(tenants))
	for i := range tenants {
		t := &tenants[i]
		if _, dup := out[t.Name]; dup {
			return nil, fmt.Errorf("receiver: tenant %q defined twice", t.Name)
		}
		v, err := qys.NewVerifier(t.VerifierConfig())
		if err != nil {
			return nil, fmt.Errorf("receiver: tenant %q: %w", t.Name, err)
		}
		out[t.Name] = v
	}
	return out, nil
}

// WarnLenientPolicies logs one warning per tenant that accepts plain or
// unsigned callbacks of any kind: such callbacks can be forged by anyone
// who knows the URL (format A's signature covers only the timestamp), so
// the operator is told at every start. It returns the number of warnings.
func WarnLenientPolicies(log zerolog.Logger, tenants []config.Tenant) int {
	n := 0
	for i := range tenants {
		t := &tenants[i]
		p := t.Policy()
		lenient := p.Lenient()
		if len(lenient) == 0 {
			continue
		}
		accepts := make([]string, len(lenient))
		for j, k := range lenient {
			accepts[j] = string(k) + "=" + string(p.For(k))
		}
		log.Warn().Str("tenant", t.Name).Str("accept", strings.Join(accepts, ",")).
			Msg("tenant accepts callbacks that are not signed and encrypted: anyone who knows the URL can forge them " +
				"(see docs/configuration.md)")
		n++
	}
	return n
}
