package placement

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

// fuzzInput turns fuzzer bytes into small, collision-prone Kubernetes
// values: picks come from short lists that include the well-known taint
// keys, numeric edge cases and invalid strings, so interesting matches are
// frequent. Exhausted input reads as zeros.
type fuzzInput struct{ data []byte }

func (in *fuzzInput) next() int {
	if len(in.data) == 0 {
		return 0
	}
	b := in.data[0]
	in.data = in.data[1:]
	return int(b)
}

func (in *fuzzInput) pick(options ...string) string { return options[in.next()%len(options)] }
func (in *fuzzInput) count(max int) int             { return in.next() % (max + 1) }
func (in *fuzzInput) bool() bool                    { return in.next()%2 == 1 }

func (in *fuzzInput) key() string {
	return in.pick("", "k", "K", "zone", "sla", "dedicated", "bad key!", "metadata.name",
		notReady, unreachable, unschedulable, networkUnavailable, diskPressure, outOfService)
}

func (in *fuzzInput) value() string {
	return in.pick("", "v", "a", "b", "n1", "0", "1", "-1", "-0", "+5", "08", "900", "950",
		"9223372036854775807", "9223372036854775808", "high", "bad value!")
}

func (in *fuzzInput) effect() corev1.TaintEffect {
	return corev1.TaintEffect(in.pick("", string(ns), string(pns), string(ne), "Bogus"))
}

func (in *fuzzInput) node() *corev1.Node {
	n := testNode(in.pick("", "n1", "n2"), nil)
	if k := in.count(3); k > 0 {
		n.Labels = map[string]string{}
		for range k {
			n.Labels[in.key()] = in.value()
		}
	}
	for range in.count(4) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: in.key(), Value: in.value(), Effect: in.effect()})
	}
	return n
}

func (in *fuzzInput) requirement() corev1.NodeSelectorRequirement {
	r := corev1.NodeSelectorRequirement{
		Key:      in.key(),
		Operator: corev1.NodeSelectorOperator(in.pick("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Foo")),
	}
	for range in.count(2) {
		r.Values = append(r.Values, in.value())
	}
	return r
}

func (in *fuzzInput) daemonSet() *appsv1.DaemonSet {
	ds := testDaemonSet()
	s := &ds.Spec.Template.Spec
	if in.next()%8 == 0 {
		s.NodeName = in.pick("n1", "n2")
	}
	if k := in.count(2); k > 0 {
		s.NodeSelector = map[string]string{}
		for range k {
			s.NodeSelector[in.key()] = in.value()
		}
	}
	if in.bool() {
		var terms []corev1.NodeSelectorTerm
		for range in.count(2) {
			var term corev1.NodeSelectorTerm
			for range in.count(2) {
				term.MatchExpressions = append(term.MatchExpressions, in.requirement())
			}
			for range in.count(1) {
				term.MatchFields = append(term.MatchFields, in.requirement())
			}
			terms = append(terms, term)
		}
		withTerms(terms...)(s)
	}
	for range in.count(3) {
		t := corev1.Toleration{
			Key:      in.key(),
			Operator: corev1.TolerationOperator(in.pick("", "Equal", "Exists", "Lt", "Gt", "In")),
			Value:    in.value(),
			Effect:   in.effect(),
		}
		if in.bool() {
			secs := int64(in.next()) - 100
			t.TolerationSeconds = &secs
		}
		s.Tolerations = append(s.Tolerations, t)
	}
	s.HostNetwork = in.bool()
	return ds
}

// upstreamDecision recomputes (SR, SCR) the way upstream's controller does,
// with component-helpers for both affinity and taints (comparison operators
// on, D4) and the T4 auto tolerations appended; replacing an identical entry
// in place (R51) cannot change what is tolerated.
func upstreamDecision(node *corev1.Node, ds *appsv1.DaemonSet) (sr, scr bool) {
	spec := ds.Spec.Template.Spec
	if spec.NodeName != "" && spec.NodeName != node.Name {
		return false, false
	}
	if ok, _ := nodeaffinity.NewRequiredNodeAffinity(spec.NodeSelector, spec.Affinity).Match(node); !ok {
		return false, false
	}
	tols := append(append([]corev1.Toleration(nil), spec.Tolerations...), autoTolerations(spec.HostNetwork)...)
	var discard klog.Logger // the zero logger drops everything
	if _, bad := corev1helpers.FindMatchingUntoleratedTaint(discard, node.Spec.Taints, tols, NoScheduleOrNoExecute, true); !bad {
		return true, true
	}
	_, badNE := corev1helpers.FindMatchingUntoleratedTaint(discard, node.Spec.Taints, tols, NoExecute, true)
	return false, !badNE
}

func isFitReason(r Reason) bool {
	return r == ReasonNodeNameMismatch || r == ReasonNodeSelectorMismatch || r == ReasonNodeAffinityMismatch
}

