package e2e

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// badDS returns a DaemonSet "bad" with extraSpec spliced into spec and
// extraTemplateSpec into template.spec (before containers).
func badDS(extraSpec, extraTemplateSpec string) string {
	return `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: bad
spec:
` + extraSpec + `  selector:
    matchLabels:
      app: bad
  template:
    metadata:
      labels:
        app: bad
    spec:
` + extraTemplateSpec + `      containers:
      - name: main
        image: nginx:1.27
`
}

// TestInvalidManifestsRejected applies invalid objects and expects
// upstream kube-apiserver's exact error text and exit code 1.
func TestInvalidManifestsRejected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		manifest string
		want     string // the whole stderr line kubectl prints
	}{
		{
			name: "R183 selector does not match template labels",
			manifest: `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: bad
spec:
  selector:
    matchLabels:
      app: a
  template:
    metadata:
      labels:
        app: b
    spec:
      containers:
      - name: main
        image: nginx:1.27
`,
			want: "The DaemonSet \"bad\" is invalid: spec.template.metadata.labels: Invalid value: {\"app\":\"b\"}: `selector` does not match template `labels`",
		},
		{
			name:     "R184 restartPolicy OnFailure",
			manifest: badDS("", "      restartPolicy: OnFailure\n"),
			want:     `The DaemonSet "bad" is invalid: spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`,
		},
		{
			name:     "R19 tolerationSeconds with effect NoSchedule",
			manifest: badDS("", "      tolerations:\n      - key: k\n        operator: Exists\n        effect: NoSchedule\n        tolerationSeconds: 30\n"),
			want:     "The DaemonSet \"bad\" is invalid: spec.template.spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
		},
		{
			// Upstream reports the whole toleration as the bad value, and
			// it is the internal type (no JSON tags), hence the Go field
			// names.
			name:     "R15 operator Exists with a value",
			manifest: badDS("", "      tolerations:\n      - key: k\n        operator: Exists\n        value: v\n        effect: NoSchedule\n"),
			want:     "The DaemonSet \"bad\" is invalid: spec.template.spec.tolerations[0].operator: Invalid value: {\"Key\":\"k\",\"Operator\":\"Exists\",\"Value\":\"v\",\"Effect\":\"NoSchedule\",\"TolerationSeconds\":null}: value must be empty when `operator` is 'Exists'",
		},
		{
			// Upstream validates node taints under the path
			// metadata.taints, not spec.taints.
			name: "R21 node taint with a bad effect",
			manifest: `apiVersion: v1
kind: Node
metadata:
  name: bad
spec:
  taints:
  - key: dedicated
    value: gpu
    effect: Sometimes
`,
			want: `The Node "bad" is invalid: metadata.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`,
		},
		{
			name:     "R104 maxUnavailable over 100%",
			manifest: badDS("  updateStrategy:\n    type: RollingUpdate\n    rollingUpdate:\n      maxUnavailable: \"101%\"\n", ""),
			want:     `The DaemonSet "bad" is invalid: spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: "101%": must not be greater than 100%`,
		},
		{
			name:     "R105 maxUnavailable and maxSurge both non-zero",
			manifest: badDS("  updateStrategy:\n    type: RollingUpdate\n    rollingUpdate:\n      maxUnavailable: \"20%\"\n      maxSurge: 1\n", ""),
			want:     `The DaemonSet "bad" is invalid: spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero`,
		},
	}
	forEachKubectl(t, func(t *testing.T, k *kc) {
		for _, tc := range tests {
			r := k.run(tc.manifest, "apply", "-f", "-")
			got := []any{r.code, strings.TrimSpace(r.stderr)}
			if diff := cmp.Diff([]any{1, tc.want}, got); diff != "" {
				t.Errorf("%s: [exit code, stderr] (-want +got):\n%s", tc.name, diff)
			}
		}
		if r := k.run("", "get", "ds,nodes", "bad"); r.code != 1 {
			t.Errorf("a rejected object was stored: %s", r)
		}
	})
}

// TestFieldValidation checks --validate=strict|warn|false with an unknown
// field: strict is refused by the server, warn stores and warns, false
// stores silently.
func TestFieldValidation(t *testing.T) {
	t.Parallel()
	withFoo := func(name string) string { return dsManifest(name, "nginx:1.27", "", "  foo: bar\n") }
	forEachKubectl(t, func(t *testing.T, k *kc) {
		r := k.run(withFoo("strict"), "apply", "--validate=strict", "-f", "-")
		want := `Error from server (BadRequest): error when creating "STDIN": DaemonSet in version "v1" cannot be handled as a DaemonSet: strict decoding error: unknown field "spec.foo"`
		if diff := cmp.Diff([]any{1, want}, []any{r.code, strings.TrimSpace(r.stderr)}); diff != "" {
			t.Errorf("--validate=strict: [exit code, stderr] (-want +got):\n%s", diff)
		}

		r = k.run(withFoo("warn"), "apply", "--validate=warn", "-f", "-")
		got := []any{r.code, r.stdout, strings.TrimSpace(r.stderr)}
		if diff := cmp.Diff([]any{0, "daemonset.apps/warn created\n", `Warning: unknown field "spec.foo"`}, got); diff != "" {
			t.Errorf("--validate=warn: [exit code, stdout, stderr] (-want +got):\n%s", diff)
		}

		r = k.run(withFoo("ignore"), "apply", "--validate=false", "-f", "-")
		got = []any{r.code, r.stdout, r.stderr}
		if diff := cmp.Diff([]any{0, "daemonset.apps/ignore created\n", ""}, got); diff != "" {
			t.Errorf("--validate=false: [exit code, stdout, stderr] (-want +got):\n%s", diff)
		}
	})
}

// TestRequestTooLarge sends a manifest over the 3 MiB request limit (a huge
// annotation) and expects upstream's 413.
func TestRequestTooLarge(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 3*1024*1024+1024)
	manifest := dsManifest("huge", "nginx:1.27", "  annotations:\n    blob: "+huge+"\n", "")
	forEachKubectl(t, func(t *testing.T, k *kc) {
		r := k.run(manifest, "create", "-f", "-")
		want := `Error from server (RequestEntityTooLarge): error when creating "STDIN": Request entity too large: limit is 3145728`
		if diff := cmp.Diff([]any{1, want}, []any{r.code, strings.TrimSpace(r.stderr)}); diff != "" {
			t.Errorf("[exit code, stderr] (-want +got):\n%s", diff)
		}
		if r := k.run("", "get", "ds", "huge"); r.code != 1 {
			t.Errorf("the huge DaemonSet was stored: %s", r)
		}
	})
}
