// Package rootcacert owns the "kube-root-ca.crt" ConfigMap: it publishes
// the cluster CA certificate (key "ca.crt") into every active namespace, so
// that workloads can verify the API server, as upstream
// kube-controller-manager's root-ca-cert-publisher does. A ConfigMap that is
// deleted or edited is put back. Imported by the server wiring in
// internal/cli only.
package rootcacert
