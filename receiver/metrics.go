package receiver

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/qys"
)

// unknownTenant is the tenant label of requests for a tenant that is not
// configured, so arbitrary paths cannot create label values.
const unknownTenant = "_unknown"

// metrics are the receiver's Prometheus collectors.
type metrics struct {
	requests       *prometheus.CounterVec
	verifyFailures *prometheus.CounterVec
	publishSeconds prometheus.Histogram
	duplicates     *prometheus.CounterVec
}

// presetOutcomes are the outcomes whose series exist from the start, at
// 0, for every configured tenant and route: alerts on rate() or
// increase() of an error outcome then see the first one (a series born
// at 1 has no increase). The other codes appear when they first occur.
var presetOutcomes = []string{"success", "duplicate", "unavailable", "internal", "invalid_content"}

// presetRoutes are the routes whose series are preset: the contract and
// certification routes. The notice routes' series appear with their first
// request (four more routes per tenant would add their series to every
// scrape for kinds most deployments never receive).
var presetRoutes = []string{routeLabels[qys.KindContract], routeLabels[qys.KindAuthPersonal], routeLabels[qys.KindAuthCompany]}

// newMetrics registers the collectors and creates the series of
// presetOutcomes for each of tenants.
func newMetrics(reg prometheus.Registerer, tenants []string) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qyshook_receiver_requests_total",
			Help: "Callback requests by route, tenant and outcome (success, duplicate, check, or the error code).",
		}, []string{"route", "tenant", "outcome"}),
		verifyFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qyshook_receiver_verification_failures_total",
			Help: "Callbacks refused by verification, by tenant and reason.",
		}, []string{"tenant", "reason"}),
		publishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "qyshook_receiver_publish_seconds",
			Help:    "Time from JetStream publish to PubAck (or failure).",
			Buckets: prometheus.ExponentialBuckets(0.00025, 2, 16),
		}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qyshook_receiver_duplicates_total",
			Help: "Callbacks acknowledged as duplicates of a stored one (契约锁 retries).",
		}, []string{"tenant"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.verifyFailures, m.publishSeconds, m.duplicates} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("receiver: register metrics: %w", err)
		}
	}
	for _, tenant := range tenants {
		for _, route := range presetRoutes {
			for _, outcome := range presetOutcomes {
				m.requests.WithLabelValues(route, tenant, outcome)
			}
		}
		m.duplicates.WithLabelValues(tenant)
	}
	return m, nil
}
