package placement

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestDaemonPodTolerations(t *testing.T) {
	exists := func(key string, effect corev1.TaintEffect) corev1.Toleration {
		return tol(key, opExists, "", effect)
	}
	withSeconds := func(t corev1.Toleration, s int64) corev1.Toleration {
		t.TolerationSeconds = &s
		return t
	}
	auto := []corev1.Toleration{
		exists(notReady, ne),
		exists(unreachable, ne),
		exists(diskPressure, ns),
		exists(memoryPressure, ns),
		exists(pidPressure, ns),
		exists(unschedulable, ns),
	}
	autoAfterNotReady := auto[1:]
	then := func(first []corev1.Toleration, rest ...[]corev1.Toleration) []corev1.Toleration {
		out := append([]corev1.Toleration(nil), first...)
		for _, r := range rest {
			out = append(out, r...)
		}
		return out
	}
	tests := []struct {
		name        string
		tolerations []corev1.Toleration
		hostNetwork bool
		want        []corev1.Toleration
	}{
		{
			name: "T4#1 no template tolerations",
			want: auto,
		},
		{
			name:        "T4#2 hostNetwork adds network-unavailable",
			hostNetwork: true,
			want:        then(auto, []corev1.Toleration{exists(networkUnavailable, ns)}),
		},
		{
			name:        "T4#3 identical key/op/value/effect replaced in place, dropping tolerationSeconds",
			tolerations: []corev1.Toleration{tol("x", opExists, "", ""), withSeconds(exists(notReady, ne), 30)},
			want:        then([]corev1.Toleration{tol("x", opExists, "", ""), exists(notReady, ne)}, autoAfterNotReady),
		},
		{
			name:        "T4#4 Equal differs from Exists: user entry kept first, auto entry appended",
			tolerations: []corev1.Toleration{withSeconds(tol(notReady, opEqual, "", ne), 30)},
			want:        then([]corev1.Toleration{withSeconds(tol(notReady, opEqual, "", ne), 30)}, auto),
		},
		{
			name:        "T4#5 tolerate-everything entry stays, autos appended",
			tolerations: []corev1.Toleration{tol("", opExists, "", "")},
			want:        then([]corev1.Toleration{tol("", opExists, "", "")}, auto),
		},
		{
			name:        "T4#6 broad NoExecute entry with seconds stays first",
			tolerations: []corev1.Toleration{withSeconds(tol("", opExists, "", ne), 60)},
			want:        then([]corev1.Toleration{withSeconds(tol("", opExists, "", ne), 60)}, auto),
		},
		{
			name:        "T4#7 unrelated user toleration",
			tolerations: []corev1.Toleration{exists("dedicated", ns)},
			want:        then([]corev1.Toleration{exists("dedicated", ns)}, auto),
		},
		{
			name:        "R51 already identical auto entry: nothing replaced or appended",
			tolerations: []corev1.Toleration{exists(unschedulable, ns)},
			want:        then([]corev1.Toleration{exists(unschedulable, ns)}, auto[:5]),
		},
		{
			name:        "R51 every matching duplicate is replaced",
			tolerations: []corev1.Toleration{withSeconds(exists(unreachable, ne), 1), withSeconds(exists(unreachable, ne), 2)},
			want:        then([]corev1.Toleration{exists(unreachable, ne), exists(unreachable, ne), exists(notReady, ne)}, auto[2:]),
		},
		{
			name:        "R51 an identical duplicate leaves the other duplicate alone (upstream add-or-update)",
			tolerations: []corev1.Toleration{withSeconds(exists(unreachable, ne), 1), exists(unreachable, ne)},
			want:        then([]corev1.Toleration{withSeconds(exists(unreachable, ne), 1), exists(unreachable, ne), exists(notReady, ne)}, auto[2:]),
		},
		{
			name:        "R52 not-ready NoSchedule is not auto-added but kept when given",
			tolerations: []corev1.Toleration{exists(notReady, ns)},
			want:        then([]corev1.Toleration{exists(notReady, ns)}, auto),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := corev1.PodSpec{Tolerations: tt.tolerations, HostNetwork: tt.hostNetwork}
			before := spec.DeepCopy()
			got := DaemonPodTolerations(spec)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("tolerations (-want +got):\n%s", diff)
			}
			// R53: the template itself never carries the auto tolerations,
			// and the result must not alias it.
			for i := range got {
				if got[i].TolerationSeconds != nil {
					*got[i].TolerationSeconds = 12345
				}
				got[i].Key = "mutated"
			}
			if diff := cmp.Diff(before, &spec); diff != "" {
				t.Errorf("template changed (-before +after):\n%s", diff)
			}
		})
	}
}
