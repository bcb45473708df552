// Package scheduler is everynode's default scheduler: it binds every pod that
// has no spec.nodeName and asks for the default scheduler (spec.schedulerName
// "default-scheduler" or empty) to a node, through the pods/binding
// subresource.
//
// Daemon pods arrive pinned to one node by required node affinity
// (`matchFields metadata.name In [node]`, SEMANTICS R86/R190) and pass the
// same filters as a user's bare pod, which may land on any feasible node.
//
// The package owns two things:
//
//   - the decision, pure and side-effect free: Schedule filters nodes
//     (unschedulable, NoSchedule/NoExecute taints, node affinity and
//     nodeSelector, host ports, resources) and scores the survivors (fewer
//     untolerated PreferNoSchedule taints, then least allocated, then node
//     name); when no node fits it returns a FitError that prints upstream
//     kube-scheduler's "0/N nodes are available: ..." message. Preempt picks
//     lower-priority victims on a node where only resources or ports stand in
//     the way;
//   - the Controller, which feeds informer snapshots to the decision and
//     applies it: binds, records PodScheduled=False/Unschedulable with the
//     message, sets status.nominatedNodeName, deletes preemption victims and
//     emits the Scheduled, FailedScheduling and Preempted events.
//
// Taint and affinity matching come from internal/placement, so the
// scheduler and the DaemonSet controller can never disagree. The controller
// talks to the cluster only through client-go. It is wired in by internal/cli
// and imported by nothing else.
//
// Differences from upstream kube-scheduler 1.37 (messages and filter order
// match it):
//
//   - filters: only NodeUnschedulable, TaintToleration, NodeAffinity,
//     NodePorts and NodeResourcesFit; no pod (anti-)affinity, topology
//     spread, volume, DRA or image filters, no extenders, no profiles;
//   - scoring is lexicographic (untolerated PreferNoSchedule taints, then
//     least allocated cpu+memory, then name) instead of weighted,
//     normalised plugin scores, and every node is evaluated (no sampling),
//     so the choice is deterministic; containers without requests count as
//     zero (upstream scores them as 100m/200Mi);
//   - preemption ignores PodDisruptionBudgets, picks the node by (highest
//     victim priority, victim count, victim priority sum, name) and deletes
//     victims synchronously; a nominated pod keeps its nomination while the
//     failure on that node stays resolvable;
//   - retries: pending pods are re-queued on node add/relevant update, on
//     any pod deletion or termination and every RetryInterval (30 s), not
//     through upstream's queueing hints and per-pod backoff;
//   - a pinned pod whose matchFields terms name no node at all is reported
//     per node as "didn't satisfy plugin(s) [NodeAffinity]" rather than
//     upstream's PreFilter conflict message.
package scheduler
