package archiver

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/store"
)

type metrics struct {
	archived        prometheus.Counter
	bytes           prometheus.Counter
	failures        *prometheus.CounterVec
	leasesLost      prometheus.Counter
	verified        *prometheus.CounterVec
	downloadSeconds prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, l Ledger) (*metrics, error) {
	m := &metrics{
		archived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qyshook_archive_documents_archived_total", Help: "Documents archived.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qyshook_archive_document_bytes_total", Help: "Bytes of documents archived.",
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qyshook_archive_failures_total",
			Help: "Failed document downloads by kind (transient, permanent) and reason (disk_full, api_error, not_found, too_large, no_api, store_error, timeout, error).",
		}, []string{"kind", "reason"}),
		leasesLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qyshook_archive_leases_lost_total",
			Help: "Downloads abandoned because another archiver took the row after this one's lease expired (not failures).",
		}),
		verified: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qyshook_archive_documents_verified_total", Help: "Archived PDFs verified, by verdict (valid, invalid, no-signatures).",
		}, []string{"verdict"}),
		downloadSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "qyshook_archive_download_seconds", Help: "Time to download and store one document.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 16),
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.archived, m.bytes, m.failures, m.leasesLost, m.verified, m.downloadSeconds, queueCollector{l}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// queueCollector reports the queue from the ledger at scrape time, so
// every archiver (and any process with the ledger) shows the same figures.
type queueCollector struct{ l Ledger }

var queueDesc = prometheus.NewDesc("qyshook_archive_documents",
	"Documents in the archive queue by state (pending, failed).", []string{"state"}, nil)

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDesc }

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	states := []string{store.ArchivePending, store.ArchiveFailed}
	counts, err := c.l.DocumentCounts(ctx, states...) // the queue alone: a scrape's cost does not grow with the archived
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDesc, err)
		return
	}
	for _, st := range states {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(counts[st]), st)
	}
}
