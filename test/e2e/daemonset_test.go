package e2e

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

const templateGenerationAnnotation = "deprecated.daemonset.template.generation"

// TestApplyDaemonSet walks one DaemonSet through apply create / configure /
// unchanged and checks generation and template generation (R187: the
// template generation moves exactly when the template changes).
func TestApplyDaemonSet(t *testing.T) {
	t.Parallel()
	forEachKubectl(t, func(t *testing.T, k *kc) {
		steps := []struct {
			name         string
			manifest     string
			wantOut      string
			wantGen      int64
			wantTemplGen string
		}{
			{"create", dsManifest("web", "nginx:1.27", "", ""), "daemonset.apps/web created\n", 1, "1"},
			{"template change bumps both", dsManifest("web", "nginx:1.28", "", ""), "daemonset.apps/web configured\n", 2, "2"},
			{"spec change outside template bumps generation only", dsManifest("web", "nginx:1.28", "", "  minReadySeconds: 5\n"), "daemonset.apps/web configured\n", 3, "2"},
			{"metadata-only change bumps neither", dsManifest("web", "nginx:1.28", "  labels:\n    team: a\n", "  minReadySeconds: 5\n"), "daemonset.apps/web configured\n", 3, "2"},
			{"same manifest is unchanged", dsManifest("web", "nginx:1.28", "  labels:\n    team: a\n", "  minReadySeconds: 5\n"), "daemonset.apps/web unchanged\n", 3, "2"},
		}
		for _, s := range steps {
			if diff := cmp.Diff(s.wantOut, k.ok(s.manifest, "apply", "-f", "-")); diff != "" {
				t.Fatalf("%s: apply output (-want +got):\n%s", s.name, diff)
			}
			ds := k.getDaemonSet("web")
			got := []any{ds.Generation, ds.Annotations[templateGenerationAnnotation]}
			if diff := cmp.Diff([]any{s.wantGen, s.wantTemplGen}, got); diff != "" {
				t.Errorf("%s: [generation, template generation] (-want +got):\n%s", s.name, diff)
			}
		}

		// R180 defaults are visible after create.
		ds := k.getDaemonSet("web")
		one, zero := intstr.FromInt32(1), intstr.FromInt32(0)
		wantStrategy := appsv1.DaemonSetUpdateStrategy{
			Type:          appsv1.RollingUpdateDaemonSetStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one, MaxSurge: &zero},
		}
		if diff := cmp.Diff(wantStrategy, ds.Spec.UpdateStrategy); diff != "" {
			t.Errorf("defaulted updateStrategy (-want +got):\n%s", diff)
		}
		if ds.Spec.RevisionHistoryLimit == nil || *ds.Spec.RevisionHistoryLimit != 10 {
			t.Errorf("revisionHistoryLimit = %v, want 10", ds.Spec.RevisionHistoryLimit)
		}
		if got := ds.Spec.Template.Spec.RestartPolicy; got != corev1.RestartPolicyAlways {
			t.Errorf("template restartPolicy = %q, want Always", got)
		}

		// The Fluentd example applies with client validation on (the default).
		fluentd, err := os.ReadFile("testdata/fluentd.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff("daemonset.apps/fluentd created\n", k.ok(string(fluentd), "apply", "-f", "-")); diff != "" {
			t.Errorf("apply fluentd (-want +got):\n%s", diff)
		}
		f := k.getDaemonSet("fluentd", "-n", "kube-system")
		got := []string{f.Spec.Template.Spec.Containers[0].Image, f.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String(), string(f.Spec.Template.Spec.Tolerations[0].Effect)}
		if diff := cmp.Diff([]string{"fluent/fluentd:v1.17", "200Mi", "NoSchedule"}, got); diff != "" {
			t.Errorf("stored fluentd (-want +got):\n%s", diff)
		}
	})
}

