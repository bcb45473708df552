package podgc

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func onNode(n string) podOpt { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
func phase(ph corev1.PodPhase) podOpt {
	return func(p *corev1.Pod) { p.Status.Phase = ph }
}
func terminating() podOpt {
	return func(p *corev1.Pod) { ts := metav1.NewTime(t0); p.DeletionTimestamp = &ts }
}
func createdAt(sec int) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(t0.Add(time.Duration(sec) * time.Second)) }
}
func evictedPod() podOpt {
	return func(p *corev1.Pod) { p.Status.Phase, p.Status.Reason = corev1.PodFailed, "Evicted" }
}

func mkPod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name)}}
	p.Status.Phase = corev1.PodRunning
	for _, o := range opts {
		o(p)
	}
	return p
}

func mkNode(name string, ready bool, taints ...corev1.Taint) *corev1.Node {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}},
	}
}

var outOfService = corev1.Taint{Key: corev1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute}

// deleted summarises a plan as name → reason (and "+failed" when the pod
// is marked Failed first).
func summarise(plan []Deletion) []string {
	out := []string{}
	for _, d := range plan {
		s := d.Name + ":" + d.Reason
		if d.MarkFailed {
			s += "+failed"
		}
		if d.Condition != nil {
			s += "+" + string(d.Condition.Type) + "/" + d.Condition.Reason
		}
		out = append(out, s)
	}
	return out
}

