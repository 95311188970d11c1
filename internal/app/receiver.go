package app

import (
	"fmt"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/receiver"
)

// ReceiverOptions turns the configuration into the receiver's options:
// one verifier per tenant, the names, and the limits. The caller adds the
// publisher, logger and registry.
func ReceiverOptions(cfg *config.Config, names events.Names) (receiver.Options, error) {
	verifiers, err := Verifiers(cfg.Tenants)
	if err != nil {
		return receiver.Options{}, err
	}
	return receiver.Options{Tenants: verifiers, Names: names, MaxBody: cfg.MaxBody, PublishTimeout: cfg.PublishTimeout}, nil
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