// TestGetOutputFormats checks -o yaml, -o json and the -o wide columns of
// daemonsets, nodes and pods.
func TestGetOutputFormats(t *testing.T) {
	t.Parallel()
	forEachKubectl(t, func(t *testing.T, k *kc) {
		k.ok(nodeManifest("n1"), "apply", "-f", "-")
		k.ok(withNodeSelector(dsManifest("web", "nginx:1.27", "", "")), "apply", "-f", "-")
		k.ok(podManifest("p1", "n1"), "apply", "-f", "-")

		var fromYAML appsv1.DaemonSet
		if err := yaml.Unmarshal([]byte(k.ok("", "get", "ds", "web", "-o", "yaml")), &fromYAML); err != nil {
			t.Fatalf("decode -o yaml: %v", err)
		}
		fromJSON := k.getDaemonSet("web")
		for format, ds := range map[string]appsv1.DaemonSet{"yaml": fromYAML, "json": fromJSON} {
			got := []string{ds.APIVersion, ds.Kind, ds.Name, ds.Namespace, ds.Spec.Selector.MatchLabels["app"], ds.Spec.Template.Spec.Containers[0].Image}
			if diff := cmp.Diff([]string{"apps/v1", "DaemonSet", "web", "default", "web", "nginx:1.27"}, got); diff != "" {
				t.Errorf("-o %s (-want +got):\n%s", format, diff)
			}
			if ds.UID == "" || ds.ResourceVersion == "" || ds.CreationTimestamp.IsZero() {
				t.Errorf("-o %s: server-set metadata missing: %+v", format, ds.ObjectMeta)
			}
		}

		tests := []struct {
			name       string
			args       []string
			wantHeader []string
			row        string
			ageIndex   int
			wantRow    []string
		}{
			{
				name:       "daemonsets",
				args:       []string{"get", "ds", "-o", "wide"},
				wantHeader: strings.Fields("NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE CONTAINERS IMAGES SELECTOR"),
				row:        "web", ageIndex: 7,
				wantRow: strings.Fields("web 0 0 0 0 0 disk=none AGE main nginx:1.27 app=web"),
			},
			{
				name:       "nodes",
				args:       []string{"get", "nodes", "-o", "wide"},
				wantHeader: strings.Fields("NAME STATUS ROLES AGE VERSION INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME"),
				// A node without a Ready condition and without an
				// agent: empty VERSION collapses, so compare the prefix.
				row: "n1", ageIndex: 3,
				wantRow: strings.Fields("n1 Unknown <none> AGE <none> <none> <unknown> <unknown> <unknown>"),
			},
			{
				name:       "pods",
				args:       []string{"get", "pods", "-o", "wide"},
				wantHeader: strings.Fields("NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES"),
				row:        "p1", ageIndex: 4,
				wantRow: strings.Fields("p1 0/1 Pending 0 AGE <none> n1 <none> <none>"),
			},
		}
		for _, tc := range tests {
			out := k.ok("", tc.args...)
			if diff := cmp.Diff(tc.wantHeader, headerFields(t, out)); diff != "" {
				t.Errorf("%s: header (-want +got):\n%s", tc.name, diff)
			}
			if diff := cmp.Diff(tc.wantRow, rowFields(t, out, tc.row, tc.ageIndex)); diff != "" {
				t.Errorf("%s: row (-want +got):\n%s\n%s", tc.name, diff, out)
			}
		}
	})
}

// TestGetWatch runs `kubectl get -w` in the background and sees a change
// made afterwards appear as a new line.
func TestGetWatch(t *testing.T) {
	t.Parallel()
	forEachKubectl(t, func(t *testing.T, k *kc) {
		k.ok(dsManifest("web", "nginx:1.27", "", ""), "apply", "-f", "-")
		k.ok(podManifest("p1", ""), "apply", "-f", "-")

		tests := []struct {
			name     string
			args     []string
			initial  *regexp.Regexp
			change   string
			wantLine *regexp.Regexp
		}{
			{
				name:     "daemonsets",
				args:     []string{"get", "ds", "-w"},
				initial:  regexp.MustCompile(`^web\s+0\s+0\s+0\s+0\s+0\s+<none>\s+\S+$`),
				change:   dsManifest("web2", "nginx:1.27", "", ""),
				wantLine: regexp.MustCompile(`^web2\s+0\s+0\s+0\s+0\s+0\s+<none>\s+\S+$`),
			},
			{
				name:     "pods",
				args:     []string{"get", "pods", "-w"},
				initial:  regexp.MustCompile(`^p1\s+0/1\s+Pending\s+0\s+\S+$`),
				change:   podManifest("p2", ""),
				wantLine: regexp.MustCompile(`^p2\s+0/1\s+Pending\s+0\s+\S+$`),
			},
		}
		for _, tc := range tests {
			w, stop := k.startWatch(tc.args...)
			w.waitLine(t, tc.initial)
			k.ok(tc.change, "apply", "-f", "-")
			w.waitLine(t, tc.wantLine)
			stop()
		}
	})
}

