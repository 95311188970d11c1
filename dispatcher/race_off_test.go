//go:build !race

package dispatcher_test

const raceDetector = false
