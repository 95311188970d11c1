package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/qyshook/qyshook/store"
)

// CheckpointAges is what the anchor stage did during a load: how old the
// newest checkpoint got (the gap between two checkpoints signed during
// the load, and from the last one to the load's end) against the
// configured interval, and how long each waited for its time-stamp.
type CheckpointAges struct {
	Interval time.Duration
	// Signed is the number of checkpoints signed during the load.
	Signed int
	// AgeP50, AgeP99 and AgeMax are over the ages the newest checkpoint
	// reached: each gap between consecutive checkpoints and the last
	// one's age at the load's end (the first from the load's start).
	AgeP50, AgeP99, AgeMax time.Duration
	// Anchored counts those with a time-stamp; AnchorP99 and AnchorMax
	// are from signing to the first stamp stored.
	Anchored             int
	AnchorP99, AnchorMax time.Duration
}

// String is one line.
func (c CheckpointAges) String() string {
	if c.Signed == 0 {
		return fmt.Sprintf("receipt log: no checkpoint signed during the load (interval %v)", c.Interval)
	}
	return fmt.Sprintf("receipt log: %d checkpoints signed during the load (interval %v): newest checkpoint's age p50 %s p99 %s max %s "+
		"(p99 - interval %s); %d anchored, signing → time-stamp p99 %s max %s",
		c.Signed, c.Interval, ms(c.AgeP50), ms(c.AgeP99), ms(c.AgeMax), ms(c.AgeP99-c.Interval), c.Anchored, ms(c.AnchorP99), ms(c.AnchorMax))
}

// checkpointAges reads the checkpoints the ledger holds (a ledger without
// a receipt log: none) and measures those signed in [start, end].
func checkpointAges(ctx context.Context, l store.Ledger, interval time.Duration, start, end time.Time) (CheckpointAges, error) {
	res := CheckpointAges{Interval: interval}
	cl, ok := l.(store.CheckpointLog)
	if !ok {
		return res, nil
	}
	all, err := cl.Checkpoints(ctx, store.CheckpointFilter{})
	if err != nil {
		return res, fmt.Errorf("bench: checkpoints: %w", err)
	}
	var signed []time.Time
	var anchor []time.Duration
	for _, c := range all {
		if c.CreatedAt.Before(start) || c.CreatedAt.After(end) {
			continue
		}
		signed = append(signed, c.CreatedAt)
		if len(c.Stamps) > 0 {
			anchor = append(anchor, c.Stamps[0].StampedAt.Sub(c.CreatedAt))
		}
	}
	if len(signed) == 0 {
		return res, nil
	}
	slices.SortFunc(signed, func(a, b time.Time) int { return a.Compare(b) })
	ages := []time.Duration{signed[0].Sub(start)}
	for i := 1; i < len(signed); i++ {
		ages = append(ages, signed[i].Sub(signed[i-1]))
	}
	ages = append(ages, end.Sub(signed[len(signed)-1]))
	slices.Sort(ages)
	slices.Sort(anchor)
	res.Signed, res.Anchored = len(signed), len(anchor)
	res.AgeP50, res.AgeP99, res.AgeMax = Percentile(ages, 0.5), Percentile(ages, 0.99), Percentile(ages, 1)
	res.AnchorP99, res.AnchorMax = Percentile(anchor, 0.99), Percentile(anchor, 1)
	return res, nil
}
