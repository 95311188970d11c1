package app

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Stage is one peer of the pipeline: it runs until its context ends. The
// stages import libraries, never each other; this package builds them and
// runs them from one list (Stages).
type Stage struct {
	Name string
	Run  func(ctx context.Context) error
	// Last: stopped only once every other stage has returned. The relay is
	// last, so the facts of the dispatcher's final batch are published.
	Last bool
}

// Stages builds the stages of the dispatcher role, in one list: the
// dispatcher (it kicks the relay after each commit through a hook), the
// archiver, the reconciler (with reconciling on and the API usable), the
// callback stream's trimmer, the ledger's retention (when the ledger has
// one), the delivery to HTTP endpoints (when the ledger keeps them), the
// anchor stage (when the ledger keeps a receipt log), the evidence stage
// (QYSHOOK_EVIDENCE, when the ledger keeps bundles) and the outbox relay
// (Last).
func (s *Services) Stages(reg prometheus.Registerer, reconciling bool) ([]Stage, error) {
	rel, err := s.NewRelay(reg)
	if err != nil {
		return nil, err
	}
	disp, err := s.NewDispatcher(reg, rel.Kick)
	if err != nil {
		return nil, err
	}
	arch, err := s.NewArchiver(reg)
	if err != nil {
		return nil, err
	}
	trim, err := s.NewTrimmer(reg)
	if err != nil {
		return nil, err
	}
	prune, err := s.NewRetention(reg)
	if err != nil {
		return nil, err
	}
	deliver, err := s.NewDelivery(reg)
	if err != nil {
		return nil, err
	}
	anch, err := s.NewAnchor(reg)
	if err != nil {
		return nil, err
	}
	evid, err := s.NewEvidence(reg)
	if err != nil {
		return nil, err
	}
	stages := []Stage{{Name: "dispatcher", Run: disp.Run}, {Name: "archiver", Run: arch.Run}}
	if reconciling {
		rec, err := s.NewReconciler()
		if err != nil {
			return nil, err
		}
		stages = append(stages, Stage{Name: "reconciler", Run: rec.Run})
	}
	stages = append(stages, Stage{Name: "trimmer", Run: trim.Run})
	if prune != nil {
		stages = append(stages, Stage{Name: "retention", Run: prune.Run})
	}
	if deliver != nil {
		stages = append(stages, Stage{Name: "delivery", Run: deliver.Run})
	}
	if anch != nil {
		stages = append(stages, Stage{Name: "anchor", Run: anch.Run})
	}
	if evid != nil {
		stages = append(stages, Stage{Name: "evidence", Run: evid.Run})
	}
	return append(stages, Stage{Name: "relay", Run: rel.Run, Last: true}), nil
}

// StartStages runs each stage in its own goroutine and returns the
// function that stops them, in order: every stage but the Last ones, and
// once all of those have returned (the dispatcher has finished its batch
// in hand), the Last ones. A stage that returns an error is logged (the
// others go on), and stop returns every such error, joined.
func StartStages(log zerolog.Logger, stages []Stage) (stop func() error) {
	firstCtx, stopFirst := context.WithCancel(context.Background())
	lastCtx, stopLast := context.WithCancel(context.Background())
	var first, last sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, st := range stages {
		ctx, wg := firstCtx, &first
		if st.Last {
			ctx, wg = lastCtx, &last
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := st.Run(ctx); err != nil {
				log.Error().Err(err).Str("stage", st.Name).Msg("stage stopped")
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", st.Name, err))
				mu.Unlock()
			}
		}()
	}
	var once sync.Once
	return func() error {
		once.Do(func() {
			stopFirst()
			first.Wait()
			stopLast()
			last.Wait()
		})
		mu.Lock()
		defer mu.Unlock()
		return errors.Join(errs...)
	}
}
