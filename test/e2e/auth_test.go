package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
)

// TestAnonymousRequests checks what a client without a certificate gets:
// 401 with a Status body on the API, answers on the health and version
// endpoints.
func TestAnonymousRequests(t *testing.T) {
	t.Parallel()
	c := startCluster(t)

	for _, path := range []string{"/api/v1/namespaces", "/apis/apps/v1/daemonsets", "/api/v1/nodes/n1"} {
		code, body, err := anonymousGet(c.url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		var st metav1.Status
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Errorf("GET %s: body is not a Status: %v\n%s", path, err, body)
		}
		want := metav1.Status{
			TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status:   metav1.StatusFailure, Message: "Unauthorized", Reason: metav1.StatusReasonUnauthorized, Code: 401,
		}
		if diff := cmp.Diff([]any{401, want}, []any{code, st}); diff != "" {
			t.Errorf("GET %s: [code, Status] (-want +got):\n%s", path, diff)
		}
	}

	for _, path := range []string{"/healthz", "/livez", "/readyz"} {
		code, body, err := anonymousGet(c.url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if diff := cmp.Diff([]any{200, "ok"}, []any{code, body}); diff != "" {
			t.Errorf("GET %s: [code, body] (-want +got):\n%s", path, diff)
		}
	}

	code, body, err := anonymousGet(c.url + "/version")
	if err != nil {
		t.Fatalf("GET /version: %v", err)
	}
	var v version.Info
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("GET /version: %v\n%s", err, body)
	}
	if code != 200 || !strings.HasPrefix(v.GitVersion, "v1.37.") || v.Major != "1" || v.Minor != "37" {
		t.Errorf("GET /version: code %d, %+v", code, v)
	}
}

// TestKubectlVersion checks the embedded kubectl reports its real version
// (v1.37.x, not v0.0.0-master) and the server's.
func TestKubectlVersion(t *testing.T) {
	t.Parallel()
	k := &kc{t: t, c: startCluster(t), k: kubectls()[0]}
	var v struct {
		ClientVersion version.Info `json:"clientVersion"`
		ServerVersion version.Info `json:"serverVersion"`
	}
	out := k.ok("", "version", "-o", "json")
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("decode: %v\n%s", err, out)
	}
	got := []string{v.ClientVersion.Major, v.ClientVersion.Minor, v.ServerVersion.Major, v.ServerVersion.Minor}
	if diff := cmp.Diff([]string{"1", "37", "1", "37"}, got); diff != "" {
		t.Errorf("[client major, minor, server major, minor] (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(v.ClientVersion.GitVersion, "v1.37.") {
		t.Errorf("client gitVersion = %q, want v1.37.x", v.ClientVersion.GitVersion)
	}
	text := k.ok("", "version")
	if !strings.Contains(text, "Client Version: v1.37.") || strings.Contains(text, "v0.0.0-master") {
		t.Errorf("kubectl version:\n%s", text)
	}
}

// TestKubectlGlobalFlags checks the embedded kubectl takes kubectl's own
// logging flags and reports a bad flag once, with exit status 1, as the
// real binary does (1.32 logs requests as text, 1.37 structured).
func TestKubectlGlobalFlags(t *testing.T) {
	forEachKubectl(t, func(t *testing.T, k *kc) {
		r := k.run("", "get", "nodes", "-v=6")
		if r.code != 0 || !regexp.MustCompile(`GET https://\S+/api/v1/nodes\S* 200 OK|verb="GET" url="https://\S+/api/v1/nodes\S*" status="200 OK"`).MatchString(r.stderr) {
			t.Errorf("get nodes -v=6: want exit 0 and the request logged with 200 OK:\n%s", r)
		}
		r = k.run("", "get", "nodes", "--no-such-flag")
		if r.code != 1 || strings.Count(r.stderr, "unknown flag: --no-such-flag") != 1 {
			t.Errorf("get nodes --no-such-flag: want exit 1 and the error once:\n%s", r)
		}
	})
}
