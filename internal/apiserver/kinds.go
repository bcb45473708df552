package apiserver

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// kind is everything the server knows about one served resource.
type kind struct {
	gvk        schema.GroupVersionKind
	plural     string
	singular   string
	namespaced bool
	shortNames []string
	categories []string
	// storage is the store resource name; two kinds may share one storage
	// (core and events.k8s.io Events), with conversion between them.
	storage string
	// subresources served besides the object ("status", "binding", ...).
	subresources []string
	// fields are the field-selector keys beyond metadata.name/namespace.
	fields func(obj runtime.Object) map[string]string
	// index names the field whose value indexes watchers.
	index string

	newObj  func() runtime.Object
	newList func() runtime.Object

	// strategy hooks, each may be nil.
	prepareCreate  func(obj runtime.Object)
	validate       func(obj runtime.Object) field.ErrorList
	prepareUpdate  func(obj, old runtime.Object)
	validateUpdate func(obj, old runtime.Object) field.ErrorList
	// status subresource: copy everything but status from old.
	prepareStatus  func(obj, old runtime.Object)
	validateStatus func(obj, old runtime.Object) field.ErrorList

	// toStorage/fromStorage convert when the kind is kept in another kind's
	// storage.
	toStorage   func(obj runtime.Object) runtime.Object
	fromStorage func(obj runtime.Object) runtime.Object
}

func (k *kind) groupResource() schema.GroupResource {
	return schema.GroupResource{Group: k.gvk.Group, Resource: k.plural}
}

func (k *kind) hasSub(name string) bool {
	for _, s := range k.subresources {
		if s == name {
			return true
		}
	}
	return false
}

// verbs of every served kind.
var allVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

func boolString(b bool) string { return strconv.FormatBool(b) }

