package nodelifecycle

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition reasons and messages written when a node falls silent (R62),
// as upstream.
const (
	ReasonNodeStatusUnknown      = "NodeStatusUnknown"
	ReasonNodeStatusNeverUpdated = "NodeStatusNeverUpdated"
	MessageStoppedPosting        = "Kubelet stopped posting node status."
	MessageNeverPosted           = "Kubelet never posted node status."
)

// silencedConditions are the conditions turned Unknown when a node falls
// silent. NetworkUnavailable belongs to the network plugin and stays.
var silencedConditions = [...]corev1.NodeConditionType{
	corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure,
}

// Health is what the controller remembers about one node between passes.
type Health struct {
	// ProbeTime is the controller-clock time of the last sign of life.
	ProbeTime time.Time
	// ReadyTransitionTime is when the controller last saw Ready change.
	ReadyTransitionTime time.Time
	// Ready is the Ready condition as last seen (nil: none posted).
	Ready *corev1.NodeCondition
	// LeaseRenew is the lease's renewTime as last seen (nil: no lease).
	LeaseRenew *metav1.MicroTime
}

// Timing holds the grace periods of R61.
type Timing struct {
	MonitorGrace time.Duration
	StartupGrace time.Duration
}

// Assessment is the outcome of looking at one node once.
type Assessment struct {
	// Health to remember, assuming Status (if any) gets written.
	Health Health
	// Grace is the grace period that applied.
	Grace time.Duration
	// Observed is the Ready condition the node posted; a made-up Unknown
	// one (reason empty) when it never posted one.
	Observed corev1.NodeCondition
	// Current is the Ready condition after this assessment: Observed, or
	// the Unknown one we write. Nil while a node that never posted Ready
	// is within its startup grace.
	Current *corev1.NodeCondition
	// Status, when not nil, is the node status to write (R62).
	Status *corev1.NodeStatus
}

// Assess decides whether a node is alive (R61) and, when it has been
// silent longer than its grace period, the status that says so (R62).
// prev is nil the first time the controller sees the node.
func Assess(node *corev1.Node, lease *coordinationv1.Lease, prev *Health, now time.Time, timing Timing) Assessment {
	ready := findCondition(node.Status.Conditions, corev1.NodeReady)
	var a Assessment
	var h Health
	if prev != nil {
		h = *prev
	}
	if ready == nil {
		a.Observed = corev1.NodeCondition{
			Type: corev1.NodeReady, Status: corev1.ConditionUnknown,
			LastHeartbeatTime: node.CreationTimestamp, LastTransitionTime: node.CreationTimestamp,
		}
		a.Grace = timing.StartupGrace
		if prev == nil {
			// Never heard of: the clock starts at the node's creation.
			h = Health{ProbeTime: node.CreationTimestamp.Time, ReadyTransitionTime: node.CreationTimestamp.Time}
			prev = &h
		}
	} else {
		a.Observed = *ready.DeepCopy()
		a.Grace = timing.MonitorGrace
	}

	switch {
	case prev == nil, prev.Ready == nil && ready != nil, prev.Ready != nil && ready == nil:
		// First sight of a posted Ready, or Ready vanished: start now.
		h = Health{ProbeTime: now, ReadyTransitionTime: now, LeaseRenew: h.LeaseRenew}
	case prev.Ready != nil && ready != nil && !prev.Ready.LastHeartbeatTime.Equal(&ready.LastHeartbeatTime):
		h.ProbeTime = now
		if !prev.Ready.LastTransitionTime.Equal(&ready.LastTransitionTime) {
			h.ReadyTransitionTime = now
		}
	}
	h.Ready = nil
	if ready != nil {
		h.Ready = ready.DeepCopy()
	}
	// A renewed lease is a sign of life even when status is never posted.
	if lease != nil && lease.Spec.RenewTime != nil && (h.LeaseRenew == nil || h.LeaseRenew.Before(lease.Spec.RenewTime)) {
		renew := *lease.Spec.RenewTime
		h.LeaseRenew = &renew
		h.ProbeTime = now
	}
	a.Health = h
	a.Current = h.Ready

	if !now.After(h.ProbeTime.Add(a.Grace)) {
		return a
	}
	status := node.Status.DeepCopy()
	stamp := metav1.NewTime(now)
	for _, typ := range silencedConditions {
		cond := findCondition(status.Conditions, typ)
		switch {
		case cond == nil:
			status.Conditions = append(status.Conditions, corev1.NodeCondition{
				Type: typ, Status: corev1.ConditionUnknown,
				Reason: ReasonNodeStatusNeverUpdated, Message: MessageNeverPosted,
				LastHeartbeatTime: node.CreationTimestamp, LastTransitionTime: stamp,
			})
		case cond.Status != corev1.ConditionUnknown:
			cond.Status = corev1.ConditionUnknown
			cond.Reason = ReasonNodeStatusUnknown
			cond.Message = MessageStoppedPosting
			cond.LastTransitionTime = stamp
		}
	}
	current := findCondition(status.Conditions, corev1.NodeReady)
	a.Current = current
	// Upstream writes only when Ready itself changes; the other
	// conditions ride along.
	if equality.Semantic.DeepEqual(*current, a.Observed) {
		return a
	}
	a.Status = status
	a.Health.Ready = current.DeepCopy()
	a.Health.ReadyTransitionTime = now
	return a
}

func findCondition(conds []corev1.NodeCondition, typ corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}
