// Package apiserver serves the Kubernetes REST API for the kinds everynode
// owns (namespaces, nodes, pods, events, daemonsets, controllerrevisions,
// leases): routing, discovery, OpenAPI, CRUD with watch and patch, tables,
// status subresources, and errors in the Status shape. It stores objects
// through package store and is wired by the cli; controllers and agents
// reach it only over HTTP.
package apiserver

import (
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// NewScheme returns a scheme with every kind the server reads or writes.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, coordinationv1.AddToScheme,
		eventsv1.AddToScheme, policyv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	// Options and meta kinds (ListOptions, DeleteOptions, Table, Status...)
	// as every API group sees them.
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	if err := metav1.AddMetaToScheme(s); err != nil {
		return nil, err
	}
	// Clients send DeleteOptions as meta.k8s.io/v1, or with no kind at all.
	s.AddKnownTypes(metav1.SchemeGroupVersion, &metav1.DeleteOptions{})
	return s, nil
}

// newCodecs returns the serializers the server negotiates; each media
// type also has a strict decoder reporting unknown and duplicate fields.
func newCodecs(s *runtime.Scheme) serializer.CodecFactory {
	return serializer.NewCodecFactory(s,
		serializer.WithStreamingCollectionEncodingToJSON(),
		serializer.WithStreamingCollectionEncodingToProtobuf())
}
