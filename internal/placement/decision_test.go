package placement

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	notReady           = corev1.TaintNodeNotReady
	unreachable        = corev1.TaintNodeUnreachable
	unschedulable      = corev1.TaintNodeUnschedulable
	memoryPressure     = corev1.TaintNodeMemoryPressure
	diskPressure       = corev1.TaintNodeDiskPressure
	pidPressure        = corev1.TaintNodePIDPressure
	networkUnavailable = corev1.TaintNodeNetworkUnavailable
	outOfService       = corev1.TaintNodeOutOfService
)

func testNode(name string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: taints},
	}
}

func testDaemonSet(edits ...func(*corev1.PodSpec)) *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ds", Namespace: "default"},
		Spec: appsv1.DaemonSetSpec{
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "ds"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img"}}},
			},
		},
	}
	for _, edit := range edits {
		edit(&ds.Spec.Template.Spec)
	}
	return ds
}

func withNodeSelector(sel map[string]string) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) { s.NodeSelector = sel }
}

func withTerms(terms ...corev1.NodeSelectorTerm) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) {
		s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms},
		}}
	}
}

func withTolerations(tols ...corev1.Toleration) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) { s.Tolerations = tols }
}

func withNodeName(name string) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) { s.NodeName = name }
}

func withHostNetwork(s *corev1.PodSpec) { s.HostNetwork = true }

func expr(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

func exprs(reqs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchExpressions: reqs}
}

func fields(reqs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchFields: reqs}
}

// The three shapes a decision can take (R35): run, keep only, neither.
func runs() Decision            { return Decision{ShouldRun: true, ShouldContinueRunning: true} }
func keeps(r Reason) Decision   { return Decision{ShouldContinueRunning: true, Reason: r} }
func nothing(r Reason) Decision { return Decision{Reason: r} }

