package openapi

import (
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// testResources is the resource list the apiserver serves, as the tests
// build handlers from it.
func testResources() []Resource {
	all := []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
	status := Subresource{Name: "status", Verbs: []string{"get", "update", "patch"}}
	return []Resource{
		{
			GVK: appsv1.SchemeGroupVersion.WithKind("DaemonSet"), Plural: "daemonsets", Namespaced: true,
			Object: &appsv1.DaemonSet{}, List: &appsv1.DaemonSetList{}, Verbs: all,
			Subresources: []Subresource{status},
		},
		{
			GVK: appsv1.SchemeGroupVersion.WithKind("ControllerRevision"), Plural: "controllerrevisions", Namespaced: true,
			Object: &appsv1.ControllerRevision{}, List: &appsv1.ControllerRevisionList{}, Verbs: all,
		},
		{
			GVK: corev1.SchemeGroupVersion.WithKind("Pod"), Plural: "pods", Namespaced: true,
			Object: &corev1.Pod{}, List: &corev1.PodList{}, Verbs: all,
			Subresources: []Subresource{
				status,
				{Name: "binding", Object: &corev1.Binding{}, Verbs: []string{"create"}},
				{Name: "eviction", Object: &policyv1.Eviction{}, Verbs: []string{"create"}},
				{Name: "log", Verbs: []string{"get"}},
			},
		},
		{
			GVK: corev1.SchemeGroupVersion.WithKind("Node"), Plural: "nodes",
			Object: &corev1.Node{}, List: &corev1.NodeList{}, Verbs: all,
			Subresources: []Subresource{status},
		},
		{
			GVK: corev1.SchemeGroupVersion.WithKind("Namespace"), Plural: "namespaces",
			Object: &corev1.Namespace{}, List: &corev1.NamespaceList{},
			Verbs:        []string{"get", "list", "watch", "create", "update", "patch", "delete"},
			Subresources: []Subresource{status},
		},
		{
			GVK: corev1.SchemeGroupVersion.WithKind("Event"), Plural: "events", Namespaced: true,
			Object: &corev1.Event{}, List: &corev1.EventList{}, Verbs: all,
		},
		{
			GVK: eventsv1.SchemeGroupVersion.WithKind("Event"), Plural: "events", Namespaced: true,
			Object: &eventsv1.Event{}, List: &eventsv1.EventList{}, Verbs: all,
		},
		{
			GVK: schema.GroupVersionKind{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"}, Plural: "leases", Namespaced: true,
			Object: &coordinationv1.Lease{}, List: &coordinationv1.LeaseList{}, Verbs: all,
		},
	}
}
