// Package health serves the probes every qyshook process answers, whatever
// its roles: /healthz (the process runs), /readyz (every readiness check
// passes: NATS connected, the callbacks stream reachable, the ledger
// answering its ping) and /metrics (Prometheus). The wiring (internal/app)
// picks the checks of the roles it runs; the receiver and the dispatcher
// know nothing of the probes.
package health
