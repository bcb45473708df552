package daemonset

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestBudgets(t *testing.T) {
	i, s := intstr.FromInt32, intstr.FromString
	cases := []struct {
		name                string
		desired             int
		unavail, surge      intstr.IntOrString
		wantUnavail, wantSu int
	}{
		{"T7#1", 10, i(1), i(0), 1, 0},
		{"T7#2", 10, s("30%"), i(0), 3, 0},
		{"T7#3 rounds up", 7, s("30%"), i(0), 3, 0},
		{"T7#4", 3, s("1%"), i(0), 1, 0},
		{"T7#5 nothing desired", 0, s("50%"), i(0), 0, 0},
		{"T7#6", 5, i(0), i(1), 0, 1},
		{"T7#7", 5, i(0), s("20%"), 0, 1},
		{"T7#8 rounds up", 5, i(0), s("21%"), 0, 2},
		{"T7#9 integer may exceed desired", 5, i(10), i(0), 10, 0},
		{"T7#10", 5, s("100%"), i(0), 5, 0},
		{"R105 both zero: maxUnavailable 1", 5, i(0), i(0), 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds := mkDS(func(d *appsv1.DaemonSet) {
				d.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = &tc.unavail
				d.Spec.UpdateStrategy.RollingUpdate.MaxSurge = &tc.surge
			})
			u, su, err := budgets(ds, tc.desired)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([2]int{tc.wantUnavail, tc.wantSu}, [2]int{u, su}); diff != "" {
				t.Errorf("budgets(desired=%d) (-want +got):\n%s", tc.desired, diff)
			}
		})
	}
}