// TestDescribe describes a DaemonSet, a node and a pod.
func TestDescribe(t *testing.T) {
	t.Parallel()
	forEachKubectl(t, func(t *testing.T, k *kc) {
		k.ok(nodeManifest("n1"), "apply", "-f", "-")
		k.ok("", "taint", "nodes", "n1", "dedicated=gpu:NoSchedule")
		k.ok(withNodeSelector(dsManifest("web", "nginx:1.27", "", "")), "apply", "-f", "-")
		k.ok(podManifest("p1", "n1"), "apply", "-f", "-")

		tests := []struct {
			name string
			args []string
			want []string // line regexps
		}{
			{"daemonset", []string{"describe", "ds", "web"}, []string{
				`^Name:\s+web$`, `^Selector:\s+app=web$`, `^Node-Selector:\s+disk=none$`,
				`^Desired Number of Nodes Scheduled: 0$`, `^Pod Template:$`, `^\s+Image:\s+nginx:1\.27$`,
			}},
			{"node", []string{"describe", "node", "n1"}, []string{
				`^Name:\s+n1$`, `^Labels:\s+kubernetes\.io/hostname=n1$`, `^(Taints:)?\s+dedicated=gpu:NoSchedule$`,
				`^Unschedulable:\s+false$`, `^Non-terminated Pods:\s+\(1 in total\)$`, `^\s+default\s+p1\s+`,
			}},
			{"pod", []string{"describe", "pod", "p1"}, []string{
				`^Name:\s+p1$`, `^Namespace:\s+default$`, `^Node:\s+n1`, `^Status:\s+Pending$`,
				`^Containers:$`, `^\s+Image:\s+busybox:1\.36$`,
			}},
		}
		for _, tc := range tests {
			out := k.ok("", tc.args...)
			for _, re := range tc.want {
				if !regexp.MustCompile("(?m)" + re).MatchString(out) {
					t.Errorf("%s: no line matching %s in:\n%s", tc.name, re, out)
				}
			}
		}
	})
}

