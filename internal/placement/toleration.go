package placement

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
)

// ToleratesTaint reports whether tol tolerates taint (R1–R5, R9–R12).
//
// The numeric operators Lt and Gt are always enabled (D4) and compare the
// taint's value against the toleration's: Lt matches when taint < toleration,
// Gt when taint > toleration. Both values must be canonical decimal int64s
// (R11), otherwise the toleration does not match. tolerationSeconds plays no
// role here (R6).
//
// component-helpers offers the same matching, but it needs a klog.Logger and
// logs an error for every non-numeric Lt/Gt value it meets; decisions are
// evaluated for every (DaemonSet, node) pair, so we keep matching silent. A
// differential fuzz test pins our semantics to the library's.
func ToleratesTaint(tol corev1.Toleration, taint corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != taint.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != taint.Key {
		return false
	}
	switch tol.Operator {
	case "", corev1.TolerationOpEqual:
		return tol.Value == taint.Value
	case corev1.TolerationOpExists:
		return true
	case corev1.TolerationOpLt, corev1.TolerationOpGt:
		bound, ok := canonicalInt(tol.Value)
		if !ok {
			return false
		}
		have, ok := canonicalInt(taint.Value)
		if !ok {
			return false
		}
		if tol.Operator == corev1.TolerationOpLt {
			return have < bound
		}
		return have > bound
	default:
		return false
	}
}

// canonicalInt parses s only if it is written the one way a human writes an
// integer: "0", or an optional '-' followed by a non-zero digit and more
// digits (R11). strconv alone would accept "+5" and "0950".
func canonicalInt(s string) (int64, bool) {
	if len(content.IsDecimalInteger(s)) > 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// tolerated reports whether at least one toleration tolerates taint (R7:
// tolerations are OR-ed per taint).
func tolerated(taint corev1.Taint, tolerations []corev1.Toleration) bool {
	for _, tol := range tolerations {
		if ToleratesTaint(tol, taint) {
			return true
		}
	}
	return false
}

// FindUntoleratedTaint returns the first taint accepted by filter that no
// toleration tolerates, and true; or false when every filtered taint is
// tolerated (R7). A nil filter accepts every taint. Use NoScheduleOrNoExecute
// for the scheduler's filter and ShouldRun, NoExecute for
// ShouldContinueRunning, kubelet admission and eviction (R8).
func FindUntoleratedTaint(taints []corev1.Taint, tolerations []corev1.Toleration, filter func(*corev1.Taint) bool) (corev1.Taint, bool) {
	for i := range taints {
		if filter != nil && !filter(&taints[i]) {
			continue
		}
		if !tolerated(taints[i], tolerations) {
			return taints[i], true
		}
	}
	return corev1.Taint{}, false
}

// NoScheduleOrNoExecute is the taint filter of the scheduler and of
// ShouldRun: only these effects keep a new pod off a node (R8, R24).
func NoScheduleOrNoExecute(t *corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
}

// NoExecute is the taint filter of ShouldContinueRunning, kubelet admission
// and taint eviction: only NoExecute taints remove a running pod (R8).
func NoExecute(t *corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoExecute
}

// CountIntolerablePreferNoSchedule counts the PreferNoSchedule taints that
// none of the tolerations with effect PreferNoSchedule or empty tolerates.
// It feeds the scheduler's TaintToleration score, where fewer is better
// (R22). PreferNoSchedule taints never block placement.
func CountIntolerablePreferNoSchedule(taints []corev1.Taint, tolerations []corev1.Toleration) int {
	var relevant []corev1.Toleration
	for _, tol := range tolerations {
		if tol.Effect == "" || tol.Effect == corev1.TaintEffectPreferNoSchedule {
			relevant = append(relevant, tol)
		}
	}
	n := 0
	for _, taint := range taints {
		if taint.Effect == corev1.TaintEffectPreferNoSchedule && !tolerated(taint, relevant) {
			n++
		}
	}
	return n
}
