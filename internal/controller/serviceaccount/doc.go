// Package serviceaccount owns the default ServiceAccounts: it makes sure
// every active namespace holds a ServiceAccount named "default" (as
// upstream kube-controller-manager's serviceaccount controller does),
// creating it when a namespace appears and again whenever it is deleted.
// Namespaces that are terminating are left alone. Imported by the server
// wiring in internal/cli only.
package serviceaccount
