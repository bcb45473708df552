package admission

import (
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestNodeRestriction(t *testing.T) {
	node := func(name string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	pod := func(boundTo string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{NodeName: boundTo}}
	}
	lease := func(ns, name string) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	}
	taint := corev1.Taint{Key: "k", Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name     string
		op, sub  string
		obj, old runtime.Object
		want     string
	}{
		{"register own node with taints", "create", "", node("n1", taint), nil, ""},
		{"register another node", "create", "", node("n2"), nil, "node 'n1' cannot modify node 'n2'"},
		{"update own node status", "update", "status", node("n1"), node("n1"), ""},
		{"change own taints", "update", "", node("n1", taint), node("n1"), "node 'n1' is not allowed to modify taints"},
		{"update another node", "update", "", node("n2"), node("n2"), "node 'n1' cannot modify node 'n2'"},
		{"own lease", "create", "", lease("kube-node-lease", "n1"), nil, ""},
		{"another node's lease", "update", "", lease("kube-node-lease", "n2"), lease("kube-node-lease", "n2"), "node 'n1' cannot modify lease kube-node-lease/n2"},
		{"status of own pod", "update", "status", pod("n1"), pod("n1"), ""},
		{"status of another node's pod", "update", "status", pod("n2"), pod("n2"), "node 'n1' can only update pod status for pods with spec.nodeName set to itself"},
		{"delete own pod", "delete", "", nil, pod("n1"), ""},
		{"delete another node's pod", "delete", "", nil, pod("n2"), "node 'n1' can only delete pods for pods with spec.nodeName set to itself"},
		{"create pod", "create", "", pod("n1"), nil, "node 'n1' can not create pods"},
		{"update own pod spec", "update", "", pod("n1"), pod("n1"), "node 'n1' can only update pod status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, ok := NodeRestriction("n1", tc.op, tc.sub, tc.obj, tc.old)
			if ok != (tc.want == "") || msg != tc.want {
				t.Fatalf("got (%q, %v), want %q", msg, ok, tc.want)
			}
		})
	}
}
