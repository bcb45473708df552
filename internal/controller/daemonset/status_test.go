package daemonset

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func labelsSelector(t *testing.T, ds *appsv1.DaemonSet) labels.Selector {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

func TestComputeStatus(t *testing.T) {
	w := label("role", "w")
	t10Nodes := []*corev1.Node{mkNode("n1", w), mkNode("n2", w), mkNode("n3", w), mkNode("n4"),
		mkNode("n5", w, taint("x", corev1.TaintEffectNoSchedule))}
	t10Pods := []*corev1.Pod{mkPod("p1", "n1", ready), mkPod("p2", "n2", hash("old")), mkPod("p4", "n4", ready), mkPod("p5", "n5", ready)}
	sel := nodeSelector("role", "w")
	cases := []struct {
		name string
		s    *Snapshot
		want Counters
	}{
		{"T10 R150-R155 table", snap(mkDS(sel), t10Nodes, t10Pods...),
			Counters{Desired: 3, Current: 2, Misscheduled: 2, Ready: 1, Available: 1, Unavailable: 2, Updated: 1}},
		{"T10a failed pod counts as current, not ready", snap(mkDS(), nodes("n1"), mkPod("f", "n1", phase(corev1.PodFailed))),
			Counters{Desired: 1, Current: 1, Unavailable: 1, Updated: 1}},
		{"T10b R155 surge: old pod first, node not updated yet",
			snap(mkDS(maxSurge(intstr.FromInt32(1))), nodes("n1"), mkPod("old", "n1", hash("hA"), ready, created(1)), mkPod("new", "n1", ready, created(2))),
			Counters{Desired: 1, Current: 1, Ready: 1, Available: 1}},
		{"T10c R121 minReadySeconds=60, ready 30s ago", snap(mkDS(minReady(60)), nodes("n1"), mkPod("a", "n1", readyFor(30))),
			Counters{Desired: 1, Current: 1, Ready: 1, Unavailable: 1, Updated: 1}},
		{"R121 boundary: ready exactly minReadySeconds ago is available", snap(mkDS(minReady(60)), nodes("n1"), mkPod("a", "n1", readyFor(60))),
			Counters{Desired: 1, Current: 1, Ready: 1, Available: 1, Updated: 1}},
		{"T10d node deleted while its pod is bound: ignored", snap(mkDS(), nodes("n1"), mkPod("a", "n1", ready), mkPod("b", "gone", ready)),
			Counters{Desired: 1, Current: 1, Ready: 1, Available: 1, Updated: 1}},
		{"R150 terminating pod counts as current", snap(mkDS(), nodes("n1"), mkPod("a", "n1", deleting)),
			Counters{Desired: 1, Current: 1, Unavailable: 1, Updated: 1}},
		{"R92 terminal pod being deleted is not counted", snap(mkDS(), nodes("n1"), mkPod("a", "n1", deleting, phase(corev1.PodSucceeded))),
			Counters{Desired: 1, Unavailable: 1}},
		{"R146 updated by template generation label", snap(mkDS(), nodes("n1"), mkPod("a", "n1", hash("zz"), func(p *corev1.Pod) { p.Labels[templateGenerationLabel] = "2" })),
			Counters{Desired: 1, Current: 1, Unavailable: 1, Updated: 1}},
		{"R151 pending pod on a node with SR=false is misscheduled", snap(mkDS(sel), nodes("n1"), mkPod("a", "n1", unbound, phase(corev1.PodPending))),
			Counters{Misscheduled: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, computeStatus(tc.s)); diff != "" {
				t.Errorf("computeStatus (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatusNeedsWrite(t *testing.T) {
	c := Counters{Desired: 1, Current: 1, Unavailable: 1}
	ds := mkDS()
	ds.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: 1, CurrentNumberScheduled: 1, NumberUnavailable: 1, ObservedGeneration: 2}
	if statusNeedsWrite(ds, c) {
		t.Error("R159 unchanged counters and observed generation: want no write")
	}
	stale := ds.DeepCopy()
	stale.Status.ObservedGeneration = 1
	if !statusNeedsWrite(stale, c) {
		t.Error("R159 observedGeneration behind generation: want a write")
	}
	if !statusNeedsWrite(ds, Counters{Desired: 2, Unavailable: 2}) {
		t.Error("R159 changed counters: want a write")
	}
}
