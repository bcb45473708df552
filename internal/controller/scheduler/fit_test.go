package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/everynode/everynode/internal/placement"
)

// node builds a node with allocatable cpu, memory and pods.
func node(name, cpu, mem string, pods int, mods ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse(cpu),
			corev1.ResourceMemory: resource.MustParse(mem),
			corev1.ResourcePods:   *resource.NewQuantity(int64(pods), resource.DecimalSI),
		}},
	}
	for _, m := range mods {
		m(n)
	}
	return n
}

func taint(key, value string, effect corev1.TaintEffect) func(*corev1.Node) {
	return func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	}
}

func label(key, value string) func(*corev1.Node) {
	return func(n *corev1.Node) { n.Labels[key] = value }
}

func cordoned(n *corev1.Node) { n.Spec.Unschedulable = true }

// pod builds a pod with one container requesting cpu and memory ("" for
// none).
func pod(name, cpu, mem string, mods ...func(*corev1.Pod)) *corev1.Pod {
	req := corev1.ResourceList{}
	if cpu != "" {
		req[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		req[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "busybox", Resources: corev1.ResourceRequirements{Requests: req},
		}}},
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

func tolerate(key, value string, effect corev1.TaintEffect) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpEqual, Value: value, Effect: effect})
	}
}

func selector(key, value string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		if p.Spec.NodeSelector == nil {
			p.Spec.NodeSelector = map[string]string{}
		}
		p.Spec.NodeSelector[key] = value
	}
}

func pinTo(nodeName string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { placement.PinToNode(&p.Spec, nodeName) }
}

func hostPortOn(port int32, proto corev1.Protocol, ip string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: port, HostPort: port, Protocol: proto, HostIP: ip})
	}
}

func prio(v int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Priority = &v }
}

func on(nodeName string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.NodeName = nodeName }
}

// byNode groups bound pods by spec.nodeName.
func byNode(pods ...*corev1.Pod) map[string][]*corev1.Pod {
	m := map[string][]*corev1.Pod{}
	for _, p := range pods {
		m[p.Spec.NodeName] = append(m[p.Spec.NodeName], p)
	}
	return m
}

