// Package cluster holds the fault drills of qyshook: tests that start real
// processes on loopback (a three-node JetStream cluster of nats-server built
// from the pinned module, two receivers, two dispatchers on PostgreSQL, or
// one `qyshook serve` on embedded defaults), drive the fake 契约锁 against
// them, inject one fault at a time and check the invariants after each.
//
// The drills run when QYSHOOK_FAULT_DRILLS is set (`.ci/run` sets it):
//
//	QYSHOOK_FAULT_DRILLS=1 go test -count=1 -v -run TestFaultDrills ./internal/cluster/
//
// QYSHOOK_FAULT_DRILLS_LOAD (a duration, default 6s) is how long each
// drill sends new callbacks; set it to minutes for a soak.
package cluster
