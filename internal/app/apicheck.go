package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/qyshook/qyshook/dispatcher"
	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/internal/health"
	"github.com/qyshook/qyshook/qys"
)

// ReasonAPICredentials is what /readyz answers while the dispatcher is held
// because the open API refused a tenant's credentials
// (QYSHOOK_API_CHECK=warn).
const ReasonAPICredentials = "api_credentials_refused"

// probeContractID is the contract the credential check asks for: an id no
// contract has, so the platform answers "not found" once it has accepted
// the signature, and "unauthorized" when it has not.
const probeContractID = "1"

// apiCheckTimeout bounds the credential check of all tenants.
const apiCheckTimeout = 5 * time.Second

// CheckAPICredentials makes one signed call per tenant (a contract detail
// of an id that does not exist). refused names the tenants whose
// credentials the platform refused, one line; unchecked the tenants whose
// call failed otherwise (platform unreachable, 5xx), which start-up only
// warns about: the receiver must not depend on the platform being up.
func CheckAPICredentials(ctx context.Context, apis map[string]dispatcher.API) (refused, unchecked error) {
	ctx, cancel := context.WithTimeout(ctx, apiCheckTimeout)
	defer cancel()
	names := make([]string, 0, len(apis))
	for n := range apis {
		names = append(names, n)
	}
	sort.Strings(names)
	var bad, unknown []error
	for _, n := range names {
		_, err := apis[n].ContractDetail(ctx, qys.ContractQuery{ContractID: probeContractID})
		switch {
		case err == nil || errors.Is(err, qys.ErrNotFound):
		case errors.Is(err, qys.ErrUnauthorized):
			bad = append(bad, fmt.Errorf("tenant %q: the open API refused the credentials (check %sQYS_APP_TOKEN and %sQYS_APP_SECRET, or the tenant's qys_app_token/qys_app_secret): %w",
				n, config.Prefix, config.Prefix, err))
		default:
			unknown = append(unknown, fmt.Errorf("tenant %q: credentials not checked: %w", n, err))
		}
	}
	return errors.Join(bad...), errors.Join(unknown...)
}

// checkAPI runs the start-up credential check as cfg.APICheck says. It
// returns an error only in "stop" mode; in "warn" mode a refusal is kept in
// s.apiRefused (the dispatcher is held and /readyz reports it).
func (s *Services) checkAPI(ctx context.Context) error {
	if s.Cfg.APICheck == config.APICheckOff || len(s.APIs) == 0 {
		return nil
	}
	refused, unchecked := CheckAPICredentials(ctx, s.APIs)
	if unchecked != nil {
		s.Log.Warn().Err(unchecked).Msg("open API not reachable at start: credentials not checked")
	}
	if refused == nil {
		return nil
	}
	if s.Cfg.APICheck != config.APICheckWarn {
		return fmt.Errorf("%w (%sAPI_CHECK=warn keeps the receiver up instead)", refused, config.Prefix)
	}
	s.Log.Error().Err(refused).Msg("dispatcher held: the open API refused the credentials; /readyz answers " + ReasonAPICredentials)
	s.apiRefused = refused
	return nil
}

// apiCredentials is the readiness check of a held dispatcher.
func (s *Services) apiCredentials() health.Check {
	return health.Check{Reason: ReasonAPICredentials, Ready: func(context.Context) error { return s.apiRefused }}
}
