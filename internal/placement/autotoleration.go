package placement

import corev1 "k8s.io/api/core/v1"

// DaemonPodTolerations returns the tolerations of a daemon pod created from
// template: the template's own, merged with the automatic daemon tolerations
// (R50, R51, table T4). The template is not modified and the result shares
// no memory with it.
//
// The automatic tolerations are Exists tolerations without
// tolerationSeconds, for not-ready and unreachable NoExecute, for the
// disk/memory/pid-pressure and unschedulable NoSchedule taints, and for
// network-unavailable NoSchedule when the pod uses the host network. Note
// what is missing: the NoSchedule variants of not-ready and unreachable
// (R52), so daemon pods are not placed on NotReady nodes but never evicted
// from them.
func DaemonPodTolerations(template corev1.PodSpec) []corev1.Toleration {
	tols := make([]corev1.Toleration, 0, len(template.Tolerations)+7)
	for i := range template.Tolerations {
		tols = append(tols, *template.Tolerations[i].DeepCopy())
	}
	for _, auto := range autoTolerations(template.HostNetwork) {
		tols = addOrUpdateToleration(tols, auto)
	}
	return tols
}

// autoTolerations lists the automatic daemon tolerations in the order they
// are appended (T4#1, T4#2).
func autoTolerations(hostNetwork bool) []corev1.Toleration {
	exists := func(key string, effect corev1.TaintEffect) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect}
	}
	tols := []corev1.Toleration{
		exists(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute),
		exists(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute),
		exists(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule),
	}
	if hostNetwork {
		tols = append(tols, exists(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule))
	}
	return tols
}

// addOrUpdateToleration merges tol into tols the way upstream's
// add-or-update does (R51): entries with the same key, operator, value and
// effect are replaced in place by tol (dropping their tolerationSeconds),
// unless one of them is already identical to tol, in which case nothing
// changes; with no such entry tol is appended.
func addOrUpdateToleration(tols []corev1.Toleration, tol corev1.Toleration) []corev1.Toleration {
	found := false
	for i := range tols {
		if !tols[i].MatchToleration(&tol) {
			continue
		}
		if sameSeconds(tols[i].TolerationSeconds, tol.TolerationSeconds) {
			return tols
		}
		found = true
	}
	if !found {
		return append(tols, tol)
	}
	for i := range tols {
		if tols[i].MatchToleration(&tol) {
			tols[i] = *tol.DeepCopy()
		}
	}
	return tols
}

func sameSeconds(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
