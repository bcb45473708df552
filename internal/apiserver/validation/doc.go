// Package validation defaults and validates the objects everynode's API server
// serves (Pods, Bindings, DaemonSets, ControllerRevisions, Nodes, Namespaces,
// Leases and core/v1 Events) the way upstream kube-apiserver does, so users see
// the field paths and messages they know from Kubernetes.
//
// The package is pure: it imports only k8s.io/api, k8s.io/apimachinery and the
// standard library, does no I/O and keeps no state. Defaulting functions mutate
// the object in place; validation functions return a field.ErrorList that the
// apiserver turns into a 422 Status. It is imported by the apiserver only.
//
// What upstream does in registry strategies rather than in defaulting or
// validation (pod status.phase=Pending on create, namespace spec.finalizers,
// generation bumps, DaemonSet template generation) is left to the apiserver.
package validation
