package validation

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateDaemonSet validates a new DaemonSet (R181–R186, table T11); call
// DefaultDaemonSet first.
func ValidateDaemonSet(ds *appsv1.DaemonSet) field.ErrorList {
	errs := validateObjectMeta(&ds.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	return append(errs, validateDaemonSetSpec(&ds.Spec, specPath)...)
}

// ValidateDaemonSetUpdate validates a spec update. apps/v1 makes the
// selector immutable (R187). The template-generation rules of R187 concern a
// server-managed annotation that the apiserver maintains itself.
func ValidateDaemonSetUpdate(newDS, oldDS *appsv1.DaemonSet) field.ErrorList {
	errs := validateObjectMetaUpdate(&newDS.ObjectMeta, &oldDS.ObjectMeta)
	errs = append(errs, validateDaemonSetSpec(&newDS.Spec, specPath)...)
	return append(errs, apimachineryvalidation.ValidateImmutableField(newDS.Spec.Selector, oldDS.Spec.Selector, specPath.Child("selector"))...)
}

// ValidateDaemonSetStatusUpdate validates a write to daemonsets/status (R188).
func ValidateDaemonSetStatusUpdate(newDS, oldDS *appsv1.DaemonSet) field.ErrorList {
	errs := validateObjectMetaUpdate(&newDS.ObjectMeta, &oldDS.ObjectMeta)
	p := field.NewPath("status")
	s := &newDS.Status
	errs = append(errs, nonNegative(int64(s.CurrentNumberScheduled), p.Child("currentNumberScheduled"))...)
	errs = append(errs, nonNegative(int64(s.NumberMisscheduled), p.Child("numberMisscheduled"))...)
	errs = append(errs, nonNegative(int64(s.DesiredNumberScheduled), p.Child("desiredNumberScheduled"))...)
	errs = append(errs, nonNegative(int64(s.NumberReady), p.Child("numberReady"))...)
	errs = append(errs, nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))...)
	errs = append(errs, nonNegative(int64(s.UpdatedNumberScheduled), p.Child("updatedNumberScheduled"))...)
	errs = append(errs, nonNegative(int64(s.NumberAvailable), p.Child("numberAvailable"))...)
	errs = append(errs, nonNegative(int64(s.NumberUnavailable), p.Child("numberUnavailable"))...)
	if s.CollisionCount != nil {
		errs = append(errs, nonNegative(int64(*s.CollisionCount), p.Child("collisionCount"))...)
	}
	if isDecremented(s.CollisionCount, oldDS.Status.CollisionCount) {
		var v int32
		if s.CollisionCount != nil {
			v = *s.CollisionCount
		}
		errs = append(errs, field.Invalid(p.Child("collisionCount"), v, "cannot be decremented"))
	}
	return errs
}

func isDecremented(update, current *int32) bool {
	if update == nil && current != nil {
		return true
	}
	return update != nil && current != nil && *update < *current
}

func validateDaemonSetSpec(spec *appsv1.DaemonSetSpec, fldPath *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))
	// A nil selector converts to "match nothing", so a missing selector is
	// reported as a template mismatch, as upstream does (T11 #4).
	sel, err := metav1.LabelSelectorAsSelector(spec.Selector)
	if err == nil && !sel.Matches(labels.Set(spec.Template.Labels)) {
		errs = append(errs, field.Invalid(fldPath.Child("template", "metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	if spec.Selector != nil && len(spec.Selector.MatchLabels)+len(spec.Selector.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(fldPath.Child("selector"), spec.Selector, "empty selector is invalid for daemonset"))
	}
	errs = append(errs, validatePodTemplateSpec(&spec.Template, fldPath.Child("template"))...)
	if rp := spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(fldPath.Child("template", "spec", "restartPolicy"), rp, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if spec.Template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("template", "spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in DaemonSet is not Supported"))
	}
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	errs = append(errs, validateDaemonSetUpdateStrategy(&spec.UpdateStrategy, fldPath.Child("updateStrategy"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*spec.RevisionHistoryLimit), fldPath.Child("revisionHistoryLimit"))...)
	}
	return errs
}