// kinds returns the served kinds.
func kinds() []*kind {
	return []*kind{
		{
			gvk: corev1.SchemeGroupVersion.WithKind("Namespace"), plural: "namespaces", singular: "namespace",
			shortNames: []string{"ns"}, storage: "namespaces", subresources: []string{"status", "finalize"},
			fields: func(obj runtime.Object) map[string]string {
				return map[string]string{"status.phase": string(obj.(*corev1.Namespace).Status.Phase)}
			},
			newObj:        func() runtime.Object { return &corev1.Namespace{} },
			newList:       func() runtime.Object { return &corev1.NamespaceList{} },
			prepareCreate: namespacePrepareCreate, validate: namespaceValidate,
			prepareUpdate: namespacePrepareUpdate, validateUpdate: namespaceValidateUpdate,
			prepareStatus: namespacePrepareStatus, validateStatus: namespaceValidateUpdate,
		},
		{
			gvk: corev1.SchemeGroupVersion.WithKind("Node"), plural: "nodes", singular: "node",
			shortNames: []string{"no"}, storage: "nodes", subresources: []string{"status"},
			fields: func(obj runtime.Object) map[string]string {
				return map[string]string{"spec.unschedulable": boolString(obj.(*corev1.Node).Spec.Unschedulable)}
			},
			newObj:        func() runtime.Object { return &corev1.Node{} },
			newList:       func() runtime.Object { return &corev1.NodeList{} },
			prepareCreate: nodePrepareCreate, validate: nodeValidate,
			prepareUpdate: nodePrepareUpdate, validateUpdate: nodeValidateUpdate,
			prepareStatus: nodePrepareStatus, validateStatus: nodeValidateUpdate,
		},
		{
			gvk: corev1.SchemeGroupVersion.WithKind("Pod"), plural: "pods", singular: "pod", namespaced: true,
			shortNames: []string{"po"}, categories: []string{"all"}, storage: "pods",
			subresources: []string{"status", "binding", "eviction", "log"},
			fields:       podFields, index: "spec.nodeName",
			newObj:        func() runtime.Object { return &corev1.Pod{} },
			newList:       func() runtime.Object { return &corev1.PodList{} },
			prepareCreate: podPrepareCreate, validate: podValidate,
			prepareUpdate: podPrepareUpdate, validateUpdate: podValidateUpdate,
			prepareStatus: podPrepareStatus, validateStatus: podValidateStatus,
		},
		{
			gvk: corev1.SchemeGroupVersion.WithKind("Event"), plural: "events", singular: "event", namespaced: true,
			shortNames: []string{"ev"}, storage: "events", fields: eventFields,
			newObj:        func() runtime.Object { return &corev1.Event{} },
			newList:       func() runtime.Object { return &corev1.EventList{} },
			prepareCreate: noStatusCreate, validate: eventValidate,
			prepareUpdate: noStatusUpdate, validateUpdate: eventValidateUpdate,
		},
		{
			gvk: eventsv1.SchemeGroupVersion.WithKind("Event"), plural: "events", singular: "event", namespaced: true,
			shortNames: []string{"ev"}, storage: "events", fields: eventFields,
			newObj:        func() runtime.Object { return &eventsv1.Event{} },
			newList:       func() runtime.Object { return &eventsv1.EventList{} },
			prepareCreate: noStatusCreate, validate: eventValidate,
			prepareUpdate: noStatusUpdate, validateUpdate: eventValidateUpdate,
			toStorage:   eventToStorage,
			fromStorage: eventFromStorage,
		},
		{
			gvk: appsv1.SchemeGroupVersion.WithKind("DaemonSet"), plural: "daemonsets", singular: "daemonset",
			namespaced: true, shortNames: []string{"ds"}, categories: []string{"all"}, storage: "daemonsets",
			subresources:  []string{"status"},
			newObj:        func() runtime.Object { return &appsv1.DaemonSet{} },
			newList:       func() runtime.Object { return &appsv1.DaemonSetList{} },
			prepareCreate: daemonSetPrepareCreate, validate: daemonSetValidate,
			prepareUpdate: daemonSetPrepareUpdate, validateUpdate: daemonSetValidateUpdate,
			prepareStatus: daemonSetPrepareStatus, validateStatus: daemonSetValidateStatus,
		},
		{
			gvk: appsv1.SchemeGroupVersion.WithKind("ControllerRevision"), plural: "controllerrevisions",
			singular: "controllerrevision", namespaced: true, storage: "controllerrevisions",
			newObj:        func() runtime.Object { return &appsv1.ControllerRevision{} },
			newList:       func() runtime.Object { return &appsv1.ControllerRevisionList{} },
			prepareCreate: noStatusCreate, validate: controllerRevisionValidate,
			prepareUpdate: noStatusUpdate, validateUpdate: controllerRevisionValidateUpdate,
		},
		{
			gvk: corev1.SchemeGroupVersion.WithKind("ServiceAccount"), plural: "serviceaccounts", singular: "serviceaccount",
			namespaced: true, shortNames: []string{"sa"}, storage: "serviceaccounts",
			newObj:        func() runtime.Object { return &corev1.ServiceAccount{} },
			newList:       func() runtime.Object { return &corev1.ServiceAccountList{} },
			prepareCreate: noStatusCreate, validate: metaValidate(apivalidation.NameIsDNSSubdomain),
			prepareUpdate: noStatusUpdate, validateUpdate: metaValidateUpdate,
		},
		{
			gvk: corev1.SchemeGroupVersion.WithKind("ConfigMap"), plural: "configmaps", singular: "configmap",
			namespaced: true, shortNames: []string{"cm"}, storage: "configmaps",
			newObj:        func() runtime.Object { return &corev1.ConfigMap{} },
			newList:       func() runtime.Object { return &corev1.ConfigMapList{} },
			prepareCreate: noStatusCreate, validate: metaValidate(apivalidation.NameIsDNSSubdomain),
			prepareUpdate: noStatusUpdate, validateUpdate: metaValidateUpdate,
		},
		{
			gvk: corev1.SchemeGroupVersion.WithKind("Service"), plural: "services", singular: "service",
			namespaced: true, shortNames: []string{"svc"}, categories: []string{"all"}, storage: "services",
			subresources:  []string{"status"},
			newObj:        func() runtime.Object { return &corev1.Service{} },
			newList:       func() runtime.Object { return &corev1.ServiceList{} },
			prepareCreate: servicePrepareCreate, validate: metaValidate(apivalidation.NameIsDNS1035Label),
			prepareUpdate: servicePrepareUpdate, validateUpdate: metaValidateUpdate,
			prepareStatus: servicePrepareStatus, validateStatus: metaValidateUpdate,
		},
		{
			gvk: coordinationv1.SchemeGroupVersion.WithKind("Lease"), plural: "leases", singular: "lease",
			namespaced: true, storage: "leases",
			newObj:        func() runtime.Object { return &coordinationv1.Lease{} },
			newList:       func() runtime.Object { return &coordinationv1.LeaseList{} },
			prepareCreate: noStatusCreate, validate: leaseValidate,
			prepareUpdate: noStatusUpdate, validateUpdate: leaseValidateUpdate,
		},
	}
}

// evictionKind is the request body of pods/eviction.
var evictionGVK = policyv1.SchemeGroupVersion.WithKind("Eviction")
