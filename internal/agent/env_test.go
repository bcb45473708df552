package agent

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/everynode/everynode/internal/agent/runner"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "a", "B": "b"}
	tests := []struct{ in, want string }{
		{"$(A)", "a"},
		{"x$(A)y$(B)z", "xaybz"},
		{"$$(A)", "$(A)"},
		{"$(C)", "$(C)"},
		{"$(A", "$(A"},
		{"$A", "$A"},
		{"cost $", "cost $"},
		{"$$$(A)", "$a"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, expand(tt.in, mapping(vars))); diff != "" {
				t.Errorf("expand(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestContainerEnv(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "n1", ServiceAccountName: "sa"},
	}
	field := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	tests := []struct {
		name    string
		c       corev1.Container
		want    []runner.EnvVar
		wantErr string
	}{
		{name: "downward API fields", c: corev1.Container{Env: []corev1.EnvVar{
			field("NAME", "metadata.name"), field("NS", "metadata.namespace"), field("UID", "metadata.uid"),
			field("APP", "metadata.labels['app']"), field("NODE", "spec.nodeName"), field("SA", "spec.serviceAccountName"),
			field("HOST", "status.hostIP"), field("POD", "status.podIP"),
		}}, want: []runner.EnvVar{{Name: "NAME", Value: "p"}, {Name: "NS", Value: "ns"}, {Name: "UID", Value: "u1"}, {Name: "APP", Value: "web"}, {Name: "NODE", Value: "n1"}, {Name: "SA", Value: "sa"}, {Name: "HOST", Value: "10.0.0.1"}, {Name: "POD", Value: "10.0.0.1"}}},
		{name: "values expand earlier variables only", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "A", Value: "$(B)"}, {Name: "B", Value: "b"}, {Name: "C", Value: "$(B)-$(A)"},
		}}, want: []runner.EnvVar{{Name: "A", Value: "$(B)"}, {Name: "B", Value: "b"}, {Name: "C", Value: "b-$(B)"}}},
		{name: "resourceFieldRef with divisor rounds up", c: corev1.Container{
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("100Mi")}},
			Env: []corev1.EnvVar{
				{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
				{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
			}}, want: []runner.EnvVar{{Name: "CPU", Value: "1"}, {Name: "MEM", Value: "100"}}},
		{name: "configMapKeyRef is a config error", c: corev1.Container{Env: []corev1.EnvVar{
			{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "k"}}},
		}}, wantErr: "couldn't find key k in ConfigMap ns/cm: everynode does not serve ConfigMaps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := containerEnv(pod, &tt.c, "10.0.0.1")
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}