func TestPlanRolling(t *testing.T) {
	three := nodes("n1", "n2", "n3")
	old := hash("hA")
	surge1 := maxSurge(intstr.FromInt32(1))
	cases := []struct {
		name string
		s    *Snapshot
		want Plan
	}{
		{"T8#1 D2 maxUnav=1, A ready everywhere: delete n1's A (name order)",
			snap(mkDS(), three, mkPod("a1", "n1", old, ready), mkPod("a2", "n2", old, ready), mkPod("a3", "n3", old, ready)),
			Plan{Deletes: []Delete{{"a1", "n1", ReasonUpdateOld}}}},
		{"T8#3 n1 B not ready: nothing",
			snap(mkDS(), three, mkPod("b1", "n1"), mkPod("a2", "n2", old, ready), mkPod("a3", "n3", old, ready)), Plan{}},
		{"T8#4 n1 B ready: delete n2's A",
			snap(mkDS(), three, mkPod("b1", "n1", ready), mkPod("a2", "n2", old, ready), mkPod("a3", "n3", old, ready)),
			Plan{Deletes: []Delete{{"a2", "n2", ReasonUpdateOld}}}},
		{"T8#5 R113 n1 A not ready: unconditional, no candidates",
			snap(mkDS(), three, mkPod("a1", "n1", old), mkPod("a2", "n2", old, ready), mkPod("a3", "n3", old, ready)),
			Plan{Deletes: []Delete{{"a1", "n1", ReasonUpdateOldUnavailable}}}},
		{"T8#6 all A not ready: delete all",
			snap(mkDS(), three, mkPod("a1", "n1", old), mkPod("a2", "n2", old), mkPod("a3", "n3", old)),
			Plan{Deletes: []Delete{{"a1", "n1", ReasonUpdateOldUnavailable}, {"a2", "n2", ReasonUpdateOldUnavailable}, {"a3", "n3", ReasonUpdateOldUnavailable}}}},
		{"T8#7 maxUnav=2, n1 A stuck terminating: delete one more",
			snap(mkDS(maxUnavailable(intstr.FromInt32(2))), three, mkPod("a1", "n1", old, deleting), mkPod("a2", "n2", old, ready), mkPod("a3", "n3", old, ready)),
			Plan{Deletes: []Delete{{"a2", "n2", ReasonUpdateOld}}}},
		{"T8#8 maxUnav=1, n1 A stuck terminating: stall",
			snap(mkDS(), three, mkPod("a1", "n1", old, deleting), mkPod("a2", "n2", old, ready), mkPod("a3", "n3", old, ready)), Plan{}},
		{"T8#9 maxSurge=1, A ready everywhere: create B on n1",
			snap(mkDS(surge1), three, mkPod("a1", "n1", old, ready), mkPod("a2", "n2", old, ready), mkPod("a3", "n3", old, ready)),
			Plan{Creates: []Create{{"n1", ReasonSurgeCandidate}}}},
		{"T8#10 maxSurge=1, n1 A+B not available: nothing",
			snap(mkDS(surge1), three, mkPod("a1", "n1", old, ready), mkPod("b1", "n1"), mkPod("a2", "n2", old, ready), mkPod("a3", "n3", old, ready)), Plan{}},
		{"T8#11 R118 maxSurge=1, n1 B available: delete n1's A; the freed slot surges onto n2",
			snap(mkDS(surge1), three, mkPod("a1", "n1", old, ready), mkPod("b1", "n1", ready), mkPod("a2", "n2", old, ready), mkPod("a3", "n3", old, ready)),
			Plan{Creates: []Create{{"n2", ReasonSurgeCandidate}}, Deletes: []Delete{{"a1", "n1", ReasonSurgeNewAvailable}}}},
		{"T8#12 R117 maxSurge=1, n2 A not ready: create B there regardless of budget",
			snap(mkDS(surge1), three, mkPod("a1", "n1", old, ready), mkPod("b1", "n1"), mkPod("a2", "n2", old), mkPod("a3", "n3", old, ready)),
			Plan{Creates: []Create{{"n2", ReasonSurgeReplacement}}}},
		{"T8#15 R120 maxSurge=1, n3 SR=F with available A: kept while availability would drop",
			snap(mkDS(surge1), []*corev1.Node{mkNode("n1"), mkNode("n2"), mkNode("n3", taint("t", corev1.TaintEffectNoSchedule))},
				mkPod("b1", "n1", ready), mkPod("b2", "n2", ready), mkPod("a3", "n3", old, ready)),
			Plan{Deletes: []Delete{{"a3", "n3", ReasonSurgeShouldNotRunSpare}}}},
		{"T8#15 R120 no surplus availability: SR=F pod kept",
			snap(mkDS(surge1), []*corev1.Node{mkNode("n1"), mkNode("n2"), mkNode("n3", taint("t", corev1.TaintEffectNoSchedule))},
				mkPod("b1", "n1"), mkPod("b2", "n2", ready), mkPod("a3", "n3", old, ready)),
			Plan{}},
		{"T8#16 maxUnav=1 minReadySeconds=30, n1 B ready 10s: unavailable, nothing",
			snap(mkDS(minReady(30)), three, mkPod("b1", "n1", readyFor(10)), mkPod("a2", "n2", old, ready), mkPod("a3", "n3", old, ready)), Plan{}},
		{"R110 duplicates count unavailable and are skipped",
			snap(mkDS(), three, mkPod("a1", "n1", old, ready), mkPod("a1b", "n1", old, ready), mkPod("a2", "n2", old, ready)), Plan{}},
		{"R111 SR node without pod counts unavailable",
			snap(mkDS(), three, mkPod("a2", "n2", old, ready), mkPod("a3", "n3", old, ready)), Plan{}},
		{"R115 SR=F SCR=T old pod is a candidate",
			snap(mkDS(), []*corev1.Node{mkNode("n1", taint("t", corev1.TaintEffectNoSchedule))}, mkPod("a1", "n1", old, ready)),
			Plan{Deletes: []Delete{{"a1", "n1", ReasonUpdateOld}}}},
		{"R146 pod matching template generation counts as new",
			snap(mkDS(), nodes("n1"), mkPod("a1", "n1", old, ready, func(p *corev1.Pod) { p.Labels[templateGenerationLabel] = "2" })), Plan{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := planRolling(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("planRolling (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRollingSequence walks T8#1→#4 with maxUnavailable=1 over the three
// nodes, applying each plan: manage recreates, rolling deletes, in name
// order (D2), and R80 keeps rolling off while manage has work.
func TestRollingSequence(t *testing.T) {
	ds := mkDS()
	pods := []*corev1.Pod{mkPod("a1", "n1", hash("hA"), ready), mkPod("a2", "n2", hash("hA"), ready), mkPod("a3", "n3", hash("hA"), ready)}
	var order []string
	for step := 0; step < 20; step++ {
		s := snap(ds, nodes("n1", "n2", "n3"), pods...)
		p := planManage(s)
		if !p.HasWrites() {
			var err error
			if p, err = planRolling(s); err != nil {
				t.Fatal(err)
			}
		}
		if !p.HasWrites() {
			break
		}
		for _, d := range p.Deletes {
			order = append(order, "delete "+d.Pod)
		}
		for _, c := range p.Creates {
			order = append(order, "create "+c.Node)
		}
		pods = applyPlan(s, p, func(pod *corev1.Pod) { ready(pod) })
	}
	want := []string{"delete a1", "create n1", "delete a2", "create n2", "delete a3", "create n3"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("rollout order (-want +got):\n%s", diff)
	}
}

// applyPlan returns the snapshot's pods after the plan: deleted pods vanish,
// created pods appear bound, on the current hash, shaped by ready.
func applyPlan(s *Snapshot, p Plan, shape func(*corev1.Pod)) []*corev1.Pod {
	gone := map[string]bool{}
	for _, d := range p.Deletes {
		gone[d.Pod] = true
	}
	var out []*corev1.Pod
	for _, pod := range s.Pods {
		if !gone[pod.Name] {
			out = append(out, pod)
		}
	}
	for i, c := range p.Creates {
		pod := mkPod("new-"+c.Node+"-"+s.Now.Format("150405")+string(rune('a'+i)), c.Node, created(int(s.Now.Sub(t0)/time.Second)+1))
		if shape != nil {
			shape(pod)
		}
		out = append(out, pod)
	}
	return out
}

// TestSelectorChangeDeletesAtOnce is T8#14 (R37, R38c): when the template's
// nodeSelector stops matching a node, manage deletes that node's pod right
// away, under either strategy, before any rolling step.
func TestSelectorChangeDeletesAtOnce(t *testing.T) {
	ns := []*corev1.Node{mkNode("n1", label("disk", "ssd")), mkNode("n2", label("disk", "ssd")), mkNode("n3")}
	selectSSD := func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"} }
	for _, tc := range []struct {
		name string
		ds   *appsv1.DaemonSet
	}{
		{"T8#14 RollingUpdate", mkDS(selectSSD)},
		{"T8#14 OnDelete", mkDS(selectSSD, onDelete)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := hash("hA")
			s := snap(tc.ds, ns, mkPod("a1", "n1", old, ready), mkPod("a2", "n2", old, ready), mkPod("a3", "n3", old, ready))
			got := planManage(s)
			want := Plan{Deletes: []Delete{{"a3", "n3", ReasonShouldNotRun}}}
			if diff := cmp.Diff(want.Deletes, got.Deletes); diff != "" || len(got.Creates) > 0 {
				t.Errorf("planManage (-want +got):\n%s\ncreates: %v", diff, got.Creates)
			}
		})
	}
}
