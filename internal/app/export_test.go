package app

import "time"

// SetActivityEvery sets how often the activity is sampled and returns a
// function that restores it (call it only once Run has returned).
func SetActivityEvery(d time.Duration) (restore func()) {
	old := activityEvery
	activityEvery = d
	return func() { activityEvery = old }
}
