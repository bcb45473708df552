// Package tainteviction owns taint-based eviction (SEMANTICS §4.5, R70–R75):
// it deletes pods bound to nodes with NoExecute taints they do not tolerate,
// at once when a taint is not tolerated at all and after the smallest
// tolerationSeconds of the tolerations in use otherwise. The decision is the
// pure function Decide; the Controller feeds it from informer caches, keeps
// one timer per pod and performs the deletions. Imported by the server
// wiring in internal/cli only.
package tainteviction
