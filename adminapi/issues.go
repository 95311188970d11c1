package adminapi

import "time"

// FailingCause is one cause of the transient failures the dispatcher is
// retrying now (Overview.Failing): the tenant, the dispatcher's reason
// code and the platform's error code, with the failed deliveries since
// FirstSeen and the last error (personal values masked for viewers).
// Platform is true when the cause is the platform's open API failing.
type FailingCause struct {
	Tenant    string    `json:"tenant"`
	Reason    string    `json:"reason"`
	Code      string    `json:"code"`
	Failures  int64     `json:"failures"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	LastError string    `json:"last_error"`
	Platform  bool      `json:"platform"`
	// Hint names a known cause (credentials, rate_limit,
	// unknown_contract, unreachable) whose fix the documentation and the
	// console give; "" when unknown.
	Hint string `json:"hint"`
}

// DeadLetterIssue is the dead letters of one cause (GET
// /dead-letters/issues): the reason, the platform endpoint and error code,
// the tenant and consumer, how many, first and last seen, the contracts
// affected (the first 20 in Contracts) and a fix hint for a known cause.
// Key selects the issue in POST /dead-letters/retry ({"issue": key}).
type DeadLetterIssue struct {
	Key               string    `json:"key"`
	Reason            string    `json:"reason"`
	Endpoint          string    `json:"endpoint"`
	Code              string    `json:"code"`
	Tenant            string    `json:"tenant"`
	Consumer          string    `json:"consumer"`
	Count             int       `json:"count"`
	FirstSeen         time.Time `json:"first_seen"`
	LastSeen          time.Time `json:"last_seen"`
	ContractsAffected int       `json:"contracts_affected"`
	Contracts         []string  `json:"contracts"`
	Hint              string    `json:"hint"`
	// Error is the last dead letter's error text (personal values masked
	// for viewers).
	Error string `json:"error"`
}

// Activity is GET /activity: the last hour (window "1h", steps of a
// minute) or day ("24h", steps of 15 minutes) of the series received,
// refused (per tenant), applied, retried, dead_lettered (all tenants,
// tenant "") and lag (the highest in each step), from this process's
// metrics since it started.
type Activity struct {
	Window string           `json:"window"`
	Step   int              `json:"step_seconds"`
	Start  time.Time        `json:"start"`
	Series []ActivitySeries `json:"series"`
}

// ActivitySeries is one series of an Activity, one point per step.
type ActivitySeries struct {
	Name   string    `json:"name"`
	Tenant string    `json:"tenant"`
	Points []float64 `json:"points"`
}
