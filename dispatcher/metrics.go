package dispatcher

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/activity"
	"github.com/qyshook/qyshook/events"
)

// countApplied counts an applied event of result (changed, unchanged,
// stale, duplicate), in the metrics and the activity.
func (d *Dispatcher) countApplied(result string) {
	d.metrics.applied.WithLabelValues(result).Inc()
	d.activity(activity.Applied)
}

// activity adds one to series of the activity, when there is one.
func (d *Dispatcher) activity(series string) {
	if d.cfg.Activity != nil {
		d.cfg.Activity.Add(series, "", 1)
	}
}

type metrics struct {
	applied      *prometheus.CounterVec
	failed       *prometheus.CounterVec
	apiSeconds   *prometheus.HistogramVec
	groupSeconds prometheus.Histogram
	deadLetters  prometheus.Counter
	renewed      prometheus.Counter
	fetchErrors  prometheus.Counter
	// consumerRecreated counts recreations of the dispatcher's consumer,
	// by reason: missing (gone while running), corrupt_state (its stored
	// state could not be loaded and was dropped).
	consumerRecreated *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qyshook_dispatcher_events_applied_total",
			Help: "Events applied to the ledger, by result (changed, unchanged, duplicate).",
		}, []string{"result"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qyshook_dispatcher_events_failed_total",
			Help: "Event deliveries that failed, by reason.",
		}, []string{"reason"}),
		apiSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "qyshook_dispatcher_api_seconds",
			Help:    "契约锁 open-API call latency, by call (detail).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}, []string{"call"}),
		groupSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "qyshook_dispatcher_contract_seconds",
			Help:    "Time to process the events of one contract in a batch.",
			Buckets: prometheus.ExponentialBuckets(0.001, 3, 10),
		}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qyshook_dispatcher_dead_letters_total", Help: "Events sent to the dead-letter queue.",
		}),
		renewed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qyshook_dispatcher_events_renewed_total",
			Help: "Events republished with a fresh delivery count after many disk_full or rate_limited failures.",
		}),
		fetchErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qyshook_dispatcher_fetch_errors_total", Help: "Failed pulls from QYS_CALLBACKS, and failed creations of the dispatcher's consumer.",
		}),
		consumerRecreated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qyshook_dispatcher_consumer_recreated_total",
			Help: "Recreations of the dispatcher's consumer, by reason (missing: gone while running; corrupt_state: its stored state could not be loaded and was dropped). Each redelivers the callbacks still in the stream; the ledger records each event once.",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.applied, m.failed, m.apiSeconds, m.groupSeconds,
			m.deadLetters, m.renewed, m.fetchErrors, m.consumerRecreated)
	}
	return m
}

// streamCollector reports, at scrape time, the consumer's lag and the
// dead-letter depth, read from JetStream (bounded by a short timeout).
type streamCollector struct {
	js      jetstream.JetStream
	names   events.Names
	durable string
	pending *prometheus.Desc
	acks    *prometheus.Desc
	dlq     *prometheus.Desc
}

func newStreamCollector(js jetstream.JetStream, names events.Names, durable string) *streamCollector {
	return &streamCollector{
		js: js, names: names, durable: durable,
		pending: prometheus.NewDesc("qyshook_dispatcher_pending_events",
			"Callbacks in QYS_CALLBACKS not yet delivered to the dispatcher (lag).", nil, nil),
		acks: prometheus.NewDesc("qyshook_dispatcher_unacked_events",
			"Callbacks delivered to the dispatcher and not yet acknowledged.", nil, nil),
		dlq: prometheus.NewDesc("qyshook_dlq_depth",
			"Messages in QYS_DLQ: events that could not be applied. Alert when above zero.", nil, nil),
	}
}

func (c *streamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.acks
	ch <- c.dlq
}

func (c *streamCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if cons, err := c.js.Consumer(ctx, c.names.CallbacksStream(), c.durable); err == nil {
		if info, err := cons.Info(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(info.NumPending))
			ch <- prometheus.MustNewConstMetric(c.acks, prometheus.GaugeValue, float64(info.NumAckPending))
		}
	}
	if st, err := c.js.Stream(ctx, c.names.DLQStream()); err == nil {
		if info, err := st.Info(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(c.dlq, prometheus.GaugeValue, float64(info.State.Msgs))
		}
	}
}
