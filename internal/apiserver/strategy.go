package apiserver

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/everynode/everynode/internal/apiserver/eventconv"
	"github.com/everynode/everynode/internal/apiserver/validation"
)

// The per-kind strategy hooks: what a create, update or status update may
// change, and which validation applies, as upstream's registry strategies.

// TemplateGenerationAnnotation carries a DaemonSet's template generation.
const TemplateGenerationAnnotation = "deprecated.daemonset.template.generation"

// defaultObject applies the kind's defaults, as upstream does on decode.
func defaultObject(obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.Pod:
		validation.DefaultPod(o)
	case *appsv1.DaemonSet:
		validation.DefaultDaemonSet(o)
	case *corev1.Node:
		validation.DefaultNode(o)
	case *corev1.Namespace:
		validation.DefaultNamespace(o)
	}
}

func noStatusCreate(obj runtime.Object) {}

func noStatusUpdate(obj, old runtime.Object) {}

// --- namespaces

func namespacePrepareCreate(obj runtime.Object) {
	ns := obj.(*corev1.Namespace)
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	if !containsFinalizer(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	}
	setNamespaceNameLabel(ns)
}

func setNamespaceNameLabel(ns *corev1.Namespace) {
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
}

func namespacePrepareUpdate(obj, old runtime.Object) {
	ns, o := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	ns.Status = o.Status
	ns.Spec.Finalizers = o.Spec.Finalizers
	setNamespaceNameLabel(ns)
}

func namespacePrepareStatus(obj, old runtime.Object) {
	ns, o := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	ns.Spec = o.Spec
	keepMetaExceptLabelsAndAnnotations(ns, o)
}

// namespacePrepareFinalize lets only spec.finalizers change.
func namespacePrepareFinalize(obj, old runtime.Object) {
	ns, o := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	fin := ns.Spec.Finalizers
	*ns = *o.DeepCopy()
	ns.Spec.Finalizers = fin
}

func namespaceValidate(obj runtime.Object) field.ErrorList {
	return validation.ValidateNamespace(obj.(*corev1.Namespace))
}

func namespaceValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validation.ValidateNamespaceUpdate(obj.(*corev1.Namespace), old.(*corev1.Namespace))
}

func containsFinalizer(list []corev1.FinalizerName, f corev1.FinalizerName) bool {
	for _, x := range list {
		if x == f {
			return true
		}
	}
	return false
}

// --- nodes: a node may register with its status; spec and status are
// written through their own endpoints afterwards.

func nodePrepareCreate(obj runtime.Object) {}

func nodePrepareUpdate(obj, old runtime.Object) {
	obj.(*corev1.Node).Status = old.(*corev1.Node).Status
}

func nodePrepareStatus(obj, old runtime.Object) {
	n, o := obj.(*corev1.Node), old.(*corev1.Node)
	n.Spec = o.Spec
	keepMetaExceptLabelsAndAnnotations(n, o)
}

func nodeValidate(obj runtime.Object) field.ErrorList {
	return validation.ValidateNode(obj.(*corev1.Node))
}

func nodeValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validation.ValidateNodeUpdate(obj.(*corev1.Node), old.(*corev1.Node))
}

// --- pods

func podFields(obj runtime.Object) map[string]string {
	p := obj.(*corev1.Pod)
	return map[string]string{
		"spec.nodeName":            p.Spec.NodeName,
		"spec.restartPolicy":       string(p.Spec.RestartPolicy),
		"spec.schedulerName":       p.Spec.SchedulerName,
		"spec.serviceAccountName":  p.Spec.ServiceAccountName,
		"spec.hostNetwork":         boolString(p.Spec.HostNetwork),
		"status.phase":             string(p.Status.Phase),
		"status.podIP":             p.Status.PodIP,
		"status.nominatedNodeName": p.Status.NominatedNodeName,
	}
}

func podPrepareCreate(obj runtime.Object) {
	p := obj.(*corev1.Pod)
	p.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: qosClass(&p.Spec)}
	p.Generation = 1
}

