package placement

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// Reason says, in one word, why a pod should not run on a node. Reasons
// surface in events, logs, status and `everynode explain` (D3).
type Reason string

// The reasons, in the order Decide checks them.
const (
	// ReasonNodeNameMismatch: the template pins spec.nodeName to another node (R31).
	ReasonNodeNameMismatch Reason = "NodeNameMismatch"
	// ReasonNodeSelectorMismatch: a spec.nodeSelector entry is missing or different on the node (R32).
	ReasonNodeSelectorMismatch Reason = "NodeSelectorMismatch"
	// ReasonNodeAffinityMismatch: no term of the required node affinity matches the node (R32).
	ReasonNodeAffinityMismatch Reason = "NodeAffinityMismatch"
	// ReasonUntoleratedNoSchedule: the node has a NoSchedule taint the pod does not tolerate, and
	// every NoExecute taint is tolerated, so a running pod may stay (R35).
	ReasonUntoleratedNoSchedule Reason = "UntoleratedNoScheduleTaint"
	// ReasonUntoleratedNoExecute: the node has a NoExecute taint the pod does not tolerate, so
	// not even a running pod may stay (R35).
	ReasonUntoleratedNoExecute Reason = "UntoleratedNoExecuteTaint"
)

// Decision is the DaemonSet controller's verdict for one (DaemonSet, node)
// pair.
type Decision struct {
	// ShouldRun (SR): a daemon pod should be created here if none exists.
	ShouldRun bool
	// ShouldContinueRunning (SCR): an existing daemon pod may stay here.
	ShouldContinueRunning bool
	// Reason is empty exactly when ShouldRun is true.
	Reason Reason
	// Message names the facts behind Reason: which taint is untolerated,
	// which selector entry or affinity term fails and what the node has.
	Message string
}

// Decide computes whether the DaemonSet's pod should run (SR) and may keep
// running (SCR) on node (R30–R37), and why not.
//
// Only node.Name, node.Labels and node.Spec.Taints count; conditions,
// spec.unschedulable, resources and other pods do not (R36). The pod is judged
// by the current template with the automatic daemon tolerations added (R30,
// R50), whatever the update strategy (R37). PreferNoSchedule taints and
// tolerationSeconds are ignored (R23, R6). Both arguments must be non-nil;
// neither is modified.
func Decide(node *corev1.Node, ds *appsv1.DaemonSet) Decision {
	return NewDecider(ds).Decide(node)
}

// Decider decides for one DaemonSet over many nodes: what depends only on
// the DaemonSet (its pods' tolerations, its parsed node affinity) is
// computed once, so a sync over N nodes does not redo it N times.
type Decider struct {
	spec        *corev1.PodSpec
	tolerations []corev1.Toleration
	affinity    nodeaffinity.RequiredNodeAffinity
}

// NewDecider prepares decisions for ds, which must not change while the
// Decider is in use.
func NewDecider(ds *appsv1.DaemonSet) *Decider {
	spec := &ds.Spec.Template.Spec
	return &Decider{
		spec:        spec,
		tolerations: DaemonPodTolerations(*spec),
		affinity:    nodeaffinity.NewRequiredNodeAffinity(spec.NodeSelector, spec.Affinity),
	}
}

// Decide is Decide(node, ds) for the Decider's DaemonSet.
func (d *Decider) Decide(node *corev1.Node) Decision {
	spec := d.spec
	if spec.NodeName != "" && spec.NodeName != node.Name {
		return Decision{
			Reason:  ReasonNodeNameMismatch,
			Message: fmt.Sprintf("pod template sets spec.nodeName %q, this node is %q", spec.NodeName, node.Name),
		}
	}
	if ok, reason, msg := matchWith(d.affinity, spec.NodeSelector, spec.Affinity, node); !ok {
		return Decision{Reason: reason, Message: msg}
	}
	if ok, reason, msg := taintsFit(node.Spec.Taints, d.tolerations); !ok {
		// An untolerated NoSchedule taint only stops new pods; an untolerated
		// NoExecute taint also removes the running one (R35).
		return Decision{ShouldContinueRunning: reason != ReasonUntoleratedNoExecute, Reason: reason, Message: msg}
	}
	return Decision{ShouldRun: true, ShouldContinueRunning: true}
}

// PodToleratesNodeTaints is the scheduler's taint filter (R24): ok when the
// pod tolerates every NoSchedule and NoExecute taint of node. Otherwise the
// reason is ReasonUntoleratedNoExecute if any NoExecute taint is untolerated,
// else ReasonUntoleratedNoSchedule, and the message lists the untolerated taints.
func PodToleratesNodeTaints(pod *corev1.Pod, node *corev1.Node) (ok bool, reason Reason, message string) {
	return taintsFit(node.Spec.Taints, pod.Spec.Tolerations)
}

// taintsFit checks the NoSchedule and NoExecute taints (R34). The reason is
// the NoExecute one whenever a NoExecute taint is untolerated, because that
// is what also decides ShouldContinueRunning.
func taintsFit(taints []corev1.Taint, tolerations []corev1.Toleration) (bool, Reason, string) {
	var untolerated []string
	reason := ReasonUntoleratedNoSchedule
	for i := range taints {
		if !NoScheduleOrNoExecute(&taints[i]) || tolerated(taints[i], tolerations) {
			continue
		}
		if NoExecute(&taints[i]) {
			reason = ReasonUntoleratedNoExecute
		}
		untolerated = append(untolerated, "{"+taints[i].ToString()+"}")
	}
	switch len(untolerated) {
	case 0:
		return true, "", ""
	case 1:
		return false, reason, "node has untolerated taint " + untolerated[0]
	default:
		return false, reason, "node has untolerated taints " + strings.Join(untolerated, ", ")
	}
}