func TestDecide(t *testing.T) {
	notReadyNode := testNode("n1", nil, taint(notReady, "", ns), taint(notReady, "", ne))
	tests := []struct {
		name string
		node *corev1.Node
		ds   *appsv1.DaemonSet
		want Decision
		// wantMsg lists facts the message must contain.
		wantMsg []string
	}{
		{
			name: "T3#1 plain node, plain DS",
			node: testNode("n1", map[string]string{}),
			ds:   testDaemonSet(),
			want: runs(),
		},
		{
			name: "T3#2 nodeSelector matches",
			node: testNode("n1", map[string]string{"disk": "ssd"}),
			ds:   testDaemonSet(withNodeSelector(map[string]string{"disk": "ssd"})),
			want: runs(),
		},
		{
			name:    "T3#3 nodeSelector value differs",
			node:    testNode("n1", map[string]string{"disk": "hdd"}),
			ds:      testDaemonSet(withNodeSelector(map[string]string{"disk": "ssd"})),
			want:    nothing(ReasonNodeSelectorMismatch),
			wantMsg: []string{"disk=ssd", "node has disk=hdd"},
		},
		{
			name:    "T3#4 nodeSelector label absent",
			node:    testNode("n1", map[string]string{}),
			ds:      testDaemonSet(withNodeSelector(map[string]string{"disk": "ssd"})),
			want:    nothing(ReasonNodeSelectorMismatch),
			wantMsg: []string{"disk=ssd", "node has no label disk"},
		},
		{
			name: "T3#5 affinity terms are OR-ed",
			node: testNode("n1", map[string]string{"zone": "a"}),
			ds: testDaemonSet(withTerms(
				exprs(expr("zone", corev1.NodeSelectorOpIn, "b")),
				exprs(expr("zone", corev1.NodeSelectorOpIn, "a")),
			)),
			want: runs(),
		},
		{
			name: "T3#6 expressions within a term are AND-ed",
			node: testNode("n1", map[string]string{"zone": "a", "gpu": "true"}),
			ds: testDaemonSet(withTerms(exprs(
				expr("zone", corev1.NodeSelectorOpIn, "a"),
				expr("gpu", corev1.NodeSelectorOpDoesNotExist),
			))),
			want:    nothing(ReasonNodeAffinityMismatch),
			wantMsg: []string{"term 0", "gpu DoesNotExist", "node has gpu=true"},
		},
		{
			name: "T3#7 absent label satisfies NotIn",
			node: testNode("n1", map[string]string{}),
			ds:   testDaemonSet(withTerms(exprs(expr("zone", corev1.NodeSelectorOpNotIn, "a")))),
			want: runs(),
		},
		{
			name: "T3#8 Gt on a numeric label",
			node: testNode("n1", map[string]string{"cores": "16"}),
			ds:   testDaemonSet(withTerms(exprs(expr("cores", corev1.NodeSelectorOpGt, "8")))),
			want: runs(),
		},
		{
			name:    "T3#9 Gt on a non-numeric label",
			node:    testNode("n1", map[string]string{"cores": "many"}),
			ds:      testDaemonSet(withTerms(exprs(expr("cores", corev1.NodeSelectorOpGt, "8")))),
			want:    nothing(ReasonNodeAffinityMismatch),
			wantMsg: []string{"cores Gt [8]", "node has cores=many"},
		},
		{
			name:    "T3#10 matchFields metadata.name NotIn this node",
			node:    testNode("n1", nil),
			ds:      testDaemonSet(withTerms(fields(expr("metadata.name", corev1.NodeSelectorOpNotIn, "n1")))),
			want:    nothing(ReasonNodeAffinityMismatch),
			wantMsg: []string{"metadata.name NotIn [n1]", "node name is n1"},
		},
		{
			name:    "T3#11 matchFields metadata.name In another node",
			node:    testNode("n2", nil),
			ds:      testDaemonSet(withTerms(fields(expr("metadata.name", corev1.NodeSelectorOpIn, "n1")))),
			want:    nothing(ReasonNodeAffinityMismatch),
			wantMsg: []string{"metadata.name In [n1]", "node name is n2"},
		},
		{
			name:    "T3#12 a single empty term matches nothing",
			node:    testNode("n1", map[string]string{"a": "1"}),
			ds:      testDaemonSet(withTerms(corev1.NodeSelectorTerm{})),
			want:    nothing(ReasonNodeAffinityMismatch),
			wantMsg: []string{"term 0: empty term matches nothing"},
		},
		{
			name: "T3#13 nodeSelector and affinity must both hold",
			node: testNode("n1", map[string]string{"a": "1"}),
			ds: testDaemonSet(
				withNodeSelector(map[string]string{"a": "1"}),
				withTerms(exprs(expr("b", corev1.NodeSelectorOpExists))),
			),
			want:    nothing(ReasonNodeAffinityMismatch),
			wantMsg: []string{"b Exists", "node has no label b"},
		},
		{
			name:    "T3#14 template nodeName is another node",
			node:    testNode("n1", nil),
			ds:      testDaemonSet(withNodeName("n2")),
			want:    nothing(ReasonNodeNameMismatch),
			wantMsg: []string{`"n2"`, `"n1"`},
		},
		{
			name: "R31 template nodeName equal to the node continues",
			node: testNode("n1", nil),
			ds:   testDaemonSet(withNodeName("n1")),
			want: runs(),
		},
		{
			name:    "T3#15 untolerated NoSchedule: SR false, SCR true",
			node:    testNode("n1", nil, taint("dedicated", "x", ns)),
			ds:      testDaemonSet(),
			want:    keeps(ReasonUntoleratedNoSchedule),
			wantMsg: []string{"{dedicated=x:NoSchedule}"},
		},
		{
			name: "T3#16 NoSchedule tolerated by Exists",
			node: testNode("n1", nil, taint("dedicated", "x", ns)),
			ds:   testDaemonSet(withTolerations(tol("dedicated", opExists, "", ""))),
			want: runs(),
		},
		{
			name:    "T3#17 untolerated NoExecute: SR false, SCR false",
			node:    testNode("n1", nil, taint("dedicated", "x", ne)),
			ds:      testDaemonSet(),
			want:    nothing(ReasonUntoleratedNoExecute),
			wantMsg: []string{"{dedicated=x:NoExecute}"},
		},
		{
			name: "T3#18 NoExecute tolerated for 60s counts as tolerated",
			node: testNode("n1", nil, taint("dedicated", "x", ne)),
			ds: testDaemonSet(withTolerations(corev1.Toleration{
				Key: "dedicated", Operator: opExists, Effect: ne, TolerationSeconds: new(int64(60)),
			})),
			want: runs(),
		},
		{
			name: "T3#19 PreferNoSchedule is ignored",
			node: testNode("n1", nil, taint("dedicated", "x", pns)),
			ds:   testDaemonSet(),
			want: runs(),
		},
		{
			name: "T3#20 cordoned node: unschedulable taint is auto-tolerated",
			node: func() *corev1.Node {
				n := testNode("n1", nil, taint(unschedulable, "", ns))
				n.Spec.Unschedulable = true
				return n
			}(),
			ds:   testDaemonSet(),
			want: runs(),
		},
		{
			name: "T3#21 pressure taints are auto-tolerated",
			node: testNode("n1", nil, taint(memoryPressure, "", ns), taint(diskPressure, "", ns), taint(pidPressure, "", ns)),
			ds:   testDaemonSet(),
			want: runs(),
		},
		{
			name:    "T3#22 network-unavailable without hostNetwork: SR false, SCR true",
			node:    testNode("n1", nil, taint(networkUnavailable, "", ns)),
			ds:      testDaemonSet(),
			want:    keeps(ReasonUntoleratedNoSchedule),
			wantMsg: []string{"{node.kubernetes.io/network-unavailable:NoSchedule}"},
		},
		{
			name: "T3#23 network-unavailable with hostNetwork",
			node: testNode("n1", nil, taint(networkUnavailable, "", ns)),
			ds:   testDaemonSet(withHostNetwork),
			want: runs(),
		},
		{
			name: "T3#24 not-ready NoExecute alone is auto-tolerated",
			node: testNode("n1", nil, taint(notReady, "", ne)),
			ds:   testDaemonSet(),
			want: runs(),
		},
		{
			name:    "T3#25 not-ready NS+NE: SR false, SCR true",
			node:    notReadyNode,
			ds:      testDaemonSet(),
			want:    keeps(ReasonUntoleratedNoSchedule),
			wantMsg: []string{"{node.kubernetes.io/not-ready:NoSchedule}"},
		},
		{
			name: "T3#26 not-ready NS tolerated explicitly",
			node: notReadyNode,
			ds:   testDaemonSet(withTolerations(tol(notReady, opExists, "", ns))),
			want: runs(),
		},
		{
			name:    "T3#27 unreachable NS+NE: SR false, SCR true (never evicted)",
			node:    testNode("n1", nil, taint(unreachable, "", ns), taint(unreachable, "", ne)),
			ds:      testDaemonSet(),
			want:    keeps(ReasonUntoleratedNoSchedule),
			wantMsg: []string{"{node.kubernetes.io/unreachable:NoSchedule}"},
		},
		{
			name:    "T3#28 out-of-service NoExecute is not auto-tolerated",
			node:    testNode("n1", nil, taint(outOfService, "nodeshutdown", ne)),
			ds:      testDaemonSet(),
			want:    nothing(ReasonUntoleratedNoExecute),
			wantMsg: []string{"{node.kubernetes.io/out-of-service=nodeshutdown:NoExecute}"},
		},
		{
			name: "T3#29 tolerate-everything toleration",
			node: testNode("n1", nil,
				taint(notReady, "", ns), taint(unreachable, "", ne), taint(outOfService, "", ne),
				taint("dedicated", "x", ns), taint("a", "b", pns)),
			ds:   testDaemonSet(withTolerations(tol("", opExists, "", ""))),
			want: runs(),
		},
		{
			name: "T3#30 Ready=False condition without taints is ignored",
			node: func() *corev1.Node {
				n := testNode("n1", nil)
				n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse}}
				return n
			}(),
			ds:   testDaemonSet(),
			want: runs(),
		},
		{
			name: "T3#31 insufficient CPU is left to the scheduler",
			node: func() *corev1.Node {
				n := testNode("n1", nil)
				n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
				return n
			}(),
			ds: testDaemonSet(func(s *corev1.PodSpec) {
				s.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}
			}),
			want: runs(),
		},
		{
			name: "T3#32 Gt toleration on a numeric taint",
			node: testNode("n1", nil, taint("sla", "950", ns)),
			ds:   testDaemonSet(withTolerations(tol("sla", opGt, "900", ""))),
			want: runs(),
		},
		{
			name:    "R35 untolerated NS and NE together: NE decides, both listed",
			node:    testNode("n1", nil, taint("a", "", ns), taint("b", "1", ne)),
			ds:      testDaemonSet(),
			want:    nothing(ReasonUntoleratedNoExecute),
			wantMsg: []string{"untolerated taints {a:NoSchedule}, {b=1:NoExecute}"},
		},
		{
			name:    "R33 affinity failure wins over taints",
			node:    testNode("n1", nil, taint("a", "", ne)),
			ds:      testDaemonSet(withNodeSelector(map[string]string{"x": "y"})),
			want:    nothing(ReasonNodeSelectorMismatch),
			wantMsg: []string{"x=y"},
		},
		{
			name: "R51 a user toleration with tolerationSeconds replaced by the auto one still tolerates",
			node: testNode("n1", nil, taint(unreachable, "", ne)),
			ds: testDaemonSet(withTolerations(corev1.Toleration{
				Key: unreachable, Operator: opExists, Effect: ne, TolerationSeconds: new(int64(5)),
			})),
			want: runs(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodeBefore, dsBefore := tt.node.DeepCopy(), tt.ds.DeepCopy()
			got := Decide(tt.node, tt.ds)
			checkDecision(t, tt.want, tt.wantMsg, got)
			if diff := cmp.Diff(nodeBefore, tt.node); diff != "" {
				t.Errorf("Decide modified the node (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(dsBefore, tt.ds); diff != "" {
				t.Errorf("Decide modified the DaemonSet (-before +after):\n%s", diff)
			}
		})
	}
}