func podPrepareUpdate(obj, old runtime.Object) {
	p, o := obj.(*corev1.Pod), old.(*corev1.Pod)
	p.Status = o.Status
	p.Generation = o.Generation
	if !apiequality.Semantic.DeepEqual(p.Spec, o.Spec) {
		p.Generation++
	}
}

func podPrepareStatus(obj, old runtime.Object) {
	p, o := obj.(*corev1.Pod), old.(*corev1.Pod)
	p.Spec = o.Spec
	keepMetaExceptLabelsAndAnnotations(p, o)
}

func podValidate(obj runtime.Object) field.ErrorList {
	return validation.ValidatePod(obj.(*corev1.Pod))
}

func podValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validation.ValidatePodUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
}

func podValidateStatus(obj, old runtime.Object) field.ErrorList {
	return validation.ValidatePodStatusUpdate(obj.(*corev1.Pod), old.(*corev1.Pod))
}

// qosClass computes the pod's QoS class as the kubelet and apiserver do.
func qosClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	guaranteed := true
	any := false
	containers := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for _, c := range containers {
		for name, q := range c.Resources.Requests {
			if name != corev1.ResourceCPU && name != corev1.ResourceMemory || q.IsZero() {
				continue
			}
			any = true
			add(requests, name, q)
		}
		seen := 0
		for name, q := range c.Resources.Limits {
			if name != corev1.ResourceCPU && name != corev1.ResourceMemory || q.IsZero() {
				continue
			}
			any = true
			seen++
			add(limits, name, q)
		}
		if seen < 2 {
			guaranteed = false
		}
	}
	if !any {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, r := range requests {
			if l, ok := limits[name]; !ok || l.Cmp(r) != 0 {
				guaranteed = false
			}
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func add(list corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
	sum := list[name]
	sum.Add(q)
	list[name] = sum
}

// --- events: stored as core/v1 Events; events.k8s.io/v1 is a view.

func eventFields(obj runtime.Object) map[string]string {
	var e *corev1.Event
	switch o := obj.(type) {
	case *corev1.Event:
		e = o
	case *eventsv1.Event:
		e = eventconv.FromEventsV1(o)
	default:
		return nil
	}
	return map[string]string{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         e.Source.Component,
		"type":                           e.Type,
	}
}

func eventToStorage(obj runtime.Object) runtime.Object {
	if e, ok := obj.(*eventsv1.Event); ok {
		return eventconv.FromEventsV1(e)
	}
	return obj
}

func eventFromStorage(obj runtime.Object) runtime.Object {
	if e, ok := obj.(*corev1.Event); ok {
		return eventconv.ToEventsV1(e)
	}
	return obj
}

func eventValidate(obj runtime.Object) field.ErrorList {
	return validation.ValidateEvent(eventToStorage(obj).(*corev1.Event))
}

func eventValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validation.ValidateEventUpdate(eventToStorage(obj).(*corev1.Event), eventToStorage(old).(*corev1.Event))
}

// --- daemonsets

func templateGeneration(ds *appsv1.DaemonSet) int64 {
	g, _ := strconv.ParseInt(ds.Annotations[TemplateGenerationAnnotation], 10, 64)
	return g
}

func setTemplateGeneration(ds *appsv1.DaemonSet, g int64) {
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[TemplateGenerationAnnotation] = strconv.FormatInt(g, 10)
}

func daemonSetPrepareCreate(obj runtime.Object) {
	ds := obj.(*appsv1.DaemonSet)
	ds.Status = appsv1.DaemonSetStatus{}
	ds.Generation = 1
	setTemplateGeneration(ds, 1)
}

// daemonSetPrepareUpdate keeps status, bumps generation on any spec change
// and the template generation on template changes (R147); clients cannot
// set either.
func daemonSetPrepareUpdate(obj, old runtime.Object) {
	ds, o := obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)
	ds.Status = o.Status
	ds.Generation = o.Generation
	tg := templateGeneration(o)
	if !apiequality.Semantic.DeepEqual(ds.Spec.Template, o.Spec.Template) {
		tg++
	}
	setTemplateGeneration(ds, tg)
	if !apiequality.Semantic.DeepEqual(ds.Spec, o.Spec) {
		ds.Generation++
	}
}

