// Package admission holds the mutating and validating steps the apiserver
// applies to requests after decoding and before storage, as upstream's
// admission plugins do: default toleration seconds (R69) and, for node
// credentials, node restriction. Pure; imported by the apiserver only.
package admission

import (
	corev1 "k8s.io/api/core/v1"
)

// Taint keys the node lifecycle controller puts on unhealthy nodes.
const (
	TaintNotReady    = "node.kubernetes.io/not-ready"
	TaintUnreachable = "node.kubernetes.io/unreachable"
)

// DefaultTolerationSeconds adds the not-ready and unreachable NoExecute
// tolerations with the given seconds to a pod that has none for that key
// (SEMANTICS R69). A toleration counts when its key is the taint key or empty
// and its effect is NoExecute or empty, whatever its operator and value.
func DefaultTolerationSeconds(pod *corev1.Pod, notReadySeconds, unreachableSeconds int64) {
	for _, d := range []struct {
		key     string
		seconds int64
	}{{TaintNotReady, notReadySeconds}, {TaintUnreachable, unreachableSeconds}} {
		if hasNoExecuteToleration(pod.Spec.Tolerations, d.key) {
			continue
		}
		s := d.seconds
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
			Key: d.key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &s,
		})
	}
}

func hasNoExecuteToleration(tols []corev1.Toleration, key string) bool {
	for _, t := range tols {
		if (t.Key == key || t.Key == "") && (t.Effect == corev1.TaintEffectNoExecute || t.Effect == "") {
			return true
		}
	}
	return false
}
