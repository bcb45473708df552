package cli

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestExplainRows(t *testing.T) {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "ns"},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			NodeSelector: map[string]string{"disk": "ssd"},
		}}},
	}
	node := func(name string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	ssd := map[string]string{"disk": "ssd"}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "d-x", Namespace: "ns"},
		Spec:       corev1.PodSpec{NodeName: "b"},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	rows := explainRows(ds, []*corev1.Node{
		node("c", nil),
		node("b", ssd, corev1.Taint{Key: "k", Effect: corev1.TaintEffectNoSchedule}),
		node("a", ssd),
	}, []*corev1.Pod{pod})
	want := []explanationRow{
		{Node: "a", ShouldRun: "yes", MayStay: "yes", Pod: "-", Phase: "-"},
		{Node: "b", ShouldRun: "no", MayStay: "yes", Pod: "d-x", Phase: "Running",
			Why: "UntoleratedNoScheduleTaint: node has untolerated taint {k:NoSchedule} (the running pod may stay: only NoExecute taints and selector changes remove it)"},
		{Node: "c", ShouldRun: "no", MayStay: "no", Pod: "-", Phase: "-",
			Why: "NodeSelectorMismatch: nodeSelector does not match: disk=ssd (node has no label disk)"},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Fatalf("rows (-want +got):\n%s", diff)
	}
}