// checkDecision compares everything but the message exactly, and the
// message by the facts it must mention.
func checkDecision(t *testing.T, want Decision, wantMsg []string, got Decision) {
	t.Helper()
	msg := got.Message
	got.Message = ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decision (-want +got):\n%s\nmessage: %q", diff, msg)
	}
	if want.ShouldRun != (msg == "") {
		t.Errorf("message %q: want a message exactly when ShouldRun is false", msg)
	}
	for _, fact := range wantMsg {
		if !strings.Contains(msg, fact) {
			t.Errorf("message %q does not mention %q", msg, fact)
		}
	}
}

func TestPodToleratesNodeTaints(t *testing.T) {
	tests := []struct {
		name        string
		taints      []corev1.Taint
		tolerations []corev1.Toleration
		wantOK      bool
		wantReason  Reason
		wantMessage string
	}{
		{"R24 no taints", nil, nil, true, "", ""},
		{"R22 PNS never blocks", []corev1.Taint{taint("a", "", pns)}, nil, true, "", ""},
		{"R24 untolerated NS", []corev1.Taint{taint("a", "v", ns)}, nil, false, ReasonUntoleratedNoSchedule, "node has untolerated taint {a=v:NoSchedule}"},
		{"R24 untolerated NE", []corev1.Taint{taint("a", "", ne)}, nil, false, ReasonUntoleratedNoExecute, "node has untolerated taint {a:NoExecute}"},
		{
			"R24 no auto tolerations for plain pods",
			[]corev1.Taint{taint(unschedulable, "", ns)}, nil,
			false, ReasonUntoleratedNoSchedule, "node has untolerated taint {node.kubernetes.io/unschedulable:NoSchedule}",
		},
		{"R24 tolerated", []corev1.Taint{taint("a", "v", ne)}, []corev1.Toleration{tol("a", opEqual, "v", ne)}, true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: tt.tolerations}}
			ok, reason, msg := PodToleratesNodeTaints(pod, testNode("n1", nil, tt.taints...))
			type result struct {
				OK      bool
				Reason  Reason
				Message string
			}
			if diff := cmp.Diff(result{tt.wantOK, tt.wantReason, tt.wantMessage}, result{ok, reason, msg}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
