// Package daemonset is everynode's DaemonSet controller: it keeps one daemon
// pod of every DaemonSet on each node where placement says it should run,
// rolls pods over to new template revisions, records ControllerRevisions and
// writes DaemonSet status (SEMANTICS.md §2.1–§2.2, §5–§8).
//
// A sync is split in three: a Snapshot gathered from informer caches, pure
// planners (manage, rolling update, history cleanup, status) that return a
// sorted, printable Plan, and a small executor that performs the API calls
// while recording expectations. Unit tests compare plans; the placement
// decision itself belongs to package placement.
//
// On a large fleet a sync costs tens of milliseconds, so syncs of one
// DaemonSet are paced (pace.go), and a node that joins or comes to match is
// given its pod before the full sync, from that node alone (arrivals.go).
//
// Deliberate differences from upstream: node changes re-evaluate every
// DaemonSet whose decision for the node changed (D1), and rolling updates
// pick nodes in name order instead of randomly (D2).
//
// The package talks to the cluster only through client-go; the cli wires it
// into the server.
package daemonset
