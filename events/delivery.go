package events

// HTTP delivery (docs/delivery.md): the work queue of deliveries, one
// subject per endpoint, and the facts an endpoint's health publishes.
const (
	// StreamDelivery is the work-queue stream of pending deliveries.
	StreamDelivery = "QYS_DELIVERY"
	// DurableDeliveryFanout names the cursor of the fan-out that reads
	// QYS_LEDGER and queues one delivery per matching endpoint. Never
	// renamed.
	DurableDeliveryFanout = "qyshook_delivery_fanout"
	// durableDeliveryPrefix + endpoint id names an endpoint's consumer.
	durableDeliveryPrefix = "qyshook_delivery_ep_"
	subjectDeliveryRoot   = "qys.delivery"
	// FactEndpointStatus: an endpoint's health changed (auto-disable
	// warning, disabled); its Status is WARNING or DISABLED.
	FactEndpointStatus = "endpoint.status"
)

// DeliveryStream is the name of the delivery work queue.
func (n Names) DeliveryStream() string { return n.stream(StreamDelivery) }

// DeliverySubject is the subject of an endpoint's deliveries:
// qys.delivery.<endpointID>.
func (n Names) DeliverySubject(endpointID string) string {
	return n.subject(subjectDeliveryRoot + "." + endpointID)
}

// DeliveryWildcard matches every delivery subject.
func (n Names) DeliveryWildcard() string { return n.subject(subjectDeliveryRoot + ".>") }

// DeliveryDurable is the durable consumer of an endpoint's deliveries.
func (n Names) DeliveryDurable(endpointID string) string {
	return n.stream(durableDeliveryPrefix + endpointID)
}

// LedgerEndpointSubject is the subject of an endpoint health fact:
// qys.ledger.<tenant>.endpoint.<status> (WARNING, DISABLED).
func (n Names) LedgerEndpointSubject(tenant, status string) string {
	return n.subject(subjectLedgerRoot + "." + tenant + ".endpoint." + SubjectToken(status))
}

// LedgerRelative is a ledger subject below "qys.ledger.<tenant>." (what
// endpoint filters match: "contract.COMPLETE"), with its tenant; ok is
// false for a subject outside QYS_LEDGER.
func (n Names) LedgerRelative(subject string) (tenant, rel string, ok bool) {
	prefix := n.subject(subjectLedgerRoot + ".")
	if len(subject) <= len(prefix) || subject[:len(prefix)] != prefix {
		return "", "", false
	}
	rest := subject[len(prefix):]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '.' {
			return rest[:i], rest[i+1:], i+1 < len(rest)
		}
	}
	return "", "", false
}
