//go:build race

package dispatcher_test

// raceDetector: the race detector slows the pipeline several times over;
// the matrix and load tests run smaller under it.
const raceDetector = true
