// Package garbagecollector owns cascading deletion by ownerReferences for
// the kinds everynode serves (pods, daemonsets, controllerrevisions, events,
// leases, nodes, namespaces): background deletion of dependents whose owners
// are all gone, foreground deletion (the owner waits, finalizer
// foregroundDeletion, until its blocking dependents are gone) and orphaning
// (finalizer orphan: the ownerReferences to the owner are removed from its
// dependents). The decisions live in pure functions (PlanDependent,
// BlockingDependents); the Controller only gathers facts from informer caches
// and live reads and applies the plans through client-go. Imported by the
// server wiring in internal/cli only.
package garbagecollector
