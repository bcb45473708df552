package placement

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PinToNode makes a daemon pod spec schedulable only on nodeName (R86): the
// whole required node affinity is replaced by a single term
// `matchFields: metadata.name In [nodeName]`. Preferred node affinity, pod
// (anti-)affinity, spec.nodeSelector and spec.nodeName are kept, so the
// scheduler still checks them. The controller does not set spec.nodeName
// itself: the scheduler binds the pod, checking resources and taints.
//
// Only spec.Affinity is reassigned; the Affinity and NodeAffinity it pointed
// to are copied, never written, so spec may be a shallow copy of a cached
// template.
func PinToNode(spec *corev1.PodSpec, nodeName string) {
	affinity := &corev1.Affinity{}
	if spec.Affinity != nil {
		*affinity = *spec.Affinity
	}
	nodeAffinity := &corev1.NodeAffinity{}
	if affinity.NodeAffinity != nil {
		*nodeAffinity = *affinity.NodeAffinity
	}
	nodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchFields: []corev1.NodeSelectorRequirement{{
				Key:      metav1.ObjectNameField,
				Operator: corev1.NodeSelectorOpIn,
				Values:   []string{nodeName},
			}},
		}},
	}
	affinity.NodeAffinity = nodeAffinity
	spec.Affinity = affinity
}

// TargetNode returns the node a daemon pod is meant for (R91): spec.nodeName
// when set, else the value of the first `metadata.name In [x]` matchFields
// requirement of its required node affinity, as PinToNode writes it. It
// returns false when there is neither, or when that requirement does not
// have exactly one value; such pods are ignored by the controller.
func TargetNode(pod *corev1.Pod) (string, bool) {
	if pod.Spec.NodeName != "" {
		return pod.Spec.NodeName, true
	}
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return "", false
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, req := range term.MatchFields {
			if req.Key != metav1.ObjectNameField || req.Operator != corev1.NodeSelectorOpIn {
				continue
			}
			if len(req.Values) != 1 {
				return "", false
			}
			return req.Values[0], true
		}
	}
	return "", false
}
