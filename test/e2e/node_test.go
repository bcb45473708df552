package e2e

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// TestNodeLabelTaintCordon creates nodes from YAML and runs label, taint
// and cordon against them, checking the stored node after every command.
func TestNodeLabelTaintCordon(t *testing.T) {
	t.Parallel()
	forEachKubectl(t, func(t *testing.T, k *kc) {
		if diff := cmp.Diff("node/n1 created\nnode/n2 created\n", k.ok(nodeManifest("n1")+"---\n"+nodeManifest("n2"), "apply", "-f", "-")); diff != "" {
			t.Fatalf("create nodes (-want +got):\n%s", diff)
		}

		type nodeState struct {
			Disk          string
			Taints        []corev1.Taint
			Unschedulable bool
		}
		read := func() nodeState {
			n := k.getNode("n1")
			// Taints a node lifecycle controller manages (not-ready,
			// unschedulable, ...) are not what this test is about.
			var taints []corev1.Taint
			for _, taint := range n.Spec.Taints {
				if !strings.HasPrefix(taint.Key, "node.kubernetes.io/") {
					taints = append(taints, taint)
				}
			}
			return nodeState{Disk: n.Labels["disk"], Taints: taints, Unschedulable: n.Spec.Unschedulable}
		}
		gpu := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
		steps := []struct {
			args       []string
			wantOut    string
			want       nodeState
			wantStatus string // STATUS column of n1 in `kubectl get nodes`
		}{
			{[]string{"label", "nodes", "n1", "disk=ssd"}, "node/n1 labeled\n", nodeState{Disk: "ssd"}, "Unknown"},
			{[]string{"label", "nodes", "n1", "disk-"}, "node/n1 unlabeled\n", nodeState{}, "Unknown"},
			{[]string{"taint", "nodes", "n1", "dedicated=gpu:NoSchedule"}, "node/n1 tainted\n", nodeState{Taints: []corev1.Taint{gpu}}, "Unknown"},
			{[]string{"taint", "nodes", "n1", "dedicated=gpu:NoSchedule-"}, "node/n1 untainted\n", nodeState{}, "Unknown"},
			{[]string{"cordon", "n1"}, "node/n1 cordoned\n", nodeState{Unschedulable: true}, "Unknown,SchedulingDisabled"},
			{[]string{"uncordon", "n1"}, "node/n1 uncordoned\n", nodeState{}, "Unknown"},
		}
		for _, s := range steps {
			name := strings.Join(s.args, " ")
			if diff := cmp.Diff(s.wantOut, k.ok("", s.args...)); diff != "" {
				t.Errorf("%s: output (-want +got):\n%s", name, diff)
			}
			if diff := cmp.Diff(s.want, read()); diff != "" {
				t.Errorf("%s: stored node (-want +got):\n%s", name, diff)
			}
			row := rowFields(t, k.ok("", "get", "nodes"), "n1", 3)
			if diff := cmp.Diff(s.wantStatus, row[1]); diff != "" {
				t.Errorf("%s: STATUS column (-want +got):\n%s", name, diff)
			}
			if s.args[0] == "label" && s.want.Disk == "ssd" {
				if diff := cmp.Diff("node/n1\n", k.ok("", "get", "nodes", "-l", "disk=ssd", "-o", "name")); diff != "" {
					t.Errorf("label selector (-want +got):\n%s", diff)
				}
			}
		}
		// The other node was never touched.
		n2 := k.getNode("n2")
		if n2.Labels["disk"] != "" || n2.Spec.Unschedulable {
			t.Errorf("n2 changed: %+v %+v", n2.Labels, n2.Spec)
		}
	})
}
