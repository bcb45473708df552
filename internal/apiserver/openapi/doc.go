// Package openapi builds and serves the OpenAPI documents of the everynode API
// server: /openapi/v2 (JSON and gnostic protobuf) and /openapi/v3 (an index
// plus one document per group version).
//
// kubectl reads these documents to decide whether the server validates fields
// itself (fieldValidation on PATCH/POST), to compute strategic merge patches
// for client-side apply, and to answer `kubectl explain`. Upstream Kubernetes
// generates its schemas from code comments at build time; we cannot import
// those generated definitions, so this package derives them at run time by
// reflection over the k8s.io/api Go types: json tags give names and
// optionality, patchStrategy/patchMergeKey tags give the patch extensions,
// SwaggerDoc methods give descriptions, and the structured-merge-diff schema
// shipped in client-go gives list and map semantics that live only in
// comment markers (+listType, +listMapKey, +mapType, +structType).
//
// This package owns only document construction and serving; it is imported by
// the apiserver only.
package openapi
