package validation

import (
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	reportingInstanceLengthLimit = 128
	actionLengthLimit            = 128
	reasonLengthLimit            = 128
	noteLengthLimit              = 1024
)

// nodeTaintsPath is where upstream reports node.spec.taints errors: under
// metadata, a historical quirk kept so messages match kube-apiserver.
var nodeTaintsPath = metadataPath.Child("taints")

// ValidateNode validates a new Node: DNS-subdomain name, no namespace,
// taints (R21), capacity/allocatable quantities and podCIDRs.
func ValidateNode(node *corev1.Node) field.ErrorList {
	errs := validateObjectMeta(&node.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, ValidateTaints(node.Spec.Taints, nodeTaintsPath)...)
	errs = append(errs, validateNodeResources(node)...)
	cidrs := node.Spec.PodCIDRs
	if len(cidrs) == 0 {
		return errs
	}
	p := specPath.Child("podCIDRs")
	for i, c := range cidrs {
		errs = append(errs, validation.IsValidCIDR(p.Index(i), c)...)
	}
	if len(cidrs) > 1 {
		if !isDualStack(cidrs) || len(cidrs) > 2 {
			errs = append(errs, field.Invalid(p, cidrs, "may specify no more than one CIDR for each IP family"))
		}
		seen := sets.New[string]()
		for i, c := range cidrs {
			if seen.Has(c) {
				errs = append(errs, field.Duplicate(p.Index(i), c))
			}
			seen.Insert(c)
		}
	}
	return errs
}