func FuzzDecide(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add([]byte{1, 1, 3, 4, 9, 2, 2, 8, 3, 3, 1, 0, 1, 1, 1, 1, 2, 7, 0, 3, 4, 1, 9, 2, 0, 3, 1})
	f.Add([]byte{2, 3, 3, 11, 12, 1, 13, 0, 1, 7, 8, 1, 0, 0, 0, 1, 2, 1, 1, 3, 4, 3, 3, 12, 2, 2})
	f.Add([]byte{0, 0, 4, 8, 0, 2, 9, 0, 3, 10, 0, 4, 11, 0, 4, 0, 0, 0, 0, 1, 1, 2, 3, 4, 12, 1, 5, 0, 1})
	f.Add([]byte("the quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzInput{data: data}
		node, ds := in.node(), in.daemonSet()
		nodeBefore, dsBefore := node.DeepCopy(), ds.DeepCopy()

		got := Decide(node, ds)

		if diff := cmp.Diff(nodeBefore, node); diff != "" {
			t.Fatalf("Decide modified the node (-before +after):\n%s", diff)
		}
		if diff := cmp.Diff(dsBefore, ds); diff != "" {
			t.Fatalf("Decide modified the DaemonSet (-before +after):\n%s", diff)
		}
		if got.ShouldRun && !got.ShouldContinueRunning {
			t.Fatalf("ShouldRun without ShouldContinueRunning: %+v", got)
		}
		if got.ShouldRun != (got.Reason == "") || got.ShouldRun != (got.Message == "") {
			t.Fatalf("want Reason and Message exactly when ShouldRun is false: %+v", got)
		}
		if !got.ShouldContinueRunning && !isFitReason(got.Reason) && got.Reason != ReasonUntoleratedNoExecute {
			t.Fatalf("R33/R35 only a fit failure or a NoExecute taint may stop a running pod: %+v", got)
		}
		if sr, scr := upstreamDecision(node, ds); sr != got.ShouldRun || scr != got.ShouldContinueRunning {
			t.Fatalf("upstream says (SR %v, SCR %v), Decide says %+v\nnode: %+v\nds spec: %+v", sr, scr, got, node, ds.Spec.Template.Spec)
		}

		// R23: PreferNoSchedule taints never change the decision, whether
		// removed or added.
		withoutPNS := node.DeepCopy()
		withoutPNS.Spec.Taints = nil
		for _, tt := range node.Spec.Taints {
			if tt.Effect != pns {
				withoutPNS.Spec.Taints = append(withoutPNS.Spec.Taints, tt)
			}
		}
		if diff := cmp.Diff(got, Decide(withoutPNS, ds)); diff != "" {
			t.Fatalf("R23 removing PNS taints changed the decision (-with +without):\n%s", diff)
		}
		morePNS := node.DeepCopy()
		morePNS.Spec.Taints = append(morePNS.Spec.Taints, taint("extra", "x", pns))
		if diff := cmp.Diff(got, Decide(morePNS, ds)); diff != "" {
			t.Fatalf("R23 adding a PNS taint changed the decision (-without +with):\n%s", diff)
		}

		// T3#29: a tolerate-everything toleration makes SR true whenever the
		// node fits; fit failures are untouched by tolerations.
		tolerant := ds.DeepCopy()
		tolerant.Spec.Template.Spec.Tolerations = append(tolerant.Spec.Template.Spec.Tolerations, corev1.Toleration{Operator: opExists})
		want := Decision{ShouldRun: true, ShouldContinueRunning: true}
		if isFitReason(got.Reason) {
			want = got
		}
		if diff := cmp.Diff(want, Decide(node, tolerant)); diff != "" {
			t.Fatalf("T3#29 adding {operator: Exists} (-want +got):\n%s", diff)
		}
	})
}

// FuzzToleratesTaint pins our matching to the API type's own
// Toleration.ToleratesTaint with comparison operators enabled (D4).
func FuzzToleratesTaint(f *testing.F) {
	f.Add("k", "Equal", "v", "NoSchedule", "k", "v", "NoSchedule")
	f.Add("", "Exists", "", "", "any", "x", "NoExecute")
	f.Add("sla", "Gt", "900", "", "sla", "950", "NoSchedule")
	f.Add("sla", "Lt", "1000", "", "sla", "0950", "NoSchedule")
	f.Add("sla", "Lt", "0", "NoSchedule", "sla", "-50", "NoSchedule")
	f.Add("sla", "Gt", "-0", "", "sla", "1", "PreferNoSchedule")
	f.Add("k", "In", "v", "", "k", "v", "NoSchedule")
	f.Fuzz(func(t *testing.T, tolKey, tolOp, tolValue, tolEffect, taintKey, taintValue, taintEffect string) {
		tl := corev1.Toleration{Key: tolKey, Operator: corev1.TolerationOperator(tolOp), Value: tolValue, Effect: corev1.TaintEffect(tolEffect)}
		tn := corev1.Taint{Key: taintKey, Value: taintValue, Effect: corev1.TaintEffect(taintEffect)}
		var discard klog.Logger
		if got, want := ToleratesTaint(tl, tn), tl.ToleratesTaint(discard, &tn, true); got != want {
			t.Fatalf("ToleratesTaint(%+v, %+v) = %v, k8s.io/api says %v", tl, tn, got, want)
		}
	})
}
