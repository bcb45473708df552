// Package namespace owns namespace deletion: once the API server marks a
// namespace Terminating (deletionTimestamp set, spec.finalizers still
// holding "kubernetes"), the Controller deletes every namespaced object of
// the served kinds in it, reports progress in the namespace's status
// conditions, waits until nothing is left, and then removes the
// "kubernetes" finalizer through the finalize subresource so that the API
// server deletes the namespace. The decisions (conditions, whether to
// finalize, when to look again) are pure functions in content.go.
// Imported by the server wiring in internal/cli only.
package namespace