func TestScheduleFilters(t *testing.T) {
	tests := []struct {
		name     string
		pod      *corev1.Pod
		nodes    []*corev1.Node
		bound    []*corev1.Pod
		wantNode string
		wantMsg  string
	}{
		{
			name:     "fits the only node",
			pod:      pod("p", "100m", "100Mi"),
			nodes:    []*corev1.Node{node("n1", "1", "1Gi", 10)},
			wantNode: "n1",
		},
		{
			name: "R24 untolerated NoSchedule taint filters the node",
			pod:  pod("p", "", ""),
			nodes: []*corev1.Node{
				node("gpu", "1", "1Gi", 10, taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
			},
			wantMsg: "0/1 nodes are available: 1 node(s) had untolerated taint(s).",
		},
		{
			name:     "R24 tolerated NoSchedule taint lets the pod in",
			pod:      pod("p", "", "", tolerate("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
			nodes:    []*corev1.Node{node("gpu", "1", "1Gi", 10, taint("dedicated", "gpu", corev1.TaintEffectNoSchedule))},
			wantNode: "gpu",
		},
		{
			name:    "R24 untolerated NoExecute taint filters the node",
			pod:     pod("p", "", "", tolerate("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
			nodes:   []*corev1.Node{node("n1", "1", "1Gi", 10, taint("dedicated", "gpu", corev1.TaintEffectNoExecute))},
			wantMsg: "0/1 nodes are available: 1 node(s) had untolerated taint(s).",
		},
		{
			name:     "R22 PreferNoSchedule taint never filters",
			pod:      pod("p", "", ""),
			nodes:    []*corev1.Node{node("n1", "1", "1Gi", 10, taint("a", "b", corev1.TaintEffectPreferNoSchedule))},
			wantNode: "n1",
		},
		{
			name:    "nodeSelector mismatch",
			pod:     pod("p", "", "", selector("disk", "ssd")),
			nodes:   []*corev1.Node{node("n1", "1", "1Gi", 10, label("disk", "hdd"))},
			wantMsg: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
		},
		{
			name:     "nodeSelector match",
			pod:      pod("p", "", "", selector("disk", "ssd")),
			nodes:    []*corev1.Node{node("n1", "1", "1Gi", 10, label("disk", "hdd")), node("n2", "1", "1Gi", 10, label("disk", "ssd"))},
			wantNode: "n2",
		},
		{
			name:    "cordoned node is unschedulable",
			pod:     pod("p", "", ""),
			nodes:   []*corev1.Node{node("n1", "1", "1Gi", 10, cordoned)},
			wantMsg: "0/1 nodes are available: 1 node(s) were unschedulable.",
		},
		{
			name:     "cordoned node accepts a pod tolerating unschedulable:NoSchedule",
			pod:      pod("p", "", "", func(p *corev1.Pod) { p.Spec.Tolerations = placement.DaemonPodTolerations(p.Spec) }),
			nodes:    []*corev1.Node{node("n1", "1", "1Gi", 10, cordoned)},
			wantNode: "n1",
		},
		{
			name:    "unschedulable is checked before taints, as upstream orders filters",
			pod:     pod("p", "", ""),
			nodes:   []*corev1.Node{node("n1", "1", "1Gi", 10, cordoned, taint("node.kubernetes.io/unschedulable", "", corev1.TaintEffectNoSchedule))},
			wantMsg: "0/1 nodes are available: 1 node(s) were unschedulable.",
		},
		{
			name:    "insufficient cpu counts bound pods' requests",
			pod:     pod("p", "600m", ""),
			nodes:   []*corev1.Node{node("n1", "1", "1Gi", 10)},
			bound:   []*corev1.Pod{pod("other", "500m", "", on("n1"))},
			wantMsg: "0/1 nodes are available: 1 Insufficient cpu.",
		},
		{
			name:     "terminal pods hold nothing, so the pod fits",
			pod:      pod("p", "600m", ""),
			nodes:    []*corev1.Node{node("n1", "1", "1Gi", 10)},
			bound:    nil, // the controller leaves Succeeded/Failed pods out of the snapshot
			wantNode: "n1",
		},
		{
			name:    "several insufficient resources are all reported, pods first",
			pod:     pod("p", "2", "2Gi"),
			nodes:   []*corev1.Node{node("n1", "1", "1Gi", 1)},
			bound:   []*corev1.Pod{pod("other", "", "", on("n1"))},
			wantMsg: "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 Too many pods.",
		},
		{
			name: "init container request larger than the containers' sum counts",
			pod: pod("p", "100m", "", func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}}}
			}),
			nodes:   []*corev1.Node{node("n1", "1", "1Gi", 10)},
			wantMsg: "0/1 nodes are available: 1 Insufficient cpu.",
		},
		{
			name: "overhead counts",
			pod: pod("p", "900m", "", func(p *corev1.Pod) {
				p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m")}
			}),
			nodes:   []*corev1.Node{node("n1", "1", "1Gi", 10)},
			wantMsg: "0/1 nodes are available: 1 Insufficient cpu.",
		},
		{
			name: "extended resource the node lacks",
			pod: pod("p", "", "", func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources.Requests["example.com/gpu"] = resource.MustParse("1")
			}),
			nodes:   []*corev1.Node{node("n1", "1", "1Gi", 10)},
			wantMsg: "0/1 nodes are available: 1 Insufficient example.com/gpu.",
		},
		{
			name:    "host port taken on the node",
			pod:     pod("p", "", "", hostPortOn(80, "", "")),
			nodes:   []*corev1.Node{node("n1", "1", "1Gi", 10)},
			bound:   []*corev1.Pod{pod("web", "", "", on("n1"), hostPortOn(80, corev1.ProtocolTCP, "10.0.0.1"))},
			wantMsg: "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.",
		},
		{
			name:     "same host port with another protocol is free",
			pod:      pod("p", "", "", hostPortOn(53, corev1.ProtocolUDP, "")),
			nodes:    []*corev1.Node{node("n1", "1", "1Gi", 10)},
			bound:    []*corev1.Pod{pod("dns", "", "", on("n1"), hostPortOn(53, corev1.ProtocolTCP, ""))},
			wantNode: "n1",
		},
		{
			name:     "same host port on another host IP is free",
			pod:      pod("p", "", "", hostPortOn(80, "", "10.0.0.2")),
			nodes:    []*corev1.Node{node("n1", "1", "1Gi", 10)},
			bound:    []*corev1.Pod{pod("web", "", "", on("n1"), hostPortOn(80, "", "10.0.0.1"))},
			wantNode: "n1",
		},
		{
			name: "R86 pinned daemon pod: other nodes didn't satisfy NodeAffinity",
			pod:  pod("ds-x", "2", "", pinTo("n2")),
			nodes: []*corev1.Node{
				node("n1", "4", "1Gi", 10), node("n2", "1", "1Gi", 10), node("n3", "4", "1Gi", 10),
			},
			wantMsg: "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity].",
		},
		{
			name:     "R190 pinned daemon pod binds to its node even if others score better",
			pod:      pod("ds-x", "100m", "", pinTo("n2")),
			nodes:    []*corev1.Node{node("n1", "4", "1Gi", 10), node("n2", "1", "1Gi", 10)},
			wantNode: "n2",
		},
		{
			name:    "R86 pinned to a node that does not exist",
			pod:     pod("ds-x", "", "", pinTo("gone")),
			nodes:   []*corev1.Node{node("n1", "1", "1Gi", 10), node("n2", "1", "1Gi", 10)},
			wantMsg: "0/2 nodes are available: 2 node(s) didn't satisfy plugin(s) [NodeAffinity].",
		},
		{
			name: "mixed reasons are a histogram sorted as strings",
			pod:  pod("p", "", "", selector("zone", "a")),
			nodes: []*corev1.Node{
				node("gpu", "1", "1Gi", 10, label("zone", "a"), taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
				node("n1", "1", "1Gi", 10, label("zone", "b")),
				node("n2", "1", "1Gi", 10),
			},
			wantMsg: "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 node(s) didn't match Pod's node affinity/selector.",
		},
		{
			name:    "no nodes",
			pod:     pod("p", "", ""),
			wantMsg: "0/0 nodes are available:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, fitErr := Schedule(tt.pod, Cluster{Nodes: tt.nodes, PodsByNode: byNode(tt.bound...)})
			gotMsg := ""
			if fitErr != nil {
				gotMsg = fitErr.Error()
			}
			if diff := cmp.Diff(tt.wantNode, got); diff != "" {
				t.Errorf("node (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantMsg, gotMsg); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScheduleScoring(t *testing.T) {
	tests := []struct {
		name  string
		pod   *corev1.Pod
		nodes []*corev1.Node
		bound []*corev1.Pod
		// nominated are pending pods waiting for room, by node.
		nominated map[string][]*corev1.Pod
		want      string
	}{
		{
			name:  "ties broken by node name",
			pod:   pod("p", "100m", "100Mi"),
			nodes: []*corev1.Node{node("b", "1", "1Gi", 10), node("a", "1", "1Gi", 10)},
			want:  "a",
		},
		{
			name:  "least allocated wins",
			pod:   pod("p", "100m", "100Mi"),
			nodes: []*corev1.Node{node("a", "1", "1Gi", 10), node("b", "1", "1Gi", 10)},
			bound: []*corev1.Pod{pod("x", "500m", "100Mi", on("a"))},
			want:  "b",
		},
		{
			name:  "bigger node is less allocated",
			pod:   pod("p", "500m", "512Mi"),
			nodes: []*corev1.Node{node("a", "1", "1Gi", 10), node("b", "4", "4Gi", 10)},
			want:  "b",
		},
		{
			name: "R22 fewer untolerated PreferNoSchedule taints beats less allocated",
			pod:  pod("p", "100m", ""),
			nodes: []*corev1.Node{
				node("a", "8", "8Gi", 10, taint("k", "v", corev1.TaintEffectPreferNoSchedule)),
				node("b", "1", "1Gi", 10),
			},
			want: "b",
		},
		{
			name: "R22 a tolerated PreferNoSchedule taint does not count",
			pod:  pod("p", "100m", "", tolerate("k", "v", corev1.TaintEffectPreferNoSchedule)),
			nodes: []*corev1.Node{
				node("a", "8", "8Gi", 10, taint("k", "v", corev1.TaintEffectPreferNoSchedule)),
				node("b", "1", "1Gi", 10),
			},
			want: "a",
		},
		{
			name:      "nominated pods of higher priority hold their room",
			pod:       pod("p", "600m", "", prio(0)),
			nodes:     []*corev1.Node{node("a", "1", "1Gi", 10), node("b", "1", "1Gi", 10)},
			bound:     []*corev1.Pod{pod("x", "300m", "", on("b"))},
			nominated: map[string][]*corev1.Pod{"a": {pod("waiting", "600m", "", prio(10))}},
			want:      "b",
		},
		{
			name:      "nominated pods of lower priority do not hold room against a higher one",
			pod:       pod("p", "600m", "", prio(20)),
			nodes:     []*corev1.Node{node("a", "1", "1Gi", 10), node("b", "1", "1Gi", 10)},
			bound:     []*corev1.Pod{pod("x", "300m", "", on("b"))},
			nominated: map[string][]*corev1.Pod{"a": {pod("waiting", "600m", "", prio(10))}},
			want:      "a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := Cluster{Nodes: tt.nodes, PodsByNode: byNode(tt.bound...), NominatedByNode: tt.nominated}
			got, fitErr := Schedule(tt.pod, cl)
			if fitErr != nil {
				t.Fatalf("unexpected fit error: %v", fitErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("node (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPinnedNodes(t *testing.T) {
	in := func(vals ...string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: vals}
	}
	withTerms := func(terms ...corev1.NodeSelectorTerm) *corev1.Pod {
		return pod("p", "", "", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
		})
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []string // nil: not restricted
	}{
		{name: "no affinity", pod: pod("p", "", "")},
		{name: "R86 PinToNode", pod: pod("p", "", "", pinTo("n1")), want: []string{"n1"}},
		{name: "terms are OR-ed", pod: withTerms(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{in("a")}},
			corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{in("b")}}), want: []string{"a", "b"}},
		{name: "requirements are AND-ed", pod: withTerms(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{in("a", "b"), in("b", "c")}}),
			want: []string{"b"}},
		{name: "a term without name restriction frees every node", pod: withTerms(
			corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{in("a")}},
			corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpExists}}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			if s := pinnedNodes(tt.pod); s != nil {
				got = sets.List(s)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("pinned nodes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetCondition(t *testing.T) {
	t0 := metav1.Unix(100, 0)
	now := metav1.Unix(200, 0)
	unsched := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "m"}
	tests := []struct {
		name        string
		have        []corev1.PodCondition
		set         corev1.PodCondition
		wantChanged bool
		want        []corev1.PodCondition
	}{
		{
			name: "added", set: unsched, wantChanged: true,
			want: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "m", LastTransitionTime: now}},
		},
		{
			name:        "unchanged is not rewritten",
			have:        []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "m", LastTransitionTime: t0}},
			set:         unsched,
			wantChanged: false,
			want:        []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "m", LastTransitionTime: t0}},
		},
		{
			name:        "new message keeps the transition time",
			have:        []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "old", LastTransitionTime: t0}},
			set:         unsched,
			wantChanged: true,
			want:        []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "m", LastTransitionTime: t0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := corev1.PodStatus{Conditions: tt.have}
			changed := setCondition(&st, tt.set, now.Time)
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if diff := cmp.Diff(tt.want, st.Conditions); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
		})
	}
}