func TestPlan(t *testing.T) {
	nodes := map[string]*corev1.Node{
		"ready": mkNode("ready", true),
		"oos":   mkNode("oos", false, outOfService),
		// Tainted but Ready: the node may still stop its pods itself.
		"oos-ready": mkNode("oos-ready", true, outOfService),
		"notready":  mkNode("notready", false),
	}
	cases := []struct {
		name string
		s    Snapshot
		want []string
	}{
		{
			name: "R93 pods bound to a verified-deleted node are marked failed and force-deleted",
			s: Snapshot{
				Pods:         []*corev1.Pod{mkPod("a", onNode("gone")), mkPod("b", onNode("ready")), mkPod("c", onNode("gone"), phase(corev1.PodSucceeded))},
				Nodes:        nodes,
				DeletedNodes: map[string]bool{"gone": true},
			},
			want: []string{"a:NodeDeleted+failed+DisruptionTarget/DeletionByPodGC", "c:NodeDeleted+DisruptionTarget/DeletionByPodGC"},
		},
		{
			name: "pods on a missing node still in quarantine stay",
			s:    Snapshot{Pods: []*corev1.Pod{mkPod("a", onNode("gone"))}, Nodes: nodes},
			want: []string{},
		},
		{
			name: "R74 terminating pods on a not-ready out-of-service node are force-deleted",
			s: Snapshot{
				Pods: []*corev1.Pod{
					mkPod("t-oos", onNode("oos"), terminating()),
					mkPod("live-oos", onNode("oos")),
					mkPod("t-oos-ready", onNode("oos-ready"), terminating()),
					mkPod("t-notready", onNode("notready"), terminating()),
				},
				Nodes: nodes,
			},
			want: []string{"t-oos:TerminatingOnOutOfServiceNode+failed"},
		},
		{
			name: "terminating pods never scheduled are force-deleted",
			s:    Snapshot{Pods: []*corev1.Pod{mkPod("u", terminating(), phase(corev1.PodPending)), mkPod("v", phase(corev1.PodPending))}, Nodes: nodes},
			want: []string{"u:TerminatingUnscheduled+failed"},
		},
		{
			name: "terminated pods beyond the threshold go, evicted first, then oldest",
			s: Snapshot{
				Pods: []*corev1.Pod{
					mkPod("new", onNode("ready"), phase(corev1.PodSucceeded), createdAt(30)),
					mkPod("old", onNode("ready"), phase(corev1.PodFailed), createdAt(10)),
					mkPod("evicted", onNode("ready"), evictedPod(), createdAt(40)),
					mkPod("mid", onNode("ready"), phase(corev1.PodSucceeded), createdAt(20)),
					mkPod("running", onNode("ready"), createdAt(0)),
				},
				Nodes:               nodes,
				TerminatedThreshold: 2,
			},
			want: []string{"evicted:TerminatedPodThreshold", "old:TerminatedPodThreshold"},
		},
		{
			name: "threshold disabled keeps terminated pods",
			s: Snapshot{
				Pods:                []*corev1.Pod{mkPod("a", onNode("ready"), phase(corev1.PodSucceeded))},
				Nodes:               nodes,
				TerminatedThreshold: -1,
			},
			want: []string{},
		},
		{
			name: "a pod matching several rules is deleted once, for the first",
			s: Snapshot{
				Pods:                []*corev1.Pod{mkPod("a", onNode("gone"), phase(corev1.PodFailed)), mkPod("b", onNode("gone"), phase(corev1.PodFailed))},
				Nodes:               nodes,
				DeletedNodes:        map[string]bool{"gone": true},
				TerminatedThreshold: 1,
			},
			want: []string{"a:TerminatedPodThreshold", "b:NodeDeleted+DisruptionTarget/DeletionByPodGC"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, summarise(Plan(tc.s))); diff != "" {
				t.Errorf("Plan mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOutOfService(t *testing.T) {
	cases := []struct {
		name string
		node *corev1.Node
		want bool
	}{
		{"not ready and tainted", mkNode("n", false, outOfService), true},
		{"ready and tainted", mkNode("n", true, outOfService), false},
		{"not ready, not tainted", mkNode("n", false), false},
		{"no Ready condition and tainted", &corev1.Node{Spec: corev1.NodeSpec{Taints: []corev1.Taint{outOfService}}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := OutOfService(tc.node); got != tc.want {
				t.Errorf("OutOfService = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestQuarantine(t *testing.T) {
	nodes := map[string]*corev1.Node{"here": mkNode("here", true)}
	pods := []*corev1.Pod{mkPod("a", onNode("gone")), mkPod("b", onNode("here")), mkPod("c", onNode("lost")), mkPod("d")}
	const q = 40 * time.Second
	var quarantine Quarantine

	steps := []struct {
		name string
		at   time.Duration
		pods []*corev1.Pod
		want []string
	}{
		{"first sight starts the quarantine", 0, pods, nil},
		{"still in quarantine", 39 * time.Second, pods, nil},
		{"quarantine over", 40 * time.Second, pods, []string{"gone", "lost"}},
		{"a node no pod names is forgotten", 41 * time.Second, pods[:2], []string{"gone"}},
		{"a forgotten node starts over", 42 * time.Second, pods, []string{"gone"}},
	}
	for _, s := range steps {
		got := quarantine.Due(s.pods, nodes, t0.Add(s.at), q)
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Fatalf("%s: Due at +%v mismatch (-want +got):\n%s", s.name, s.at, diff)
		}
	}
	quarantine.Forget("gone")
	if got := quarantine.Due(pods, nodes, t0.Add(43*time.Second), q); len(got) != 0 {
		t.Errorf("after Forget, Due = %v, want nothing until a new quarantine ends", got)
	}
}

func TestSetCondition(t *testing.T) {
	t1 := metav1.NewTime(t0.Add(time.Minute))
	old := metav1.NewTime(t0)
	dt := corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "DeletionByPodGC"}
	cases := []struct {
		name string
		in   []corev1.PodCondition
		want []corev1.PodCondition
	}{
		{"added", []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: old}},
			[]corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: old}, {Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "DeletionByPodGC", LastTransitionTime: t1}}},
		{"same status keeps its time", []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "Other", LastTransitionTime: old}},
			[]corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "DeletionByPodGC", LastTransitionTime: old}}},
		{"flipped status moves its time", []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionFalse, LastTransitionTime: old}},
			[]corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "DeletionByPodGC", LastTransitionTime: t1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := corev1.PodStatus{Conditions: tc.in}
			setCondition(&st, dt, t1)
			if diff := cmp.Diff(tc.want, st.Conditions); diff != "" {
				t.Errorf("setCondition mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
