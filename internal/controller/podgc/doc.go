// Package podgc owns pod garbage collection (SEMANTICS R74, R93): it
// force-deletes pods bound to nodes that no longer exist (after a
// quarantine and a live read of the node), terminating pods on nodes that
// are not Ready and tainted node.kubernetes.io/out-of-service:NoExecute,
// terminating pods that were never scheduled, and the oldest terminated
// pods beyond a threshold. Pods not yet terminal are marked Failed before
// they are deleted, because no kubelet will ever do it. Every periodic pass
// computes a plan with the pure functions of plan.go and applies it.
// Imported by the server wiring in internal/cli only.
package podgc
