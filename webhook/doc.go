// Package webhook is the Standard Webhooks side of HTTP delivery
// (https://www.standardwebhooks.com/): signing secrets (whsec_…), the
// webhook-id, webhook-timestamp and webhook-signature headers (v1,
// HMAC-SHA256 over "id.timestamp.body"), verification, the fact filters
// of an endpoint, the refusal of private addresses (SSRF) and one
// delivery attempt over HTTP. It is a library: the delivery stage and the
// admin API (qyshook endpoints test) both use it; it never logs.
package webhook
