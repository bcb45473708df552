package cli

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestParseTaints(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []corev1.Taint
		wantErr bool
	}{
		{"key value effect", []string{"dedicated=gpu:NoSchedule"}, []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}, false},
		{"key effect", []string{"node-role.kubernetes.io/control-plane:NoSchedule"}, []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}, false},
		{"several", []string{"a:NoExecute", "b=1:PreferNoSchedule"}, []corev1.Taint{{Key: "a", Effect: corev1.TaintEffectNoExecute}, {Key: "b", Value: "1", Effect: corev1.TaintEffectPreferNoSchedule}}, false},
		{"R21 bad effect", []string{"a:Sometimes"}, nil, true},
		{"no effect", []string{"a=b"}, nil, true},
		{"R21 duplicate key and effect", []string{"a:NoSchedule", "a=x:NoSchedule"}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseTaints(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); !tc.wantErr && diff != "" {
				t.Fatalf("taints (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseLabels(t *testing.T) {
	got, err := parseLabels([]string{"disk=ssd", "zone=", "example.com/x=1"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"disk": "ssd", "zone": "", "example.com/x": "1"}, got); diff != "" {
		t.Fatalf("labels (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"novalue", "bad key=x", "k=bad value"} {
		if _, err := parseLabels([]string{bad}); err == nil {
			t.Errorf("parseLabels(%q) succeeded", bad)
		}
	}
}
