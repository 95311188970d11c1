package app

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Provisioning retries (a fresh cluster has no JetStream meta leader for
// its first seconds: stream requests time out or are answered 503).
const (
	// provisionWait bounds the retries of a start-up whose NATS is
	// connected but whose JetStream is not ready yet.
	provisionWait = 2 * time.Minute
	// provisionTry bounds one attempt (every stream once).
	provisionTry = 10 * time.Second
	// provisionBackoffMax caps the pause between attempts (it doubles from 250 ms).
	provisionBackoffMax = 5 * time.Second
)

// provision creates or updates the streams. A connected server that
// refuses the configuration is a start-up error; a connected JetStream
// that is not ready yet (no meta leader, peers still joining) is retried
// with backoff for up to provisionWait. While the server is not reachable
// at all, provisioning goes on in the background (receivers answer 503
// and /readyz fails until it succeeds; dispatchers wait for the stream).
func (s *Services) provision(ctx context.Context) error {
	if s.Conn.NC.IsConnected() {
		return provisionUntilReady(ctx, s.Log, provisionWait, provisionTry, s.provisionOnce)
	}
	ctx, s.stopProvision = context.WithCancel(context.WithoutCancel(ctx))
	s.provisioned = make(chan struct{})
	go func() {
		defer close(s.provisioned)
		for {
			err := s.Conn.WaitConnected(ctx)
			if err == nil {
				if err = s.provisionOnce(ctx, provisionTry); err == nil {
					s.Log.Info().Msg("streams provisioned")
					return
				}
			}
			if ctx.Err() != nil {
				return
			}
			s.Log.Warn().Err(err).Msg("provisioning streams; retrying")
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second):
			}
		}
	}()
	return nil
}

// provisionOnce creates or updates every stream once, within timeout.
func (s *Services) provisionOnce(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	kept, err := s.Names.ProvisionKept(ctx, s.Conn.JS, s.Cfg.Stream)
	for _, k := range kept {
		s.Log.Warn().Str("stream", k.Stream).Str("limit", k.Limit).Str("live", k.Live).Str("configured", k.Configured).
			Msg("stream limit configured lower than the live one: kept the live one (lower it with the NATS tools)")
	}
	return err
}

// provisionUntilReady calls try until it succeeds, fails for a reason
// other than JetStream not being ready, ctx ends, or wait has passed; it
// returns the last error. Each retry is logged at info with the attempt,
// the pause and the error (NATS errors name no credentials).
func provisionUntilReady(ctx context.Context, log zerolog.Logger, wait, perTry time.Duration,
	try func(context.Context, time.Duration) error) error {
	deadline := time.Now().Add(wait)
	backoff := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := try(ctx, perTry)
		if err == nil || ctx.Err() != nil || !jetStreamNotReady(err) || time.Now().Add(backoff).After(deadline) {
			if err == nil && attempt > 1 {
				log.Info().Int("attempt", attempt).Msg("streams provisioned")
			}
			return err
		}
		log.Info().Err(err).Int("attempt", attempt).Dur("retry_in", backoff).
			Msg("JetStream not ready to provision the streams (a cluster still electing its meta leader?); retrying")
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, provisionBackoffMax)
	}
}

// jetStreamNotReady reports errors a JetStream that is starting answers:
// no answer in time, no responders, JetStream not (yet) enabled, the
// cluster unavailable (503, e.g. 10008 "JetStream system temporarily
// unavailable"), or not enough peers for the replicas while they join
// (10005 no suitable peers, 10023 insufficient resources). A refusal of
// the configuration itself is not one of them.
func jetStreamNotReady(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case 10008, 10005, 10023, jetstream.JSErrCodeJetStreamNotEnabled:
			return true
		}
		return apiErr.Code == http.StatusServiceUnavailable
	}
	return false
}
