package admission

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestDefaultTolerationSeconds(t *testing.T) {
	s300 := int64(300)
	notReady := corev1.Toleration{Key: TaintNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &s300}
	unreachable := corev1.Toleration{Key: TaintUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &s300}
	tests := []struct {
		name string
		in   []corev1.Toleration
		want []corev1.Toleration
	}{
		{"R69 no tolerations: both defaults added", nil, []corev1.Toleration{notReady, unreachable}},
		{"R69 tolerate-everything suppresses both", []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			[]corev1.Toleration{{Operator: corev1.TolerationOpExists}}},
		{"R69 empty key with NoExecute suppresses both",
			[]corev1.Toleration{{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}},
			[]corev1.Toleration{{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}},
		{"R69 NoSchedule toleration of the key does not count",
			[]corev1.Toleration{{Key: TaintNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			[]corev1.Toleration{{Key: TaintNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}, notReady, unreachable}},
		{"R69 Equal with a value still suppresses (operator ignored)",
			[]corev1.Toleration{{Key: TaintNotReady, Operator: corev1.TolerationOpEqual, Value: "x", Effect: corev1.TaintEffectNoExecute}},
			[]corev1.Toleration{{Key: TaintNotReady, Operator: corev1.TolerationOpEqual, Value: "x", Effect: corev1.TaintEffectNoExecute}, unreachable}},
		{"R69 user's own seconds for unreachable kept",
			[]corev1.Toleration{{Key: TaintUnreachable, Operator: corev1.TolerationOpExists}},
			[]corev1.Toleration{{Key: TaintUnreachable, Operator: corev1.TolerationOpExists}, notReady}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: tc.in}}
			DefaultTolerationSeconds(pod, 300, 300)
			if diff := cmp.Diff(tc.want, pod.Spec.Tolerations); diff != "" {
				t.Fatalf("tolerations (-want +got):\n%s", diff)
			}
		})
	}
}
