package placement

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func pinnedTo(name string) *corev1.NodeSelector {
	return &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
		fields(expr("metadata.name", corev1.NodeSelectorOpIn, name)),
	}}
}

func TestPinToNode(t *testing.T) {
	preferred := []corev1.PreferredSchedulingTerm{{Weight: 5, Preference: exprs(expr("zone", corev1.NodeSelectorOpIn, "a"))}}
	antiAffinity := &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: "kubernetes.io/hostname"}}}
	tests := []struct {
		name string
		spec corev1.PodSpec
		want corev1.PodSpec
	}{
		{
			name: "R86 no affinity at all",
			spec: corev1.PodSpec{},
			want: corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: pinnedTo("n1"),
			}}},
		},
		{
			name: "R86 pod anti-affinity only",
			spec: corev1.PodSpec{Affinity: &corev1.Affinity{PodAntiAffinity: antiAffinity}},
			want: corev1.PodSpec{Affinity: &corev1.Affinity{
				PodAntiAffinity: antiAffinity,
				NodeAffinity:    &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: pinnedTo("n1")},
			}},
		},
		{
			name: "R86 required terms replaced; preferred, anti-affinity, nodeSelector and nodeName kept",
			spec: corev1.PodSpec{
				NodeName:     "n1",
				NodeSelector: map[string]string{"disk": "ssd"},
				Affinity: &corev1.Affinity{
					PodAntiAffinity: antiAffinity,
					NodeAffinity: &corev1.NodeAffinity{
						RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
							exprs(expr("zone", corev1.NodeSelectorOpIn, "a", "b")),
							fields(expr("metadata.name", corev1.NodeSelectorOpNotIn, "n9")),
						}},
						PreferredDuringSchedulingIgnoredDuringExecution: preferred,
					},
				},
			},
			want: corev1.PodSpec{
				NodeName:     "n1",
				NodeSelector: map[string]string{"disk": "ssd"},
				Affinity: &corev1.Affinity{
					PodAntiAffinity: antiAffinity,
					NodeAffinity: &corev1.NodeAffinity{
						RequiredDuringSchedulingIgnoredDuringExecution:  pinnedTo("n1"),
						PreferredDuringSchedulingIgnoredDuringExecution: preferred,
					},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A shallow copy shares Affinity with the "cached" original,
			// which must come through untouched.
			original := tt.spec.DeepCopy()
			spec := tt.spec
			PinToNode(&spec, "n1")
			if diff := cmp.Diff(tt.want, spec); diff != "" {
				t.Errorf("pinned spec (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(original, &tt.spec); diff != "" {
				t.Errorf("original spec modified (-before +after):\n%s", diff)
			}
			if got, ok := TargetNode(&corev1.Pod{Spec: spec}); !ok || got != "n1" {
				t.Errorf("R91 TargetNode of pinned pod = %q, %v; want n1, true", got, ok)
			}
			ok, reason, msg := NodeMatchesPod(&corev1.Pod{Spec: corev1.PodSpec{Affinity: spec.Affinity}}, testNode("n2", nil))
			if ok || reason != ReasonNodeAffinityMismatch {
				t.Errorf("R190 pinned pod must not fit another node: got %v, %q, %q", ok, reason, msg)
			}
		})
	}
}

func TestTargetNode(t *testing.T) {
	withRequired := func(terms ...corev1.NodeSelectorTerm) corev1.PodSpec {
		var s corev1.PodSpec
		withTerms(terms...)(&s)
		return s
	}
	tests := []struct {
		name     string
		spec     corev1.PodSpec
		wantNode string
		wantOK   bool
	}{
		{"R91 spec.nodeName", corev1.PodSpec{NodeName: "n1"}, "n1", true},
		{
			"R91 spec.nodeName wins over affinity",
			func() corev1.PodSpec {
				s := withRequired(fields(expr("metadata.name", corev1.NodeSelectorOpIn, "n2")))
				s.NodeName = "n1"
				return s
			}(),
			"n1", true,
		},
		{"R91 pinned by matchFields", withRequired(fields(expr("metadata.name", corev1.NodeSelectorOpIn, "n2"))), "n2", true},
		{
			"R91 requirement found in a later term",
			withRequired(exprs(expr("zone", corev1.NodeSelectorOpIn, "a")), fields(expr("metadata.name", corev1.NodeSelectorOpIn, "n3"))),
			"n3", true,
		},
		{
			"R91 NotIn and other keys are skipped",
			withRequired(fields(expr("metadata.name", corev1.NodeSelectorOpNotIn, "n1"), expr("spec.x", corev1.NodeSelectorOpIn, "y"), expr("metadata.name", corev1.NodeSelectorOpIn, "n4"))),
			"n4", true,
		},
		{"R91 first In requirement with two values: no target", withRequired(fields(expr("metadata.name", corev1.NodeSelectorOpIn, "n1", "n2"))), "", false},
		{"R91 label expression on metadata.name is not a field", withRequired(exprs(expr("metadata.name", corev1.NodeSelectorOpIn, "n1"))), "", false},
		{"R91 no nodeName, no affinity", corev1.PodSpec{}, "", false},
		{"R91 affinity without node affinity", corev1.PodSpec{Affinity: &corev1.Affinity{}}, "", false},
		{"R91 required affinity without terms", withRequired(), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node, ok := TargetNode(&corev1.Pod{Spec: tt.spec})
			if node != tt.wantNode || ok != tt.wantOK {
				t.Errorf("TargetNode = %q, %v; want %q, %v", node, ok, tt.wantNode, tt.wantOK)
			}
		})
	}
}
