package placement

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

const (
	ns  = corev1.TaintEffectNoSchedule
	pns = corev1.TaintEffectPreferNoSchedule
	ne  = corev1.TaintEffectNoExecute

	opEqual  = corev1.TolerationOpEqual
	opExists = corev1.TolerationOpExists
	opLt     = corev1.TolerationOpLt
	opGt     = corev1.TolerationOpGt
)

func taint(key, value string, effect corev1.TaintEffect) corev1.Taint {
	return corev1.Taint{Key: key, Value: value, Effect: effect}
}

func tol(key string, op corev1.TolerationOperator, value string, effect corev1.TaintEffect) corev1.Toleration {
	return corev1.Toleration{Key: key, Operator: op, Value: value, Effect: effect}
}

func TestToleratesTaint(t *testing.T) {
	tests := []struct {
		name  string
		taint corev1.Taint
		tol   corev1.Toleration
		want  bool
	}{
		{"T1#1 Equal with value and effect", taint("k", "v", ns), tol("k", opEqual, "v", ns), true},
		{"T1#2 Exists with effect", taint("k", "v", ns), tol("k", opExists, "", ns), true},
		{"T1#3 Exists with empty effect matches every effect", taint("k", "v", ns), tol("k", opExists, "", ""), true},
		{"T1#4 effect differs", taint("k", "v", ns), tol("k", opExists, "", ne), false},
		{"T1#5 empty key and effect tolerates everything", taint("k", "v", ns), tol("", opExists, "", ""), true},
		{"T1#6 empty key but effect differs", taint("k", "v", ne), tol("", opExists, "", ns), false},
		{"T1#7 empty operator means Equal", taint("k", "v", ns), tol("k", "", "v", ns), true},
		{"T1#8 Equal with other value", taint("k", "v", ns), tol("k", opEqual, "w", ""), false},
		{"T1#9 Equal empty value matches empty taint value", taint("k", "", ns), tol("k", opEqual, "", ""), true},
		{"R4 Equal empty value does not match non-empty taint value", taint("k", "x", ns), tol("k", opEqual, "", ""), false},
		{"T1#10 keys are case-sensitive", taint("K", "v", ns), tol("k", opExists, "", ""), false},
		{"T1#11 Gt 950 > 900", taint("sla", "950", ns), tol("sla", opGt, "900", ""), true},
		{"T1#12 Lt 950 < 900 is false", taint("sla", "950", ns), tol("sla", opLt, "900", ""), false},
		{"T1#13 Lt 800 < 950", taint("sla", "800", ns), tol("sla", opLt, "950", ""), true},
		{"T1#14 Gt equal numbers never match", taint("sla", "950", ns), tol("sla", opGt, "950", ""), false},
		{"R10 Lt equal numbers never match", taint("sla", "950", ns), tol("sla", opLt, "950", ""), false},
		{"T1#15 taint value not numeric", taint("sla", "high", ns), tol("sla", opGt, "1", ""), false},
		{"T1#16 leading zero in taint value is not canonical", taint("sla", "0950", ns), tol("sla", opLt, "1000", ""), false},
		{"T1#17 negative taint value", taint("sla", "-50", ns), tol("sla", opLt, "0", ""), true},
		// Upstream with the gate off says N; everynode always enables Lt/Gt.
		{"T1#18 D4 Gt works without any gate", taint("sla", "950", ns), tol("sla", opGt, "900", ns), true},
		{"R10 key rule applies before Gt", taint("other", "950", ns), tol("sla", opGt, "900", ""), false},
		{"R10 effect rule applies before Gt", taint("sla", "950", ne), tol("sla", opGt, "900", ns), false},
		{"R10 empty key Gt compares any key", taint("any", "5", ns), tol("", opGt, "4", ""), true},
		{"R11 leading zero in toleration value", taint("sla", "950", ns), tol("sla", opGt, "0900", ""), false},
		{"R11 plus sign", taint("sla", "+950", ns), tol("sla", opGt, "900", ""), false},
		{"R11 minus zero", taint("sla", "-0", ns), tol("sla", opLt, "1", ""), false},
		{"R11 literal zero", taint("sla", "0", ns), tol("sla", opLt, "1", ""), true},
		{"R11 space", taint("sla", " 950", ns), tol("sla", opGt, "900", ""), false},
		{"R11 decimal", taint("sla", "950.0", ns), tol("sla", opGt, "900", ""), false},
		{"R11 empty taint value", taint("sla", "", ns), tol("sla", opLt, "900", ""), false},
		{"R11 int64 overflow", taint("sla", "9223372036854775808", ns), tol("sla", opGt, "0", ""), false},
		{"R11 int64 max", taint("sla", "9223372036854775807", ns), tol("sla", opGt, "9223372036854775806", ""), true},
		{"R11 int64 min", taint("sla", "-9223372036854775808", ns), tol("sla", opLt, "-9223372036854775807", ""), true},
		{"R5 unknown operator never matches", taint("k", "v", ns), tol("k", "In", "v", ""), false},
		{"R5 lower-case operator never matches", taint("k", "v", ns), tol("k", "exists", "", ""), false},
		{"R6 tolerationSeconds plays no role", taint("k", "v", ne), corev1.Toleration{Key: "k", Operator: opExists, Effect: ne, TolerationSeconds: new(int64)}, true},
		{"R1 PreferNoSchedule toleration matches only PNS", taint("k", "v", pns), tol("k", opExists, "", pns), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ToleratesTaint(tt.tol, tt.taint); got != tt.want {
				t.Errorf("ToleratesTaint(%+v, %+v) = %v, want %v", tt.tol, tt.taint, got, tt.want)
			}
		})
	}
}

