package nodelifecycle

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	t0     = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	timing = Timing{MonitorGrace: 50 * time.Second, StartupGrace: 60 * time.Second}
)

func at(d time.Duration) time.Time { return t0.Add(d) }

func cond(typ corev1.NodeConditionType, status corev1.ConditionStatus, beat time.Time) corev1.NodeCondition {
	return corev1.NodeCondition{Type: typ, Status: status, LastHeartbeatTime: metav1.NewTime(beat), LastTransitionTime: metav1.NewTime(t0)}
}

func nodeWith(conds ...corev1.NodeCondition) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: metav1.NewTime(t0)},
		Status:     corev1.NodeStatus{Conditions: conds},
	}
}

func leaseRenewed(t time.Time) *coordinationv1.Lease {
	mt := metav1.NewMicroTime(t)
	return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{RenewTime: &mt}}
}

func conditionStatuses(st *corev1.NodeStatus) map[corev1.NodeConditionType]string {
	if st == nil {
		return nil
	}
	out := map[corev1.NodeConditionType]string{}
	for _, c := range st.Conditions {
		out[c.Type] = string(c.Status) + "/" + c.Reason + "/" + c.Message
	}
	return out
}

func TestAssess(t *testing.T) {
	ready := cond(corev1.NodeReady, corev1.ConditionTrue, t0)
	seen := &Health{ProbeTime: t0, ReadyTransitionTime: t0, Ready: &ready}
	stopped := "Unknown/" + ReasonNodeStatusUnknown + "/" + MessageStoppedPosting
	never := "Unknown/" + ReasonNodeStatusNeverUpdated + "/" + MessageNeverPosted
	cases := []struct {
		name       string
		node       *corev1.Node
		lease      *coordinationv1.Lease
		prev       *Health
		now        time.Time
		wantProbe  time.Time
		wantStatus map[corev1.NodeConditionType]string
	}{
		{
			name: "R61 first sight starts the probe clock now",
			node: nodeWith(ready), now: at(10 * time.Second), wantProbe: at(10 * time.Second),
		},
		{
			name: "T5#1 R61 silent node within grace (50s) stays as it is",
			node: nodeWith(ready), prev: seen, now: at(50 * time.Second), wantProbe: t0,
		},
		{
			name: "T5#1 R62 silent node past grace: Ready, pressures Unknown; NetworkUnavailable untouched",
			node: nodeWith(ready,
				cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, t0),
				cond(corev1.NodeDiskPressure, corev1.ConditionFalse, t0),
				cond(corev1.NodePIDPressure, corev1.ConditionFalse, t0),
				cond(corev1.NodeNetworkUnavailable, corev1.ConditionFalse, t0)),
			prev: seen, now: at(51 * time.Second), wantProbe: t0,
			wantStatus: map[corev1.NodeConditionType]string{
				corev1.NodeReady: stopped, corev1.NodeMemoryPressure: stopped, corev1.NodeDiskPressure: stopped,
				corev1.NodePIDPressure: stopped, corev1.NodeNetworkUnavailable: "False//",
			},
		},
		{
			name: "R62 conditions never posted get NodeStatusNeverUpdated",
			node: nodeWith(ready), prev: seen, now: at(51 * time.Second), wantProbe: t0,
			wantStatus: map[corev1.NodeConditionType]string{
				corev1.NodeReady: stopped, corev1.NodeMemoryPressure: never, corev1.NodeDiskPressure: never, corev1.NodePIDPressure: never,
			},
		},
		{
			name: "R61 a new heartbeat refreshes the probe",
			node: nodeWith(cond(corev1.NodeReady, corev1.ConditionTrue, at(40*time.Second))),
			prev: seen, now: at(60 * time.Second), wantProbe: at(60 * time.Second),
		},
		{
			name: "R61 a renewed lease refreshes the probe though status is stale",
			node: nodeWith(ready), lease: leaseRenewed(at(45 * time.Second)),
			prev: seen, now: at(60 * time.Second), wantProbe: at(60 * time.Second),
		},
		{
			name: "R61 a lease not renewed since last seen is no sign of life",
			node: nodeWith(ready), lease: leaseRenewed(t0),
			prev: &Health{ProbeTime: t0, ReadyTransitionTime: t0, Ready: &ready, LeaseRenew: &metav1.MicroTime{Time: t0}},
			now:  at(60 * time.Second), wantProbe: t0,
			wantStatus: map[corev1.NodeConditionType]string{
				corev1.NodeReady: stopped, corev1.NodeMemoryPressure: never, corev1.NodeDiskPressure: never, corev1.NodePIDPressure: never,
			},
		},
		{
			name: "R61 node that never posted Ready gets the startup grace (60s) from creation",
			node: nodeWith(), now: at(60 * time.Second), wantProbe: t0,
		},
		{
			name: "R61 R62 node that never posted Ready past startup grace: NodeStatusNeverUpdated",
			node: nodeWith(), prev: &Health{ProbeTime: t0, ReadyTransitionTime: t0}, now: at(61 * time.Second), wantProbe: t0,
			wantStatus: map[corev1.NodeConditionType]string{
				corev1.NodeReady: never, corev1.NodeMemoryPressure: never, corev1.NodeDiskPressure: never, corev1.NodePIDPressure: never,
			},
		},
		{
			name: "R62 lease renewed but status never posted: healthy, nothing written",
			node: nodeWith(), lease: leaseRenewed(at(100 * time.Second)),
			prev: &Health{ProbeTime: t0, ReadyTransitionTime: t0}, now: at(100 * time.Second), wantProbe: at(100 * time.Second),
		},
		{
			name: "R62 already Unknown with same heartbeat: nothing more to write",
			node: nodeWith(corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: ReasonNodeStatusUnknown, LastHeartbeatTime: metav1.NewTime(t0)}),
			prev: &Health{ProbeTime: t0, Ready: &corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, LastHeartbeatTime: metav1.NewTime(t0)}},
			now:  at(200 * time.Second), wantProbe: t0,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := Assess(tc.node, tc.lease, tc.prev, tc.now, timing)
			if diff := cmp.Diff(tc.wantProbe, a.Health.ProbeTime); diff != "" {
				t.Errorf("probe time (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantStatus, conditionStatuses(a.Status)); diff != "" {
				t.Errorf("status written (-want +got):\n%s", diff)
			}
			if a.Status != nil && (a.Current == nil || a.Current.Status != corev1.ConditionUnknown) {
				t.Errorf("Current = %+v, want the Unknown Ready condition written", a.Current)
			}
		})
	}
}

// TestAssessSequence follows T5 row 1/2: heartbeats stop at t=0, the
// monitor runs every 5s, Ready turns Unknown at the first pass after 50s.
func TestAssessSequence(t *testing.T) {
	node := nodeWith(cond(corev1.NodeReady, corev1.ConditionTrue, t0))
	var h *Health
	var unknownAt time.Duration
	for d := time.Duration(0); d <= 120*time.Second; d += 5 * time.Second {
		a := Assess(node, nil, h, at(d), timing)
		h = &a.Health
		if a.Status != nil {
			node = node.DeepCopy()
			node.Status = *a.Status
			if unknownAt == 0 {
				unknownAt = d
			} else {
				t.Errorf("status written again at %v", d)
			}
		}
	}
	if diff := cmp.Diff(55*time.Second, unknownAt); diff != "" {
		t.Errorf("T5#1 Ready=Unknown time (-want +got):\n%s", diff)
	}
}
