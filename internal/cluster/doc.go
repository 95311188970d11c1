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
//
// The power-loss drills (root and loop devices; they skip without) put the
// data on loop-mounted ext4 images and cut the power by copying the images
// while the processes are stopped: TestPowerLoss (one `qyshook serve`,
// ≥ 20 cuts, in `.ci/run`; QYSHOOK_POWER_CUTS for more) and
// TestClusterPowerLoss (three nats-server nodes cut at one instant, lazy
// against sync_interval: always; QYSHOOK_POWER_CLUSTER_CUTS).
package cluster
