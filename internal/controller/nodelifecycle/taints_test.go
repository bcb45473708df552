package nodelifecycle

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ns(key string) corev1.Taint {
	return corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule}
}

func TestReconcileConditionTaints(t *testing.T) {
	c := func(typ corev1.NodeConditionType, s corev1.ConditionStatus) corev1.NodeCondition {
		return corev1.NodeCondition{Type: typ, Status: s}
	}
	user := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	cases := []struct {
		name       string
		conds      []corev1.NodeCondition
		cordoned   bool
		taints     []corev1.Taint
		wantAdd    []corev1.Taint
		wantRemove []corev1.Taint
	}{
		{name: "R63 Ready=True, no pressure: nothing", conds: []corev1.NodeCondition{c(corev1.NodeReady, corev1.ConditionTrue)}},
		{name: "R63 Ready=False adds not-ready", conds: []corev1.NodeCondition{c(corev1.NodeReady, corev1.ConditionFalse)}, wantAdd: []corev1.Taint{ns(corev1.TaintNodeNotReady)}},
		{name: "R63 Ready=Unknown adds unreachable", conds: []corev1.NodeCondition{c(corev1.NodeReady, corev1.ConditionUnknown)}, wantAdd: []corev1.Taint{ns(corev1.TaintNodeUnreachable)}},
		{name: "R63 MemoryPressure=True", conds: []corev1.NodeCondition{c(corev1.NodeMemoryPressure, corev1.ConditionTrue)}, wantAdd: []corev1.Taint{ns(corev1.TaintNodeMemoryPressure)}},
		{name: "R63 DiskPressure=True", conds: []corev1.NodeCondition{c(corev1.NodeDiskPressure, corev1.ConditionTrue)}, wantAdd: []corev1.Taint{ns(corev1.TaintNodeDiskPressure)}},
		{name: "R63 PIDPressure=True", conds: []corev1.NodeCondition{c(corev1.NodePIDPressure, corev1.ConditionTrue)}, wantAdd: []corev1.Taint{ns(corev1.TaintNodePIDPressure)}},
		{name: "R63 NetworkUnavailable=True", conds: []corev1.NodeCondition{c(corev1.NodeNetworkUnavailable, corev1.ConditionTrue)}, wantAdd: []corev1.Taint{ns(corev1.TaintNodeNetworkUnavailable)}},
		{name: "R63 R68 cordon adds unschedulable NoSchedule only", cordoned: true, wantAdd: []corev1.Taint{ns(corev1.TaintNodeUnschedulable)}},
		{name: "R63 pressure False or Unknown adds nothing", conds: []corev1.NodeCondition{c(corev1.NodeMemoryPressure, corev1.ConditionUnknown), c(corev1.NodeDiskPressure, corev1.ConditionFalse)}},
		{
			name:       "R63 Ready back to True removes unreachable, keeps user and NoExecute taints",
			conds:      []corev1.NodeCondition{c(corev1.NodeReady, corev1.ConditionTrue)},
			taints:     []corev1.Taint{user, ns(corev1.TaintNodeUnreachable), UnreachableNoExecute},
			wantRemove: []corev1.Taint{ns(corev1.TaintNodeUnreachable)},
		},
		{
			name:       "R65 Ready False to Unknown swaps not-ready for unreachable",
			conds:      []corev1.NodeCondition{c(corev1.NodeReady, corev1.ConditionUnknown)},
			taints:     []corev1.Taint{ns(corev1.TaintNodeNotReady)},
			wantAdd:    []corev1.Taint{ns(corev1.TaintNodeUnreachable)},
			wantRemove: []corev1.Taint{ns(corev1.TaintNodeNotReady)},
		},
		{
			name:   "R63 present taint with timeAdded is kept",
			conds:  []corev1.NodeCondition{c(corev1.NodeReady, corev1.ConditionFalse)},
			taints: []corev1.Taint{{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule, TimeAdded: &metav1.Time{}}},
		},
		{
			name:       "R63 uncordon removes unschedulable",
			taints:     []corev1.Taint{ns(corev1.TaintNodeUnschedulable)},
			wantRemove: []corev1.Taint{ns(corev1.TaintNodeUnschedulable)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			node := &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: tc.cordoned, Taints: tc.taints}, Status: corev1.NodeStatus{Conditions: tc.conds}}
			add, remove := ReconcileConditionTaints(node)
			if diff := cmp.Diff(tc.wantAdd, add, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("add (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRemove, remove, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("remove (-want +got):\n%s", diff)
			}
			// Applying the result reaches the fixed point.
			node.Spec.Taints, _ = SwapTaints(node.Spec.Taints, add, remove)
			if a2, r2 := ReconcileConditionTaints(node); len(a2)+len(r2) != 0 {
				t.Errorf("second reconcile not empty: add %v remove %v", a2, r2)
			}
		})
	}
}

func TestSwapTaints(t *testing.T) {
	user := corev1.Taint{Key: "maint", Effect: corev1.TaintEffectNoExecute}
	cases := []struct {
		name        string
		taints      []corev1.Taint
		add, remove []corev1.Taint
		want        []corev1.Taint
		wantChanged bool
	}{
		{"R65 swap unreachable for not-ready", []corev1.Taint{user, UnreachableNoExecute}, []corev1.Taint{NotReadyNoExecute}, []corev1.Taint{UnreachableNoExecute}, []corev1.Taint{user, NotReadyNoExecute}, true},
		{"R65 removing an absent taint changes nothing", []corev1.Taint{user}, nil, []corev1.Taint{UnreachableNoExecute}, []corev1.Taint{user}, false},
		{"R65 adding a present taint changes nothing", []corev1.Taint{NotReadyNoExecute}, []corev1.Taint{NotReadyNoExecute}, nil, []corev1.Taint{NotReadyNoExecute}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := SwapTaints(tc.taints, tc.add, tc.remove)
			if diff := cmp.Diff(tc.want, got); diff != "" || changed != tc.wantChanged {
				t.Errorf("SwapTaints changed=%v want %v (-want +got):\n%s", changed, tc.wantChanged, diff)
			}
		})
	}
}

func TestNoExecuteFor(t *testing.T) {
	cases := []struct {
		name   string
		status corev1.ConditionStatus
		add    corev1.Taint
		ok     bool
	}{
		{"R65 Ready=False gets not-ready:NoExecute", corev1.ConditionFalse, NotReadyNoExecute, true},
		{"R65 Ready=Unknown gets unreachable:NoExecute", corev1.ConditionUnknown, UnreachableNoExecute, true},
		{"T5#16 Ready=True again before the taint: none", corev1.ConditionTrue, corev1.Taint{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			add, _, ok := NoExecuteFor(nodeWith(corev1.NodeCondition{Type: corev1.NodeReady, Status: tc.status}))
			if diff := cmp.Diff(tc.add, add); diff != "" || ok != tc.ok {
				t.Errorf("ok=%v want %v (-want +got):\n%s", ok, tc.ok, diff)
			}
		})
	}
}
