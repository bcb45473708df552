package scheduler

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func created(sec int64) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.Unix(sec, 0) }
}

func terminating(p *corev1.Pod) {
	ts := metav1.NewTime(time.Unix(1000, 0))
	p.DeletionTimestamp = &ts
}

func TestPreempt(t *testing.T) {
	never := corev1.PreemptNever
	tests := []struct {
		name        string
		pod         *corev1.Pod
		nodes       []*corev1.Node
		bound       []*corev1.Pod
		wantPlan    string // Preemption.String(), "" when none
		wantMessage string // the full FitError message after preemption
	}{
		{
			name:        "R86 critical daemon pod on a full node evicts the lower-priority pod",
			pod:         pod("ds", "500m", "", pinTo("n1"), prio(2000001000)),
			nodes:       []*corev1.Node{node("n1", "1", "1Gi", 10), node("n2", "4", "4Gi", 10)},
			bound:       []*corev1.Pod{pod("web", "800m", "", on("n1"), prio(0))},
			wantPlan:    "node n1, victims [default/web]",
			wantMessage: "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't satisfy plugin(s) [NodeAffinity].",
		},
		{
			name:  "fewest victims: the big one goes, the small ones are reprieved",
			pod:   pod("p", "600m", "", prio(10)),
			nodes: []*corev1.Node{node("n1", "1", "1Gi", 10)},
			bound: []*corev1.Pod{
				pod("small1", "100m", "", on("n1"), prio(1)),
				pod("big", "700m", "", on("n1"), prio(1)),
				pod("small2", "100m", "", on("n1"), prio(1)),
			},
			wantPlan:    "node n1, victims [default/big]",
			wantMessage: "0/1 nodes are available: 1 Insufficient cpu.",
		},
		{
			name:  "lowest priority victims first: higher-priority pods are reprieved first",
			pod:   pod("p", "500m", "", prio(10)),
			nodes: []*corev1.Node{node("n1", "1", "1Gi", 10)},
			bound: []*corev1.Pod{
				pod("mid", "500m", "", on("n1"), prio(5)),
				pod("low", "500m", "", on("n1"), prio(1)),
			},
			wantPlan:    "node n1, victims [default/low]",
			wantMessage: "0/1 nodes are available: 1 Insufficient cpu.",
		},
		{
			name: "node whose most important victim has the lowest priority wins",
			pod:  pod("p", "500m", "", prio(10)),
			nodes: []*corev1.Node{
				node("a", "1", "1Gi", 10), node("b", "1", "1Gi", 10),
			},
			bound: []*corev1.Pod{
				pod("a-mid", "800m", "", on("a"), prio(5)),
				pod("b-low1", "400m", "", on("b"), prio(1)),
				pod("b-low2", "400m", "", on("b"), prio(1)),
			},
			wantPlan:    "node b, victims [default/b-low2]", // equal priority and age: b-low1 is reprieved first by name
			wantMessage: "0/2 nodes are available: 2 Insufficient cpu.",
		},
		{
			name:  "older pod of equal priority is reprieved first",
			pod:   pod("p", "500m", "", prio(10)),
			nodes: []*corev1.Node{node("n1", "1", "1Gi", 10)},
			bound: []*corev1.Pod{
				pod("young", "500m", "", on("n1"), prio(1), created(200)),
				pod("old", "500m", "", on("n1"), prio(1), created(100)),
			},
			wantPlan:    "node n1, victims [default/young]",
			wantMessage: "0/1 nodes are available: 1 Insufficient cpu.",
		},
		{
			name:        "host port conflict is resolved by preemption",
			pod:         pod("p", "", "", prio(10), hostPortOn(80, "", "")),
			nodes:       []*corev1.Node{node("n1", "1", "1Gi", 10)},
			bound:       []*corev1.Pod{pod("web", "", "", on("n1"), prio(0), hostPortOn(80, "", ""))},
			wantPlan:    "node n1, victims [default/web]",
			wantMessage: "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.",
		},
		{
			name:        "no lower-priority pods: no victims found",
			pod:         pod("p", "600m", "", prio(0)),
			nodes:       []*corev1.Node{node("n1", "1", "1Gi", 10)},
			bound:       []*corev1.Pod{pod("x", "500m", "", on("n1"), prio(0))},
			wantMessage: "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
		},
		{
			name:  "R24 taints: preemption is not helpful",
			pod:   pod("p", "", "", prio(100)),
			nodes: []*corev1.Node{node("n1", "1", "1Gi", 10, taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)), node("n2", "1", "1Gi", 10, cordoned)},
			bound: []*corev1.Pod{pod("x", "", "", on("n1"), prio(0))},
			wantMessage: "0/2 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable. " +
				"preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
		},
		{
			name:  "request above allocatable: preemption is not helpful",
			pod:   pod("p", "2", "", prio(100)),
			nodes: []*corev1.Node{node("n1", "1", "1Gi", 10)},
			bound: []*corev1.Pod{pod("x", "500m", "", on("n1"), prio(0))},
			wantMessage: "0/1 nodes are available: 1 Insufficient cpu. " +
				"preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
		},
		{
			name:  "removing every lower-priority pod is not enough: the filter's reason",
			pod:   pod("p", "800m", "", prio(10)),
			nodes: []*corev1.Node{node("n1", "1", "1Gi", 10)},
			bound: []*corev1.Pod{
				pod("low", "100m", "", on("n1"), prio(1)),
				pod("high", "500m", "", on("n1"), prio(100)),
			},
			wantMessage: "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu.",
		},
		{
			name:        "preemptionPolicy Never",
			pod:         pod("p", "600m", "", prio(10), func(p *corev1.Pod) { p.Spec.PreemptionPolicy = &never }),
			nodes:       []*corev1.Node{node("n1", "1", "1Gi", 10)},
			bound:       []*corev1.Pod{pod("x", "500m", "", on("n1"), prio(0))},
			wantMessage: "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.",
		},
		{
			name:  "victim still terminating on the nominated node: wait, do not preempt more",
			pod:   pod("p", "600m", "", prio(10), func(p *corev1.Pod) { p.Status.NominatedNodeName = "n1" }),
			nodes: []*corev1.Node{node("n1", "1", "1Gi", 10)},
			bound: []*corev1.Pod{
				pod("gone", "500m", "", on("n1"), prio(0), terminating),
				pod("other", "300m", "", on("n1"), prio(0)),
			},
			wantMessage: "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to a terminating pod on the nominated node.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := Cluster{Nodes: tt.nodes, PodsByNode: byNode(tt.bound...)}
			_, fitErr := Schedule(tt.pod, cl)
			if fitErr == nil {
				t.Fatal("pod fits without preemption; the case is wrong")
			}
			plan, msg := Preempt(tt.pod, cl, fitErr)
			fitErr.PostFilterMsg = msg
			gotPlan := ""
			if plan != nil {
				gotPlan = plan.String()
			}
			if diff := cmp.Diff(tt.wantPlan, gotPlan); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantMessage, fitErr.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}