func daemonSetPrepareStatus(obj, old runtime.Object) {
	ds, o := obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)
	ds.Spec = o.Spec
	keepMetaExceptLabelsAndAnnotations(ds, o)
	ds.Annotations[TemplateGenerationAnnotation] = o.Annotations[TemplateGenerationAnnotation]
}

func daemonSetValidate(obj runtime.Object) field.ErrorList {
	return validation.ValidateDaemonSet(obj.(*appsv1.DaemonSet))
}

func daemonSetValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validation.ValidateDaemonSetUpdate(obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet))
}

func daemonSetValidateStatus(obj, old runtime.Object) field.ErrorList {
	return validation.ValidateDaemonSetStatusUpdate(obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet))
}

// --- controllerrevisions, leases

func controllerRevisionValidate(obj runtime.Object) field.ErrorList {
	return validation.ValidateControllerRevision(obj.(*appsv1.ControllerRevision))
}

func controllerRevisionValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validation.ValidateControllerRevisionUpdate(obj.(*appsv1.ControllerRevision), old.(*appsv1.ControllerRevision))
}

func leaseValidate(obj runtime.Object) field.ErrorList {
	return validation.ValidateLease(obj.(*coordinationv1.Lease))
}

func leaseValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validation.ValidateLeaseUpdate(obj.(*coordinationv1.Lease), old.(*coordinationv1.Lease))
}

// keepMetaExceptLabelsAndAnnotations makes a status write unable to change
// metadata other than labels and annotations.
func keepMetaExceptLabelsAndAnnotations(obj, old runtime.Object) {
	n, _ := meta.Accessor(obj)
	labels, annotations, rv := n.GetLabels(), n.GetAnnotations(), n.GetResourceVersion()
	switch t := obj.(type) {
	case *corev1.Pod:
		t.ObjectMeta = *old.(*corev1.Pod).ObjectMeta.DeepCopy()
	case *corev1.Node:
		t.ObjectMeta = *old.(*corev1.Node).ObjectMeta.DeepCopy()
	case *corev1.Namespace:
		t.ObjectMeta = *old.(*corev1.Namespace).ObjectMeta.DeepCopy()
	case *appsv1.DaemonSet:
		t.ObjectMeta = *old.(*appsv1.DaemonSet).ObjectMeta.DeepCopy()
	}
	n.SetLabels(labels)
	if annotations == nil {
		annotations = map[string]string{}
	}
	n.SetAnnotations(annotations)
	n.SetResourceVersion(rv)
}

// --- serviceaccounts, configmaps, services: stored as given, with
// metadata validation (everynode serves them for clients that expect them;
// it runs no service proxy).

func metaValidate(nameFn apivalidation.ValidateNameFunc) func(obj runtime.Object) field.ErrorList {
	return func(obj runtime.Object) field.ErrorList {
		acc, err := meta.Accessor(obj)
		if err != nil {
			return field.ErrorList{field.InternalError(field.NewPath("metadata"), err)}
		}
		return apivalidation.ValidateObjectMeta(metaOf(acc), true, nameFn, field.NewPath("metadata"))
	}
}

func metaValidateUpdate(obj, old runtime.Object) field.ErrorList {
	n, _ := meta.Accessor(obj)
	o, _ := meta.Accessor(old)
	return apivalidation.ValidateObjectMetaUpdate(metaOf(n), metaOf(o), field.NewPath("metadata"))
}

func servicePrepareCreate(obj runtime.Object) {
	svc := obj.(*corev1.Service)
	svc.Status = corev1.ServiceStatus{}
	if svc.Spec.Type == "" {
		svc.Spec.Type = corev1.ServiceTypeClusterIP
	}
	if svc.Spec.SessionAffinity == "" {
		svc.Spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Protocol == "" {
			svc.Spec.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
}

func servicePrepareUpdate(obj, old runtime.Object) {
	obj.(*corev1.Service).Status = old.(*corev1.Service).Status
}

func servicePrepareStatus(obj, old runtime.Object) {
	s, o := obj.(*corev1.Service), old.(*corev1.Service)
	s.Spec = o.Spec
}