func TestFindUntoleratedTaint(t *testing.T) {
	taints := []corev1.Taint{
		taint("a", "", pns),
		taint("b", "", ns),
		taint("c", "", ne),
	}
	tests := []struct {
		name        string
		tolerations []corev1.Toleration
		filter      func(*corev1.Taint) bool
		wantTaint   corev1.Taint
		wantFound   bool
	}{
		{"R8 NS|NE filter skips PNS, first untolerated is NS", nil, NoScheduleOrNoExecute, taint("b", "", ns), true},
		{"R8 NE filter", nil, NoExecute, taint("c", "", ne), true},
		{"R7 nil filter considers every taint", nil, nil, taint("a", "", pns), true},
		{"R7 every NE tolerated", []corev1.Toleration{tol("c", opExists, "", "")}, NoExecute, corev1.Taint{}, false},
		{"R7 tolerations OR-ed per taint, taints AND-ed", []corev1.Toleration{tol("b", opExists, "", ""), tol("x", opExists, "", "")}, NoScheduleOrNoExecute, taint("c", "", ne), true},
		{"R7 each taint tolerated by a different toleration", []corev1.Toleration{tol("b", opExists, "", ""), tol("c", opExists, "", "")}, NoScheduleOrNoExecute, corev1.Taint{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := FindUntoleratedTaint(taints, tt.tolerations, tt.filter)
			if found != tt.wantFound {
				t.Errorf("found = %v, want %v", found, tt.wantFound)
			}
			if diff := cmp.Diff(tt.wantTaint, got); diff != "" {
				t.Errorf("taint (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCountIntolerablePreferNoSchedule(t *testing.T) {
	taints := []corev1.Taint{
		taint("a", "1", pns),
		taint("b", "", pns),
		taint("c", "", ns),
	}
	tests := []struct {
		name        string
		tolerations []corev1.Toleration
		want        int
	}{
		{"R22 no tolerations: both PNS taints count, NS ignored", nil, 2},
		{"R22 PNS toleration tolerates one", []corev1.Toleration{tol("a", opEqual, "1", pns)}, 1},
		{"R22 empty-effect toleration counts", []corev1.Toleration{tol("b", opExists, "", "")}, 1},
		{"R22 NoSchedule toleration is not considered", []corev1.Toleration{tol("a", opExists, "", ns), tol("b", opExists, "", ne)}, 2},
		{"R22 tolerate-everything", []corev1.Toleration{tol("", opExists, "", "")}, 0},
		{"R22 Gt toleration", []corev1.Toleration{tol("a", opGt, "0", pns)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CountIntolerablePreferNoSchedule(taints, tt.tolerations); got != tt.want {
				t.Errorf("CountIntolerablePreferNoSchedule = %d, want %d", got, tt.want)
			}
		})
	}
}
