package e2e

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// dsManifest is a minimal valid DaemonSet; extraMeta is spliced into
// metadata (indented by two spaces) and extraSpec into spec.
func dsManifest(name, image, extraMeta, extraSpec string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: %[1]s
%[3]sspec:
%[4]s  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
    spec:
      containers:
      - name: main
        image: %[2]s
`, name, image, extraMeta, extraSpec)
}

// withNodeSelector adds a nodeSelector no test node matches to a manifest
// from dsManifest, so a DaemonSet controller (when running) creates no pods
// and the expected output stays independent of it.
func withNodeSelector(manifest string) string {
	return strings.Replace(manifest, "      containers:\n", "      nodeSelector:\n        disk: none\n      containers:\n", 1)
}

// nodeManifest is a Node as an agent would register it (there is no agent
// yet, so tests create nodes themselves).
func nodeManifest(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Node
metadata:
  name: %[1]s
  labels:
    kubernetes.io/hostname: %[1]s
`, name)
}

// podManifest is a bare pod; nodeName may be empty (unscheduled).
func podManifest(name, nodeName string) string {
	node := ""
	if nodeName != "" {
		node = "  nodeName: " + nodeName + "\n"
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  labels:
    app: bare
spec:
%s  containers:
  - name: main
    image: busybox:1.36
`, name, node)
}

func (k *kc) getDaemonSet(name string, args ...string) appsv1.DaemonSet {
	k.t.Helper()
	var ds appsv1.DaemonSet
	k.getJSON(&ds, append([]string{"get", "daemonset", name}, args...)...)
	return ds
}

func (k *kc) getNode(name string) corev1.Node {
	k.t.Helper()
	var n corev1.Node
	k.getJSON(&n, "get", "node", name)
	return n
}

// getJSON runs `kubectl <args> -o json` and decodes stdout into v.
func (k *kc) getJSON(v any, args ...string) {
	k.t.Helper()
	out := k.ok("", append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		k.t.Fatalf("kubectl %s -o json: decode: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// anonymousGet does a GET without client credentials (and without
// verifying the serving certificate).
func anonymousGet(url string) (int, string, error) {
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// headerFields splits the first line of a table into its column names
// (multi-word headers such as "NODE SELECTOR" become two fields).
func headerFields(t *testing.T, table string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("empty table output")
	}
	return strings.Fields(lines[0])
}

// rowFields returns the fields of the table row whose first column is
// name, with the column at ageIndex replaced by "AGE".
func rowFields(t *testing.T, table, name string, ageIndex int) []string {
	t.Helper()
	for _, line := range strings.Split(table, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == name {
			if ageIndex < len(f) {
				f[ageIndex] = "AGE"
			}
			return f
		}
	}
	t.Fatalf("no row %q in:\n%s", name, table)
	return nil
}
