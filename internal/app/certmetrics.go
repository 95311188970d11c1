package app

import (
	"context"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/store"
)

var (
	certUnconfirmedDesc = prometheus.NewDesc("qyshook_certifications_unconfirmed",
		"Certifications the certification-result API has not confirmed (their state rests on a callback), by tenant.",
		[]string{"tenant"}, nil)
	certPendingDesc = prometheus.NewDesc("qyshook_certifications_pending",
		"Certifications the reconciler still polls (unconfirmed, or confirmed in progress or in review), by tenant.",
		[]string{"tenant"}, nil)
)

// certCollector reports the unconfirmed and pending certifications from
// the ledger at scrape time (two index-only counts, see
// store.CertificationCounter), so every dispatcher shows the same figures.
// Each tenant in tenants is reported, 0 when it has none.
type certCollector struct {
	counter store.CertificationCounter
	tenants []string
}

// NewCertificationCollector returns the collector of the
// qyshook_certifications_unconfirmed and qyshook_certifications_pending
// gauges over c, reporting every tenant of tenants (and any other the
// ledger holds).
func NewCertificationCollector(c store.CertificationCounter, tenants []string) prometheus.Collector {
	return certCollector{counter: c, tenants: tenants}
}

func (c certCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- certUnconfirmedDesc
	ch <- certPendingDesc
}

func (c certCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.counter.CertificationCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(certUnconfirmedDesc, err)
		ch <- prometheus.NewInvalidMetric(certPendingDesc, err)
		return
	}
	names := map[string]bool{}
	for _, t := range c.tenants {
		names[t] = true
	}
	for t := range counts.Unconfirmed {
		names[t] = true
	}
	for t := range counts.Pending {
		names[t] = true
	}
	sorted := make([]string, 0, len(names))
	for t := range names {
		sorted = append(sorted, t)
	}
	sort.Strings(sorted)
	for _, t := range sorted {
		ch <- prometheus.MustNewConstMetric(certUnconfirmedDesc, prometheus.GaugeValue, float64(counts.Unconfirmed[t]), t)
		ch <- prometheus.MustNewConstMetric(certPendingDesc, prometheus.GaugeValue, float64(counts.Pending[t]), t)
	}
}

// registerCertificationMetrics registers the certification gauges when
// the ledger counts them (the SQL ledgers do).
func (s *Services) registerCertificationMetrics(reg prometheus.Registerer) error {
	c, ok := s.Ledger.(store.CertificationCounter)
	if !ok || s.Ledger == nil {
		return nil
	}
	var tenants []string
	for _, t := range s.Cfg.Tenants {
		tenants = append(tenants, t.Name)
	}
	return reg.Register(NewCertificationCollector(c, tenants))
}