func validateDaemonSetUpdateStrategy(s *appsv1.DaemonSetUpdateStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		// A rollingUpdate block is accepted and ignored (R186, T11 #12).
		return nil
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "")}
		}
		return validateRollingUpdateDaemonSet(s.RollingUpdate, fldPath.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(fldPath, s, []appsv1.DaemonSetUpdateStrategyType{
			appsv1.RollingUpdateDaemonSetStrategyType, appsv1.OnDeleteDaemonSetStrategyType})}
	}
}

// validateRollingUpdateDaemonSet enforces R104–R105: int ≥ 0 or "N%" ≤ 100%,
// and exactly one of maxUnavailable / maxSurge non-zero.
func validateRollingUpdateDaemonSet(ru *appsv1.RollingUpdateDaemonSet, fldPath *field.Path) field.ErrorList {
	var unavailable, surge intstr.IntOrString
	if ru.MaxUnavailable != nil {
		unavailable = *ru.MaxUnavailable
	}
	if ru.MaxSurge != nil {
		surge = *ru.MaxSurge
	}
	uPath, sPath := fldPath.Child("maxUnavailable"), fldPath.Child("maxSurge")
	errs := validatePositiveIntOrPercent(unavailable, uPath)
	errs = append(errs, validatePositiveIntOrPercent(surge, sPath)...)
	errs = append(errs, notMoreThan100Percent(unavailable, uPath)...)
	errs = append(errs, notMoreThan100Percent(surge, sPath)...)
	hasUnavailable, hasSurge := intOrPercentValue(unavailable) != 0, intOrPercentValue(surge) != 0
	switch {
	case hasUnavailable && hasSurge:
		errs = append(errs, field.Invalid(sPath, ru.MaxSurge, "may not be set when maxUnavailable is non-zero"))
	case !hasUnavailable && !hasSurge:
		errs = append(errs, field.Required(uPath, "cannot be 0 when maxSurge is 0"))
	}
	return errs
}

func validatePositiveIntOrPercent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	switch v.Type {
	case intstr.String:
		var errs field.ErrorList
		for _, msg := range validation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(fldPath, v, msg))
		}
		return errs
	case intstr.Int:
		return nonNegative(int64(v.IntValue()), fldPath)
	default:
		return field.ErrorList{field.Invalid(fldPath, v, "must be an integer or percentage (e.g '5%%')")}
	}
}

// percentValue returns N for a valid "N%" string.
func percentValue(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(validation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(v.StrVal[:len(v.StrVal)-1])
	return n, true
}

func intOrPercentValue(v intstr.IntOrString) int {
	if n, ok := percentValue(v); ok {
		return n
	}
	return v.IntValue()
}

func notMoreThan100Percent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	if n, ok := percentValue(v); ok && n > 100 {
		return field.ErrorList{field.Invalid(fldPath, v, "must not be greater than 100%")}
	}
	return nil
}

// ValidateControllerRevision validates a new ControllerRevision: data is
// required and revision ≥ 0.
func ValidateControllerRevision(cr *appsv1.ControllerRevision) field.ErrorList {
	errs := validateObjectMeta(&cr.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain)
	if cr.Data.Raw == nil && cr.Data.Object == nil {
		errs = append(errs, field.Required(field.NewPath("data"), "data is mandatory"))
	}
	return append(errs, nonNegative(cr.Revision, field.NewPath("revision"))...)
}

// ValidateControllerRevisionUpdate additionally makes data immutable; the
// revision number may change (rollback renumbers, R142).
func ValidateControllerRevisionUpdate(newCR, oldCR *appsv1.ControllerRevision) field.ErrorList {
	errs := validateObjectMetaUpdate(&newCR.ObjectMeta, &oldCR.ObjectMeta)
	errs = append(errs, ValidateControllerRevision(newCR)...)
	return append(errs, apimachineryvalidation.ValidateImmutableField(newCR.Data, oldCR.Data, field.NewPath("data"))...)
}
