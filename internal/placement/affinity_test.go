package placement

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestNodeMatchesPod(t *testing.T) {
	node := testNode("n1", map[string]string{"zone": "a", "gpu": "true", "cores": "16"})
	tests := []struct {
		name        string
		spec        []func(*corev1.PodSpec)
		wantOK      bool
		wantReason  Reason
		wantMessage string
	}{
		{
			name:   "R32 no constraints",
			wantOK: true,
		},
		{
			name:   "R32 empty nodeSelector map is no constraint",
			spec:   []func(*corev1.PodSpec){withNodeSelector(map[string]string{})},
			wantOK: true,
		},
		{
			name:        "R32 every failing nodeSelector entry is named, in key order",
			spec:        []func(*corev1.PodSpec){withNodeSelector(map[string]string{"zone": "b", "disk": "ssd", "gpu": "true"})},
			wantReason:  ReasonNodeSelectorMismatch,
			wantMessage: "nodeSelector does not match: disk=ssd (node has no label disk); zone=b (node has zone=a)",
		},
		{
			name:        "R32 nodeSelector with empty value needs the label",
			spec:        []func(*corev1.PodSpec){withNodeSelector(map[string]string{"spot": ""})},
			wantReason:  ReasonNodeSelectorMismatch,
			wantMessage: "nodeSelector does not match: spot= (node has no label spot)",
		},
		{
			name: "R32 nodeSelector is checked before affinity",
			spec: []func(*corev1.PodSpec){
				withNodeSelector(map[string]string{"zone": "b"}),
				withTerms(corev1.NodeSelectorTerm{}),
			},
			wantReason:  ReasonNodeSelectorMismatch,
			wantMessage: "nodeSelector does not match: zone=b (node has zone=a)",
		},
		{
			name: "R32 each term explained by its first failing requirement",
			spec: []func(*corev1.PodSpec){withTerms(
				exprs(expr("zone", corev1.NodeSelectorOpIn, "b", "c"), expr("gpu", corev1.NodeSelectorOpDoesNotExist)),
				exprs(expr("zone", corev1.NodeSelectorOpIn, "a"), expr("cores", corev1.NodeSelectorOpLt, "8")),
				corev1.NodeSelectorTerm{},
			)},
			wantReason: ReasonNodeAffinityMismatch,
			wantMessage: "required node affinity matches no nodeSelectorTerm: " +
				"term 0: zone In [b, c] does not match (node has zone=a); " +
				"term 1: cores Lt [8] does not match (node has cores=16); " +
				"term 2: empty term matches nothing",
		},
		{
			name: "R32 invalid terms are skipped, another term can still match",
			spec: []func(*corev1.PodSpec){withTerms(
				exprs(expr("zone", "Foo", "a")),
				exprs(expr("zone", corev1.NodeSelectorOpIn, "a")),
			)},
			wantOK: true,
		},
		{
			name: "R32 invalid terms are named, with the library's parse errors",
			spec: []func(*corev1.PodSpec){withTerms(
				exprs(expr("zone", corev1.NodeSelectorOpIn, "b")),
				exprs(expr("zone", "Foo", "a")),
			)},
			wantReason: ReasonNodeAffinityMismatch,
			wantMessage: "required node affinity matches no nodeSelectorTerm: " +
				"term 0: zone In [b] does not match (node has zone=a); " +
				"term 1: zone Foo [a] is invalid, so the term matches nothing " +
				`(invalid: nodeSelectorTerms[1].matchExpressions[0].operator: Unsupported value: "Foo": supported values: "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")`,
		},
		{
			name: "R32 matchFields needs exactly one value",
			spec: []func(*corev1.PodSpec){withTerms(
				fields(expr("metadata.name", corev1.NodeSelectorOpIn, "n1", "n2")),
			)},
			wantReason: ReasonNodeAffinityMismatch,
			wantMessage: "required node affinity matches no nodeSelectorTerm: " +
				"term 0: metadata.name In [n1, n2] is invalid, so the term matches nothing " +
				`(invalid: nodeSelectorTerms[0].matchFields[0].values: Invalid value: ["n1","n2"]: must have one element)`,
		},
		{
			name: "R32 matchExpressions and matchFields of one term are AND-ed",
			spec: []func(*corev1.PodSpec){withTerms(corev1.NodeSelectorTerm{
				MatchExpressions: []corev1.NodeSelectorRequirement{expr("zone", corev1.NodeSelectorOpIn, "a")},
				MatchFields:      []corev1.NodeSelectorRequirement{expr("metadata.name", corev1.NodeSelectorOpIn, "n2")},
			})},
			wantReason: ReasonNodeAffinityMismatch,
			wantMessage: "required node affinity matches no nodeSelectorTerm: " +
				"term 0: metadata.name In [n2] does not match (node name is n1)",
		},
		{
			name:        "R32 required affinity without terms matches nothing",
			spec:        []func(*corev1.PodSpec){withTerms()},
			wantReason:  ReasonNodeAffinityMismatch,
			wantMessage: "required node affinity has no nodeSelectorTerms, so it matches no node",
		},
		{
			name: "R32 preferred affinity and pod anti-affinity are ignored",
			spec: []func(*corev1.PodSpec){func(s *corev1.PodSpec) {
				s.Affinity = &corev1.Affinity{
					NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
						Weight: 1, Preference: exprs(expr("zone", corev1.NodeSelectorOpIn, "b")),
					}}},
					PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: "zone"}}},
				}
			}},
			wantOK: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: testDaemonSet(tt.spec...).Spec.Template.Spec}
			ok, reason, msg := NodeMatchesPod(pod, node)
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