// ValidateNodeUpdate validates a Node update (spec or status): podCIDRs and
// providerID may only go from empty to set; taints and unschedulable are free.
func ValidateNodeUpdate(newNode, oldNode *corev1.Node) field.ErrorList {
	errs := validateObjectMetaUpdate(&newNode.ObjectMeta, &oldNode.ObjectMeta)
	errs = append(errs, validateNodeResources(newNode)...)
	seen := map[corev1.NodeAddress]bool{}
	for i, a := range newNode.Status.Addresses {
		if seen[a] {
			errs = append(errs, field.Duplicate(field.NewPath("status", "addresses").Index(i), a))
		}
		seen[a] = true
	}
	if len(oldNode.Spec.PodCIDRs) > 0 {
		const msg = "node updates may not change podCIDR except from \"\" to valid"
		if len(oldNode.Spec.PodCIDRs) != len(newNode.Spec.PodCIDRs) {
			errs = append(errs, field.Forbidden(specPath.Child("podCIDRs"), msg))
		} else {
			for i, c := range oldNode.Spec.PodCIDRs {
				if c != newNode.Spec.PodCIDRs[i] {
					errs = append(errs, field.Forbidden(specPath.Child("podCIDRs"), msg))
				}
			}
		}
	}
	if oldNode.Spec.ProviderID != "" && oldNode.Spec.ProviderID != newNode.Spec.ProviderID {
		errs = append(errs, field.Forbidden(specPath.Child("providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	errs = append(errs, ValidateTaints(newNode.Spec.Taints, nodeTaintsPath)...)
	if newNode.Spec.DoNotUseExternalID != oldNode.Spec.DoNotUseExternalID {
		errs = append(errs, field.Forbidden(specPath.Child("externalID"), "may not be updated"))
	}
	return errs
}

// ValidateNamespace validates a new Namespace: the name is a DNS label and
// spec.finalizers are qualified or standard names.
func ValidateNamespace(ns *corev1.Namespace) field.ErrorList {
	errs := validateObjectMeta(&ns.ObjectMeta, false, apimachineryvalidation.ValidateNamespaceName)
	for _, f := range ns.Spec.Finalizers {
		p := specPath.Child("finalizers")
		errs = append(errs, apimachineryvalidation.ValidateFinalizerName(string(f), p)...)
		errs = append(errs, validateKubeFinalizerName(string(f), p)...)
	}
	return errs
}

// ValidateNamespaceUpdate only checks metadata, as upstream does; spec and
// status changes go through their own subresources.
func ValidateNamespaceUpdate(newNS, oldNS *corev1.Namespace) field.ErrorList {
	return validateObjectMetaUpdate(&newNS.ObjectMeta, &oldNS.ObjectMeta)
}

// ValidateLease validates a new Lease.
func ValidateLease(l *coordinationv1.Lease) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(&l.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, metadataPath)
	return append(errs, validateLeaseSpec(&l.Spec)...)
}

// ValidateLeaseUpdate validates a Lease update; every spec field is mutable.
func ValidateLeaseUpdate(newL, oldL *coordinationv1.Lease) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(&newL.ObjectMeta, &oldL.ObjectMeta, metadataPath)
	return append(errs, validateLeaseSpec(&newL.Spec)...)
}

func validateLeaseSpec(spec *coordinationv1.LeaseSpec) field.ErrorList {
	var errs field.ErrorList
	if d := spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(specPath.Child("leaseDurationSeconds"), spec.LeaseDurationSeconds, "must be greater than 0"))
	}
	if t := spec.LeaseTransitions; t != nil && *t < 0 {
		errs = append(errs, field.Invalid(specPath.Child("leaseTransitions"), spec.LeaseTransitions, "must be greater than or equal to 0"))
	}
	if spec.PreferredHolder != nil && *spec.PreferredHolder != "" && (spec.Strategy == nil || *spec.Strategy == "") {
		errs = append(errs, field.Forbidden(specPath.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
	}
	return errs
}

// namespacedKinds are the kinds we serve, by group/kind, and whether they are
// namespaced; events about other kinds skip the scope check, as upstream
// does for kinds it cannot map.
var namespacedKinds = map[schema.GroupKind]bool{
	{Kind: "Pod"}:                                             true,
	{Kind: "Event"}:                                           true,
	{Kind: "Node"}:                                            false,
	{Kind: "Namespace"}:                                       false,
	{Group: "apps", Kind: "DaemonSet"}:                        true,
	{Group: "apps", Kind: "ControllerRevision"}:               true,
	{Group: "coordination.k8s.io", Kind: "Lease"}:             true,
	{Group: "events.k8s.io", Kind: "Event"}:                   true,
	{Group: "", Kind: "ConfigMap"}:                            true,
	{Group: "", Kind: "Secret"}:                               true,
	{Group: "", Kind: "ServiceAccount"}:                       true,
	{Group: "", Kind: "Service"}:                              true,
	{Group: "apps", Kind: "Deployment"}:                       true,
	{Group: "apps", Kind: "ReplicaSet"}:                       true,
	{Group: "apps", Kind: "StatefulSet"}:                      true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}: false,
}

// ValidateEvent validates a core/v1 Event the lenient way kube-apiserver does
// for the core/v1 API (no immutability, no type check), so old clients such
// as kubectl and client-go's recorder keep working.
func ValidateEvent(e *corev1.Event) field.ErrorList {
	errs := validateObjectMeta(&e.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	involvedNS := field.NewPath("involvedObject", "namespace")
	if e.EventTime.IsZero() {
		if e.InvolvedObject.Namespace == "" {
			// Old clients send "default" for cluster-scoped objects.
			if e.Namespace != metav1.NamespaceNone && e.Namespace != metav1.NamespaceDefault {
				errs = append(errs, field.Invalid(involvedNS, e.InvolvedObject.Namespace, "does not match event.namespace"))
			}
		} else if e.Namespace != e.InvolvedObject.Namespace {
			errs = append(errs, field.Invalid(involvedNS, e.InvolvedObject.Namespace, "does not match event.namespace"))
		}
	} else {
		if e.InvolvedObject.Namespace == "" && e.Namespace != metav1.NamespaceSystem {
			errs = append(errs, field.Invalid(involvedNS, e.InvolvedObject.Namespace, "does not match event.namespace"))
		}
		// core/v1 calls the field reportingComponent.
		rc := field.NewPath("reportingComponent")
		if e.ReportingController == "" {
			errs = append(errs, field.Required(rc, ""))
		}
		errs = append(errs, nameErrors(validation.IsQualifiedName(e.ReportingController), rc, e.ReportingController)...)
		if e.ReportingInstance == "" {
			errs = append(errs, field.Required(field.NewPath("reportingInstance"), ""))
		}
		if len(e.ReportingInstance) > reportingInstanceLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("reportingInstance"), "", fmt.Sprintf("can have at most %v characters", reportingInstanceLengthLimit)))
		}
		if e.Action == "" {
			errs = append(errs, field.Required(field.NewPath("action"), ""))
		}
		if len(e.Action) > actionLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("action"), "", fmt.Sprintf("can have at most %v characters", actionLengthLimit)))
		}
		if e.Reason == "" {
			errs = append(errs, field.Required(field.NewPath("reason"), ""))
		}
		if len(e.Reason) > reasonLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("reason"), "", fmt.Sprintf("can have at most %v characters", reasonLengthLimit)))
		}
		if len(e.Message) > noteLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("message"), "", fmt.Sprintf("can have at most %v characters", noteLengthLimit)))
		}
	}
	if gv, err := schema.ParseGroupVersion(e.InvolvedObject.APIVersion); err == nil {
		if namespaced, known := namespacedKinds[schema.GroupKind{Group: gv.Group, Kind: e.InvolvedObject.Kind}]; known {
			if namespaced && e.InvolvedObject.Namespace == "" {
				errs = append(errs, field.Required(involvedNS, "required for kind "+e.InvolvedObject.Kind))
			}
			if !namespaced && e.InvolvedObject.Namespace != "" {
				errs = append(errs, field.Invalid(involvedNS, e.InvolvedObject.Namespace, "not allowed for kind "+e.InvolvedObject.Kind))
			}
		}
	}
	return errs
}

// ValidateEventUpdate validates a core/v1 Event update: the same checks as
// on create plus metadata immutability (core/v1 events are otherwise mutable,
// which is how the recorder bumps count and lastTimestamp).
func ValidateEventUpdate(newE, oldE *corev1.Event) field.ErrorList {
	errs := validateObjectMetaUpdate(&newE.ObjectMeta, &oldE.ObjectMeta)
	return append(errs, ValidateEvent(newE)...)
}
