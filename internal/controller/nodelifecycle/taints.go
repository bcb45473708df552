package nodelifecycle

import (
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// The NoExecute taints this controller owns (R65).
var (
	NotReadyNoExecute    = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}
	UnreachableNoExecute = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
)

// conditionTaintKeys maps a condition and status to the key of the
// NoSchedule taint it implies (R63).
var conditionTaintKeys = map[corev1.NodeConditionType]map[corev1.ConditionStatus]string{
	corev1.NodeReady: {
		corev1.ConditionFalse:   corev1.TaintNodeNotReady,
		corev1.ConditionUnknown: corev1.TaintNodeUnreachable,
	},
	corev1.NodeMemoryPressure:     {corev1.ConditionTrue: corev1.TaintNodeMemoryPressure},
	corev1.NodeDiskPressure:       {corev1.ConditionTrue: corev1.TaintNodeDiskPressure},
	corev1.NodePIDPressure:        {corev1.ConditionTrue: corev1.TaintNodePIDPressure},
	corev1.NodeNetworkUnavailable: {corev1.ConditionTrue: corev1.TaintNodeNetworkUnavailable},
}

// ownedNoScheduleKey reports whether a NoSchedule taint with this key is
// one of the condition taints of R63.
func ownedNoScheduleKey(key string) bool {
	switch key {
	case corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable, corev1.TaintNodeMemoryPressure,
		corev1.TaintNodeDiskPressure, corev1.TaintNodePIDPressure, corev1.TaintNodeNetworkUnavailable,
		corev1.TaintNodeUnschedulable:
		return true
	}
	return false
}

// ConditionTaints returns the NoSchedule taints the node's conditions and
// spec.unschedulable call for (R63), sorted by key, without timeAdded.
// Cordon only ever yields a NoSchedule taint (R68).
func ConditionTaints(node *corev1.Node) []corev1.Taint {
	var want []corev1.Taint
	for _, cond := range node.Status.Conditions {
		if key, ok := conditionTaintKeys[cond.Type][cond.Status]; ok {
			want = append(want, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	if node.Spec.Unschedulable {
		want = append(want, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	}
	sort.Slice(want, func(i, j int) bool { return want[i].Key < want[j].Key })
	return want
}

// ReconcileConditionTaints returns the condition taints to add to and
// remove from the node so that its owned NoSchedule set is exactly
// ConditionTaints(node); other taints are not touched (R63).
func ReconcileConditionTaints(node *corev1.Node) (add, remove []corev1.Taint) {
	want := ConditionTaints(node)
	var have []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule && ownedNoScheduleKey(t.Key) {
			have = append(have, t)
		}
	}
	for _, w := range want {
		if !hasTaint(have, w) {
			add = append(add, w)
		}
	}
	for _, h := range have {
		if !hasTaint(want, h) {
			remove = append(remove, h)
		}
	}
	return add, remove
}

// hasTaint matches by key and effect, as taints are identified.
func hasTaint(taints []corev1.Taint, t corev1.Taint) bool {
	for _, have := range taints {
		if have.MatchTaint(&t) {
			return true
		}
	}
	return false
}

// SwapTaints returns taints with remove taken out and add put in, and
// whether anything changed. Taints are matched by key and effect; an added
// taint replaces one with the same key and effect but another value.
func SwapTaints(taints, add, remove []corev1.Taint) ([]corev1.Taint, bool) {
	var out []corev1.Taint
	changed := false
	for _, t := range taints {
		if hasTaint(remove, t) && !hasTaint(add, t) {
			changed = true
			continue
		}
		out = append(out, t)
	}
	for _, a := range add {
		i := slices.IndexFunc(out, func(t corev1.Taint) bool { return t.MatchTaint(&a) })
		switch {
		case i < 0:
			out = append(out, a)
			changed = true
		case out[i].Value != a.Value:
			out[i] = a
			changed = true
		}
	}
	return out, changed
}
