package app

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/failures"
)

// DetailDegraded is the /readyz detail present while the platform's open
// API fails: "platform API failing for N s". It never makes /readyz
// answer 503: the receiver still takes and stores callbacks, and a load
// balancer that took it out of service would lose them. Alert on the
// metric qyshook_platform_api_failing_seconds instead.
const DetailDegraded = "degraded"

// degradedDetails is /readyz's MoreDetails: the degraded note while the
// platform fails.
func degradedDetails(t *failures.Tracker) func() map[string]string {
	return func() map[string]string {
		since, ok := t.PlatformFailing()
		if !ok {
			return nil
		}
		return map[string]string{DetailDegraded: fmt.Sprintf("platform API failing for %d s", int(t.Now().Sub(since)/time.Second))}
	}
}

// registerFailureMetrics exports what the dispatcher is retrying now: how
// long the platform API has been failing (0 when it answers) and the
// causes being retried.
func registerFailureMetrics(reg prometheus.Registerer, t *failures.Tracker) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qyshook_platform_api_failing_seconds",
			Help: "How long the platform's open API has been failing for the dispatcher without an event applied in between (0: not failing). Alert when above a few minutes."},
			func() float64 {
				since, ok := t.PlatformFailing()
				if !ok {
					return 0
				}
				return t.Now().Sub(since).Seconds()
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qyshook_dispatcher_failing_causes",
			Help: "Causes (tenant, reason, platform code) of the transient failures the dispatcher is retrying now."},
			func() float64 { return float64(len(t.Causes())) }),
	)
}
