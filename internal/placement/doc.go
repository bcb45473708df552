// Package placement decides, per node, whether a DaemonSet's pod should run
// there, may keep running there, and why not.
//
// It owns the rules of SEMANTICS.md §1–§3: taint/toleration matching
// (including the numeric Lt/Gt operators, always enabled, D4), nodeSelector
// and required node affinity, the tolerations the DaemonSet controller adds
// to every daemon pod, and pinning a daemon pod to its node. Every negative
// answer carries a Reason constant and a human message (D3), so that the
// controller, the scheduler's filters and the explain command can tell users
// exactly which taint or selector excluded a node.
//
// The package is pure: no I/O, no clocks, no logging, no state. It is
// imported by the controllers, the scheduler and the explain command, and
// imports nothing of ours.
package placement
