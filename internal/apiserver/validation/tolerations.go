package validation

import (
	"reflect"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var taintEffects = []corev1.TaintEffect{
	corev1.TaintEffectNoSchedule,
	corev1.TaintEffectPreferNoSchedule,
	corev1.TaintEffectNoExecute,
}

// tolerationOperators lists every operator we accept. Lt and Gt are always on
// in everynode (SEMANTICS D4), where upstream hides them behind the
// TaintTolerationComparisonOperators gate.
var tolerationOperators = []corev1.TolerationOperator{
	corev1.TolerationOpEqual,
	corev1.TolerationOpExists,
	corev1.TolerationOpLt,
	corev1.TolerationOpGt,
}

// ValidateTolerations checks pod tolerations (R13–R19, table T2). Duplicate
// tolerations are allowed (R20).
func ValidateTolerations(tolerations []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range tolerations {
		idxPath := fldPath.Index(i)
		if t.Key != "" {
			errs = append(errs, metav1validation.ValidateLabelName(t.Key, idxPath.Child("key"))...)
		}
		if t.Key == "" && t.Operator != corev1.TolerationOpExists {
			errs = append(errs, field.Invalid(idxPath.Child("operator"), t.Operator,
				"operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		// Stricter than the field's API comment ("ignored otherwise"): an empty
		// effect with tolerationSeconds is rejected too (R19).
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(idxPath.Child("effect"), t.Effect,
				"effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case corev1.TolerationOpEqual, "":
			if msgs := validation.IsValidLabelValue(t.Value); len(msgs) != 0 {
				errs = append(errs, field.Invalid(idxPath.Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case corev1.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(idxPath.Child("operator"), asUpstreamToleration(t), "value must be empty when `operator` is 'Exists'"))
			}
		case corev1.TolerationOpLt, corev1.TolerationOpGt:
			errs = append(errs, validateComparisonValue(t.Value, idxPath.Child("value"))...)
		default:
			errs = append(errs, field.NotSupported(idxPath.Child("operator"), t.Operator, tolerationOperators))
		}
		if t.Effect != "" {
			errs = append(errs, validateTaintEffect(t.Effect, true, idxPath.Child("effect"))...)
		}
	}
	return errs
}

// validateComparisonValue requires the canonical int64 form the matcher
// accepts (R11): anything else could never match, so it is rejected up front
// instead of silently excluding every node.
func validateComparisonValue(value string, fldPath *field.Path) field.ErrorList {
	if msgs := content.IsDecimalInteger(value); len(msgs) != 0 {
		return field.ErrorList{field.Invalid(fldPath, value, strings.Join(msgs, "; "))}
	}
	if _, err := strconv.ParseInt(value, 10, 64); err != nil {
		return field.ErrorList{field.Invalid(fldPath, value, "must fit in a signed 64-bit integer")}
	}
	return nil
}

func validateTaintEffect(effect corev1.TaintEffect, allowEmpty bool, fldPath *field.Path) field.ErrorList {
	if !allowEmpty && effect == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	switch effect {
	case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		return nil
	default:
		return field.ErrorList{field.NotSupported(fldPath, effect, taintEffects)}
	}
}

// ValidateTaints checks node taints (R21, T2 #14–15): key a qualified name,
// value a label value, effect required, unique by (key, effect).
func ValidateTaints(taints []corev1.Taint, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.TaintEffect]sets.Set[string]{}
	for i, t := range taints {
		idxPath := fldPath.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(t.Key, idxPath.Child("key"))...)
		if msgs := validation.IsValidLabelValue(t.Value); len(msgs) != 0 {
			errs = append(errs, field.Invalid(idxPath.Child("value"), t.Value, strings.Join(msgs, ";")))
		}
		errs = append(errs, validateTaintEffect(t.Effect, false, idxPath.Child("effect"))...)
		if seen[t.Effect].Has(t.Key) {
			dup := field.Duplicate(idxPath, t)
			dup.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, dup)
			continue
		}
		if seen[t.Effect] == nil {
			seen[t.Effect] = sets.New[string]()
		}
		seen[t.Effect].Insert(t.Key)
	}
	return errs
}

// validateOnlyAddedTolerations enforces R20 on pod update: every existing
// toleration must still be present, ignoring tolerationSeconds.
func validateOnlyAddedTolerations(newTolerations, oldTolerations []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	for _, old := range oldTolerations {
		found := false
		for _, n := range newTolerations {
			candidate := old
			candidate.TolerationSeconds = n.TolerationSeconds
			if reflect.DeepEqual(candidate, n) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return ValidateTolerations(newTolerations, fldPath)
}

// upstreamToleration mirrors kube-apiserver's internal Toleration type, which
// has no JSON tags: upstream's error message renders the toleration with
// these capitalised field names, and users recognise that text.
type upstreamToleration struct {
	Key               string
	Operator          corev1.TolerationOperator
	Value             string
	Effect            corev1.TaintEffect
	TolerationSeconds *int64
}

func asUpstreamToleration(t corev1.Toleration) upstreamToleration {
	return upstreamToleration{Key: t.Key, Operator: t.Operator, Value: t.Value, Effect: t.Effect, TolerationSeconds: t.TolerationSeconds}
}