// TestPatch patches a DaemonSet with the three patch types.
func TestPatch(t *testing.T) {
	t.Parallel()
	forEachKubectl(t, func(t *testing.T, k *kc) {
		manifest := dsManifest("web", "nginx:1.27", "", "") + "      - name: sidecar\n        image: busybox:1.36\n"
		k.ok(manifest, "apply", "-f", "-")

		type state struct {
			Images []string
			Labels map[string]string
			MinRdy int32
		}
		read := func() state {
			ds := k.getDaemonSet("web")
			var s state
			for _, c := range ds.Spec.Template.Spec.Containers {
				s.Images = append(s.Images, c.Name+"="+c.Image)
			}
			s.Labels, s.MinRdy = ds.Labels, ds.Spec.MinReadySeconds
			return s
		}
		steps := []struct {
			name string
			args []string
			want state
		}{
			{
				// Strategic merge: containers merge by name, sidecar stays.
				name: "strategic",
				args: []string{"--type=strategic", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"nginx:1.28"}]}}}}`},
				want: state{Images: []string{"main=nginx:1.28", "sidecar=busybox:1.36"}},
			},
			{
				name: "merge",
				args: []string{"--type=merge", "-p", `{"metadata":{"labels":{"tier":"web"}},"spec":{"minReadySeconds":7}}`},
				want: state{Images: []string{"main=nginx:1.28", "sidecar=busybox:1.36"}, Labels: map[string]string{"tier": "web"}, MinRdy: 7},
			},
			{
				name: "json",
				args: []string{"--type=json", "-p", `[{"op":"replace","path":"/spec/template/spec/containers/1/image","value":"busybox:1.37"},{"op":"remove","path":"/metadata/labels/tier"},{"op":"add","path":"/metadata/labels/patched","value":"yes"}]`},
				want: state{Images: []string{"main=nginx:1.28", "sidecar=busybox:1.37"}, Labels: map[string]string{"patched": "yes"}, MinRdy: 7},
			},
		}
		for _, s := range steps {
			out := k.ok("", append([]string{"patch", "ds", "web"}, s.args...)...)
			if diff := cmp.Diff("daemonset.apps/web patched\n", out); diff != "" {
				t.Errorf("%s: output (-want +got):\n%s", s.name, diff)
			}
			if diff := cmp.Diff(s.want, read()); diff != "" {
				t.Errorf("%s: stored DaemonSet (-want +got):\n%s", s.name, diff)
			}
		}
		if g := k.getDaemonSet("web").Generation; g != 4 {
			t.Errorf("generation after 3 spec patches = %d, want 4", g)
		}
	})
}

var deletedRE = func(what string) *regexp.Regexp {
	// kubectl ≥1.33 appends " from <ns> namespace" for namespaced objects.
	return regexp.MustCompile(`^` + regexp.QuoteMeta(what) + ` deleted( from default namespace)?\n$`)
}

// TestDelete deletes a DaemonSet, a pod and a node.
func TestDelete(t *testing.T) {
	t.Parallel()
	forEachKubectl(t, func(t *testing.T, k *kc) {
		k.ok(nodeManifest("n1"), "apply", "-f", "-")
		k.ok(dsManifest("web", "nginx:1.27", "", ""), "apply", "-f", "-")
		// Unscheduled, so upstream deletes it at once (no kubelet to confirm).
		k.ok(podManifest("p1", ""), "apply", "-f", "-")

		tests := []struct {
			kind, name, printed, notFound string
		}{
			{"daemonset", "web", `daemonset.apps "web"`, `Error from server (NotFound): daemonsets.apps "web" not found`},
			{"pod", "p1", `pod "p1"`, `Error from server (NotFound): pods "p1" not found`},
			{"node", "n1", `node "n1"`, `Error from server (NotFound): nodes "n1" not found`},
		}
		for _, tc := range tests {
			r := k.run("", "delete", tc.kind, tc.name)
			if r.code != 0 || !deletedRE(tc.printed).MatchString(r.stdout) {
				t.Errorf("delete %s: %s", tc.kind, r)
				continue
			}
			r = k.run("", "get", tc.kind, tc.name)
			if r.code != 1 || strings.TrimSpace(r.stderr) != tc.notFound {
				t.Errorf("get deleted %s: want exit 1 and %q, got %s", tc.kind, tc.notFound, r)
			}
		}
	})
}

// TestServerDryRun checks that --dry-run=server create/apply/delete answer
// like the real thing but store nothing.
func TestServerDryRun(t *testing.T) {
	t.Parallel()
	forEachKubectl(t, func(t *testing.T, k *kc) {
		k.ok(dsManifest("web", "nginx:1.27", "", ""), "apply", "-f", "-")
		before := k.getDaemonSet("web")

		out := k.ok(dsManifest("dry", "nginx:1.27", "", ""), "create", "--dry-run=server", "-f", "-")
		if diff := cmp.Diff("daemonset.apps/dry created (server dry run)\n", out); diff != "" {
			t.Errorf("create --dry-run=server (-want +got):\n%s", diff)
		}
		out = k.ok(dsManifest("dry2", "nginx:1.27", "", ""), "apply", "--dry-run=server", "-f", "-")
		if diff := cmp.Diff("daemonset.apps/dry2 created (server dry run)\n", out); diff != "" {
			t.Errorf("apply (create) --dry-run=server (-want +got):\n%s", diff)
		}
		for _, name := range []string{"dry", "dry2"} {
			if r := k.run("", "get", "ds", name); r.code != 1 || !strings.Contains(r.stderr, `daemonsets.apps "`+name+`" not found`) {
				t.Errorf("dry-run created %s was stored: %s", name, r)
			}
		}

		out = k.ok(dsManifest("web", "nginx:1.28", "", ""), "apply", "--dry-run=server", "-f", "-")
		if diff := cmp.Diff("daemonset.apps/web configured (server dry run)\n", out); diff != "" {
			t.Errorf("apply (update) --dry-run=server (-want +got):\n%s", diff)
		}
		r := k.run("", "delete", "ds", "web", "--dry-run=server")
		if r.code != 0 || !regexp.MustCompile(`^daemonset\.apps "web" deleted( from default namespace)? \(server dry run\)\n$`).MatchString(r.stdout) {
			t.Errorf("delete --dry-run=server: %s", r)
		}
		after := k.getDaemonSet("web")
		got := []any{after.UID, after.Generation, after.Spec.Template.Spec.Containers[0].Image}
		if diff := cmp.Diff([]any{before.UID, before.Generation, "nginx:1.27"}, got); diff != "" {
			t.Errorf("DaemonSet after dry-run update and delete (-want +got):\n%s", diff)
		}

		// The dry-run update answer carries the would-be object.
		var would appsv1.DaemonSet
		out = k.ok(dsManifest("web", "nginx:1.28", "", ""), "apply", "--dry-run=server", "-f", "-", "-o", "json")
		if err := json.Unmarshal([]byte(out), &would); err != nil {
			t.Fatalf("decode dry-run answer: %v\n%s", err, out)
		}
		got = []any{would.Spec.Template.Spec.Containers[0].Image, would.Annotations[templateGenerationAnnotation]}
		if diff := cmp.Diff([]any{"nginx:1.28", "2"}, got); diff != "" {
			t.Errorf("dry-run answer [image, template generation] (-want +got):\n%s", diff)
		}
	})
}
