package agent

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/everynode/everynode/internal/placement"
)

// Admission rejection reasons, the kubelet's predicate names (R75).
const (
	RejectNodeAffinity    = "NodeAffinity"
	RejectTaint           = "TaintToleration"
	rejectedMessagePrefix = "Pod was rejected: "
)

// Admission is the kubelet's verdict on a pod bound to this node.
type Admission struct {
	Admit   bool
	Reason  string
	Message string
}

// admit decides whether the agent may run pod on node, as the kubelet's
// admission does (R75): a pod whose nodeSelector or required node affinity
// does not match the node, or that does not tolerate one of the node's
// NoExecute taints, is rejected (NoSchedule taints are the scheduler's
// business: a pod bound despite them runs).
func admit(pod *corev1.Pod, node *corev1.Node) Admission {
	if ok, _, msg := placement.NodeMatchesPod(pod, node); !ok {
		return Admission{Reason: RejectNodeAffinity,
			Message: rejectedMessagePrefix + "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector: " + msg}
	}
	if taint, bad := placement.FindUntoleratedTaint(node.Spec.Taints, pod.Spec.Tolerations, placement.NoExecute); bad {
		return Admission{Reason: RejectTaint,
			Message: rejectedMessagePrefix + "Predicate TaintToleration failed: node(s) had untolerated taint {" + taint.ToString() + "}"}
	}
	return Admission{Admit: true}
}
