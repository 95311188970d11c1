package app

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qyshook/qyshook/internal/config"
	"github.com/qyshook/qyshook/qys"
)

// Budgets holds one process's open-API budget per tenant (QYSHOOK_API_RATE,
// QYSHOOK_API_INFLIGHT, [tenant.qys] api_rate / api_inflight): every
// client of a tenant in this process (dispatcher, archiver, reconciler,
// certification lookups) shares its tenant's. It is a Prometheus collector
// of the budgets' figures, per tenant.
type Budgets struct {
	byTenant map[string]*qys.Budget
	wait     *prometheus.HistogramVec
	inFlight *prometheus.Desc
	rate     *prometheus.Desc
	waited   *prometheus.Desc
	limited  *prometheus.Desc
	spell    *prometheus.Desc
}

// NewBudgets builds the budget of every tenant with API credentials. A
// tenant without a rate or in-flight bound still gets one: it pauses the
// tenant's calls when the platform answers rate limited.
func NewBudgets(cfg *config.Config) (*Budgets, error) {
	b := &Budgets{
		byTenant: map[string]*qys.Budget{},
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "qyshook_api_budget_wait_seconds",
			Help:    "Time a 契约锁 open-API request waited for its tenant's budget (rate, in-flight bound, rate-limit pause), by tenant.",
			Buckets: []float64{0, 0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60},
		}, []string{"tenant"}),
		inFlight: prometheus.NewDesc("qyshook_api_inflight_requests",
			"契约锁 open-API requests under way in this process, by tenant.", []string{"tenant"}, nil),
		rate: prometheus.NewDesc("qyshook_api_budget_rate",
			"Requests per second the tenant's budget allows now (0: no rate limit); below the setting while shrunk after rate-limited answers.",
			[]string{"tenant"}, nil),
		waited: prometheus.NewDesc("qyshook_api_budget_waits_total",
			"契约锁 open-API requests that had to wait for their tenant's budget.", []string{"tenant"}, nil),
		limited: prometheus.NewDesc("qyshook_api_rate_limited_total",
			"Answers from 契约锁 saying rate limited (HTTP 429 or code 11990006), by tenant.", []string{"tenant"}, nil),
		spell: prometheus.NewDesc("qyshook_api_throttled",
			"1 while 契约锁 refuses the tenant (rate limited): its calls wait, one probe per window asks again; 0 otherwise.",
			[]string{"tenant"}, nil),
	}
	for _, t := range cfg.Tenants {
		if !t.QYS.Credentials() {
			continue
		}
		obs := b.wait.WithLabelValues(t.Name)
		bud, err := qys.NewBudget(qys.BudgetOptions{
			Rate: float64(t.QYS.APIRate), InFlight: t.QYS.APIInFlight,
			OnWait: func(d time.Duration) { obs.Observe(d.Seconds()) },
		})
		if err != nil {
			return nil, err
		}
		b.byTenant[t.Name] = bud
	}
	return b, nil
}

// Budget returns the tenant's budget, nil when it has none.
func (b *Budgets) Budget(tenant string) *qys.Budget { return b.byTenant[tenant] }

// Describe implements prometheus.Collector.
func (b *Budgets) Describe(ch chan<- *prometheus.Desc) {
	b.wait.Describe(ch)
	ch <- b.inFlight
	ch <- b.rate
	ch <- b.waited
	ch <- b.limited
	ch <- b.spell
}

// Collect implements prometheus.Collector.
func (b *Budgets) Collect(ch chan<- prometheus.Metric) {
	b.wait.Collect(ch)
	for tenant, bud := range b.byTenant {
		s := bud.Stats()
		ch <- prometheus.MustNewConstMetric(b.inFlight, prometheus.GaugeValue, float64(s.InFlight), tenant)
		ch <- prometheus.MustNewConstMetric(b.rate, prometheus.GaugeValue, s.Rate, tenant)
		ch <- prometheus.MustNewConstMetric(b.waited, prometheus.CounterValue, float64(s.Waited), tenant)
		ch <- prometheus.MustNewConstMetric(b.limited, prometheus.CounterValue, float64(s.Throttled), tenant)
		spell := 0.0
		if s.Limited {
			spell = 1
		}
		ch <- prometheus.MustNewConstMetric(b.spell, prometheus.GaugeValue, spell, tenant)
	}
}
