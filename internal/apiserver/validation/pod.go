package validation

import (
	"fmt"
	"math"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// updatablePodSpecFields is the list quoted in the pod-update Forbidden
// message. Container resources are resized through the resize subresource
// upstream, so they are not in it.
var updatablePodSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

var specPath = field.NewPath("spec")

// ValidatePod validates a new pod (metadata and spec); call DefaultPod first.
func ValidatePod(pod *corev1.Pod) field.ErrorList {
	errs := validatePodMetadataAndSpec(pod)
	if len(pod.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("ephemeralContainers"), "cannot be set on create"))
	}
	if pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) != 0 {
		errs = append(errs, field.Forbidden(specPath.Child("nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	return errs
}

func validatePodMetadataAndSpec(pod *corev1.Pod) field.ErrorList {
	errs := validateObjectMeta(&pod.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	errs = append(errs, validatePodSpecificAnnotations(pod.Annotations, &pod.Spec, metadataPath.Child("annotations"))...)
	errs = append(errs, validatePodSpec(&pod.Spec, specPath, podOptions{resourceIsPod: true})...)
	errs = append(errs, validateImageWhitespace(pod.Spec.Containers, specPath.Child("containers"))...)
	return append(errs, validateImageWhitespace(pod.Spec.InitContainers, specPath.Child("initContainers"))...)
}

// validateImageWhitespace is pod-only: templates historically allowed " " as
// a placeholder image.
func validateImageWhitespace(containers []corev1.Container, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range containers {
		if len(c.Image) != len(strings.TrimSpace(c.Image)) {
			errs = append(errs, field.Invalid(fldPath.Index(i).Child("image"), c.Image, "must not have leading or trailing whitespace"))
		}
	}
	return errs
}

// validatePodTemplateSpec validates a template embedded in another kind.
func validatePodTemplateSpec(t *corev1.PodTemplateSpec, fldPath *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabels(t.Labels, fldPath.Child("labels"))
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(t.Annotations, fldPath.Child("annotations"))...)
	errs = append(errs, validatePodSpecificAnnotations(t.Annotations, &t.Spec, fldPath.Child("annotations"))...)
	errs = append(errs, validatePodSpec(&t.Spec, fldPath.Child("spec"), podOptions{})...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

// ValidatePodUpdate validates an update of a pod by a user. The spec is
// immutable except for container images, activeDeadlineSeconds (set or
// lowered), added tolerations / changed tolerationSeconds (R20), removed
// scheduling gates and terminationGracePeriodSeconds going from negative to 1.
func ValidatePodUpdate(newPod, oldPod *corev1.Pod) field.ErrorList {
	errs := validateObjectMetaUpdate(&newPod.ObjectMeta, &oldPod.ObjectMeta)
	errs = append(errs, validatePodMetadataAndSpec(newPod)...)
	errs = append(errs, validatePodAnnotationUpdates(newPod, oldPod)...)

	cErrs, stop := validateContainerUpdates(newPod.Spec.Containers, oldPod.Spec.Containers, specPath.Child("containers"))
	errs = append(errs, cErrs...)
	if stop {
		return errs
	}
	cErrs, stop = validateContainerUpdates(newPod.Spec.InitContainers, oldPod.Spec.InitContainers, specPath.Child("initContainers"))
	errs = append(errs, cErrs...)
	if stop {
		return errs
	}

	adsPath := specPath.Child("activeDeadlineSeconds")
	if newPod.Spec.ActiveDeadlineSeconds != nil {
		v := *newPod.Spec.ActiveDeadlineSeconds
		if v < 0 || v > math.MaxInt32 {
			return append(errs, field.Invalid(adsPath, v, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
		if oldPod.Spec.ActiveDeadlineSeconds != nil && *oldPod.Spec.ActiveDeadlineSeconds < v {
			return append(errs, field.Invalid(adsPath, v, "must be less than or equal to previous value"))
		}
	} else if oldPod.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(adsPath, newPod.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}

	errs = append(errs, validateOnlyAddedTolerations(newPod.Spec.Tolerations, oldPod.Spec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, validateOnlyDeletedSchedulingGates(newPod.Spec.SchedulingGates, oldPod.Spec.SchedulingGates, specPath.Child("schedulingGates"))...)

	if apiequality.Semantic.DeepEqual(newPod.Spec, oldPod.Spec) {
		return errs
	}
	// Overwrite the mutable fields with the old values; whatever still
	// differs was changed illegally.
	munged := newPod.Spec.DeepCopy()
	for i := range munged.Containers {
		munged.Containers[i].Image = oldPod.Spec.Containers[i].Image
	}
	for i := range munged.InitContainers {
		munged.InitContainers[i].Image = oldPod.Spec.InitContainers[i].Image
	}
	munged.ActiveDeadlineSeconds = oldPod.Spec.ActiveDeadlineSeconds
	munged.SchedulingGates = oldPod.Spec.SchedulingGates
	munged.Tolerations = oldPod.Spec.Tolerations
	if old := oldPod.Spec.TerminationGracePeriodSeconds; old != nil && *old < 0 &&
		munged.TerminationGracePeriodSeconds != nil && *munged.TerminationGracePeriodSeconds == 1 {
		munged.TerminationGracePeriodSeconds = old
	}
	if len(oldPod.Spec.SchedulingGates) > 0 {
		// Gated pods may gain nodeSelector entries and node affinity while
		// waiting; we accept those changes without upstream's finer checks.
		munged.NodeSelector = oldPod.Spec.NodeSelector
		munged.Affinity = oldPod.Spec.Affinity
	}
	if !apiequality.Semantic.DeepEqual(*munged, oldPod.Spec) {
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("pod updates may not change fields other than %s\n%s",
			strings.Join(updatablePodSpecFields, ","), changedPodSpecFields(&oldPod.Spec, munged))))
	}
	return errs
}

func validateContainerUpdates(newC, oldC []corev1.Container, fldPath *field.Path) (field.ErrorList, bool) {
	if len(newC) != len(oldC) {
		return field.ErrorList{field.Forbidden(fldPath, "pod updates may not add or remove containers")}, true
	}
	var errs field.ErrorList
	for i, c := range newC {
		if c.Image == "" {
			errs = append(errs, field.Required(fldPath.Index(i).Child("image"), ""))
		}
	}
	return errs, false
}

func validateOnlyDeletedSchedulingGates(newGates, oldGates []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	old := sets.New[string]()
	for _, g := range oldGates {
		old.Insert(g.Name)
	}
	var errs field.ErrorList
	for i, g := range newGates {
		if !old.Has(g.Name) {
			errs = append(errs, field.Forbidden(fldPath.Index(i).Child("name"), fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return errs
}

func validatePodAnnotationUpdates(newPod, oldPod *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	p := metadataPath.Child("annotations")
	oldV, oldOK := oldPod.Annotations[corev1.MirrorPodAnnotationKey]
	newV, newOK := newPod.Annotations[corev1.MirrorPodAnnotationKey]
	switch {
	case oldOK && (!newOK || newV != oldV):
		errs = append(errs, field.Forbidden(p.Key(corev1.MirrorPodAnnotationKey), "may not remove or update mirror pod annotation"))
	case !oldOK && newOK:
		errs = append(errs, field.Forbidden(p.Key(corev1.MirrorPodAnnotationKey), "may not add mirror pod annotation"))
	}
	return errs
}

// changedPodSpecFields names the top-level spec fields that differ. Upstream
// prints a full Go diff of its internal types here; a list of field names is
// what users actually need from it.
func changedPodSpecFields(oldSpec, newSpec *corev1.PodSpec) string {
	oldMap, newMap := podSpecFields(oldSpec), podSpecFields(newSpec)
	var changed []string
	for _, name := range sets.List(sets.KeySet(oldMap).Union(sets.KeySet(newMap))) {
		if !apiequality.Semantic.DeepEqual(oldMap[name], newMap[name]) {
			changed = append(changed, "spec."+name)
		}
	}
	return "changed: " + strings.Join(changed, ", ")
}

// ValidatePodStatusUpdate validates a write to pods/status.
func ValidatePodStatusUpdate(newPod, oldPod *corev1.Pod) field.ErrorList {
	errs := validateObjectMetaUpdate(&newPod.ObjectMeta, &oldPod.ObjectMeta)
	errs = append(errs, validatePodAnnotationUpdates(newPod, oldPod)...)
	errs = append(errs, validatePodSpecificAnnotations(newPod.Annotations, &newPod.Spec, metadataPath.Child("annotations"))...)
	system := sets.New(corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized)
	for i, c := range newPod.Status.Conditions {
		if system.Has(c.Type) {
			continue
		}
		// Upstream reports these under metadata.conditions; kept for parity.
		errs = append(errs, nameErrors(validation.IsQualifiedName(string(c.Type)), metadataPath.Child("conditions").Index(i).Child("Type"), string(c.Type))...)
	}
	statusPath := field.NewPath("status")
	if newPod.Spec.NodeName != oldPod.Spec.NodeName {
		errs = append(errs, field.Forbidden(statusPath.Child("nodeName"), "may not be changed directly"))
	}
	if n := newPod.Status.NominatedNodeName; n != oldPod.Status.NominatedNodeName && n != "" {
		errs = append(errs, nameErrors(apimachineryvalidation.NameIsDNSSubdomain(n, false), statusPath.Child("nominatedNodeName"), n)...)
	}
	errs = append(errs, validateContainerStateTransition(newPod.Status.ContainerStatuses, oldPod.Status.ContainerStatuses, statusPath.Child("containerStatuses"), oldPod.Spec.RestartPolicy, nil)...)
	errs = append(errs, validateContainerStateTransition(newPod.Status.InitContainerStatuses, oldPod.Status.InitContainerStatuses, statusPath.Child("initContainerStatuses"), oldPod.Spec.RestartPolicy, oldPod.Spec.InitContainers)...)
	errs = append(errs, validateContainerStateTransition(newPod.Status.EphemeralContainerStatuses, oldPod.Status.EphemeralContainerStatuses, statusPath.Child("ephemeralContainerStatuses"), corev1.RestartPolicyNever, nil)...)
	errs = append(errs, validatePodIPs(newPod.Status.PodIPs, statusPath.Child("podIPs"))...)
	return append(errs, validateHostIPs(newPod, statusPath.Child("hostIPs"))...)
}

// validateContainerStateTransition forbids a terminated container from
// becoming non-terminated when the pod (or init container) may not restart it.
func validateContainerStateTransition(newS, oldS []corev1.ContainerStatus, fldPath *field.Path, rp corev1.RestartPolicy, inits []corev1.Container) field.ErrorList {
	if rp == corev1.RestartPolicyAlways {
		return nil
	}
	var errs field.ErrorList
	for i, o := range oldS {
		if o.State.Terminated == nil {
			continue
		}
		if o.State.Terminated.ExitCode != 0 && rp == corev1.RestartPolicyOnFailure {
			continue
		}
		if isRestartableInit(o.Name, inits) {
			continue
		}
		for _, n := range newS {
			if n.Name == o.Name && n.State.Terminated == nil {
				errs = append(errs, field.Forbidden(fldPath.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}

func isRestartableInit(name string, inits []corev1.Container) bool {
	for _, c := range inits {
		if c.Name == name {
			return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		}
	}
	return false
}

func validatePodIPs(ips []corev1.PodIP, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ip := range ips {
		errs = append(errs, validation.IsValidIP(fldPath.Index(i), ip.IP)...)
	}
	if len(ips) > 1 {
		strs := make([]string, 0, len(ips))
		for _, ip := range ips {
			strs = append(strs, ip.IP)
		}
		if len(errs) == 0 && (!isDualStack(strs) || len(ips) > 2) {
			errs = append(errs, field.Invalid(fldPath, ips, "may specify no more than one IP for each IP family"))
		}
		seen := sets.New[string]()
		for i, ip := range ips {
			if seen.Has(ip.IP) {
				errs = append(errs, field.Duplicate(fldPath.Index(i), ip))
			}
			seen.Insert(ip.IP)
		}
	}
	return errs
}

func validateHostIPs(pod *corev1.Pod, fldPath *field.Path) field.ErrorList {
	ips := pod.Status.HostIPs
	if len(ips) == 0 {
		return nil
	}
	var errs field.ErrorList
	if pod.Status.HostIP != ips[0].IP {
		errs = append(errs, field.Invalid(fldPath.Index(0).Child("ip"), ips[0].IP, "must be equal to `hostIP`"))
	}
	for i, ip := range ips {
		errs = append(errs, validation.IsValidIP(fldPath.Index(i), ip.IP)...)
	}
	if len(ips) > 1 {
		seen := sets.New[string]()
		strs := make([]string, 0, len(ips))
		for i, ip := range ips {
			strs = append(strs, ip.IP)
			if seen.Has(ip.IP) {
				errs = append(errs, field.Duplicate(fldPath.Index(i), ip))
			}
			seen.Insert(ip.IP)
		}
		if !isDualStack(strs) || len(ips) > 2 {
			errs = append(errs, field.Invalid(fldPath, ips, "may specify no more than one IP for each IP family"))
		}
	}
	return errs
}

// ValidateBinding validates a pods/binding request body.
func ValidateBinding(b *corev1.Binding) field.ErrorList {
	var errs field.ErrorList
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		errs = append(errs, field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"}))
	}
	if b.Target.Name == "" {
		errs = append(errs, field.Required(field.NewPath("target", "name"), ""))
	}
	return errs
}
