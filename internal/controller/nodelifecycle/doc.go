// Package nodelifecycle owns node health (SEMANTICS §4.1–4.3, R60–R68):
// it watches node heartbeats (Ready condition and kube-node-lease Leases),
// turns a silent node's conditions Unknown and marks its pods not ready,
// keeps the NoSchedule taints derived from conditions in step with them,
// and adds the not-ready / unreachable NoExecute taints that drive taint
// eviction, rate-limited per zone. Decisions are the pure functions of
// health.go, taints.go and zone.go; controller.go feeds them from informer
// caches and writes the results. Imported by the server wiring in
// internal/cli only.
package nodelifecycle
