package openapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/validation/spec"
	explainv2 "k8s.io/kubectl/pkg/explain/v2"
)

// These tests drive our documents through the libraries kubectl itself uses,
// over HTTP, so they fail exactly when kubectl would misbehave.

func startServer(t *testing.T) (*rest.Config, *discovery.DiscoveryClient) {
	t.Helper()
	h, err := NewHandler(testResources())
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := &rest.Config{Host: srv.URL}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatalf("discovery client: %v", err)
	}
	return cfg, dc
}

func TestKubectlFieldValidationSupport(t *testing.T) {
	cfg, dc := startServer(t)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// kubectl asks the v3 verifier first and falls back to v2; both must
	// agree, so `kubectl apply --validate=strict` sends fieldValidation=Strict.
	verifiers := map[string]resource.Verifier{
		"v3": resource.NewQueryParamVerifierV3(dyn, dc.OpenAPIV3(), resource.QueryParamFieldValidation),
		"v2": resource.NewQueryParamVerifier(dyn, dc, resource.QueryParamFieldValidation),
	}
	tests := []struct {
		name string
		gvk  schema.GroupVersionKind
		want bool
	}{
		{"apps/v1 DaemonSet supports fieldValidation", appsv1.SchemeGroupVersion.WithKind("DaemonSet"), true},
		{"core/v1 Pod supports fieldValidation", corev1.SchemeGroupVersion.WithKind("Pod"), true},
		{"cluster-scoped Node supports fieldValidation", corev1.SchemeGroupVersion.WithKind("Node"), true},
		{"coordination Lease supports fieldValidation", schema.GroupVersionKind{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"}, true},
		{"unserved kind in a served group is not supported", appsv1.SchemeGroupVersion.WithKind("Deployment"), false},
		{"unserved group is not supported", schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, false},
	}
	for _, tt := range tests {
		for version, v := range verifiers {
			t.Run(version+"/"+tt.name, func(t *testing.T) {
				err := v.HasSupport(tt.gvk)
				if got := err == nil; got != tt.want {
					t.Errorf("HasSupport(%v) = %v, want supported=%v", tt.gvk, err, tt.want)
				}
			})
		}
	}
}

// explainFields returns the "name <type> [-required-]" lines of a kubectl
// explain FIELDS section, and whether every field had a description.
func explainFields(out string) (fields []string, described bool) {
	described = true
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "  ") || strings.HasPrefix(l, "   ") || !strings.Contains(l, "\t<") {
			continue
		}
		fields = append(fields, strings.Join(strings.Fields(l), " "))
		if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) == "" || strings.Contains(lines[i+1], "<no description>") {
			described = false
		}
	}
	return fields, described
}

func TestKubectlExplain(t *testing.T) {
	_, dc := startServer(t)
	tests := []struct {
		name       string
		gvr        schema.GroupVersionResource
		path       []string
		wantHeader string
		wantFields []string
	}{
		{
			name:       "explain daemonset.spec",
			gvr:        appsv1.SchemeGroupVersion.WithResource("daemonsets"),
			path:       []string{"spec"},
			wantHeader: "GROUP:      apps\nKIND:       DaemonSet\nVERSION:    v1\n\nFIELD: spec <DaemonSetSpec>",
			wantFields: []string{
				"minReadySeconds <integer>",
				"revisionHistoryLimit <integer>",
				"selector <LabelSelector> -required-",
				"template <PodTemplateSpec> -required-",
				"updateStrategy <DaemonSetUpdateStrategy>",
			},
		},
		{
			name:       "explain pod.spec.tolerations",
			gvr:        corev1.SchemeGroupVersion.WithResource("pods"),
			path:       []string{"spec", "tolerations"},
			wantHeader: "KIND:       Pod\nVERSION:    v1\n\nFIELD: tolerations <[]Toleration>",
			wantFields: []string{
				"effect <string>",
				"key <string>",
				"operator <string>",
				"tolerationSeconds <integer>",
				"value <string>",
			},
		},
		{
			name:       "explain node.spec.taints",
			gvr:        corev1.SchemeGroupVersion.WithResource("nodes"),
			path:       []string{"spec", "taints"},
			wantHeader: "KIND:       Node\nVERSION:    v1\n\nFIELD: taints <[]Taint>",
			wantFields: []string{
				"effect <string> -required-",
				"key <string> -required-",
				"timeAdded <string>",
				"value <string>",
			},
		},
		{
			name:       "explain lease.spec",
			gvr:        schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"},
			path:       []string{"spec"},
			wantHeader: "GROUP:      coordination.k8s.io\nKIND:       Lease\nVERSION:    v1\n\nFIELD: spec <LeaseSpec>",
			wantFields: []string{
				"acquireTime <string>",
				"holderIdentity <string>",
				"leaseDurationSeconds <integer>",
				"leaseTransitions <integer>",
				"preferredHolder <string>",
				"renewTime <string>",
				"strategy <string>",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := explainv2.PrintModelDescription(tt.path, &out, dc.OpenAPIV3(), tt.gvr, false, 0, "plaintext"); err != nil {
				t.Fatalf("explain %v %v: %v", tt.gvr, tt.path, err)
			}
			if !strings.HasPrefix(out.String(), tt.wantHeader) {
				t.Errorf("explain %v: output starts\n%s\nwant prefix\n%s", tt.path, firstLines(out.String(), 6), tt.wantHeader)
			}
			if !strings.Contains(out.String(), "DESCRIPTION:\n    ") || strings.Contains(out.String(), "DESCRIPTION:\n    <empty>") {
				t.Errorf("explain %v has no description:\n%s", tt.path, out.String())
			}
			fields, described := explainFields(out.String())
			if diff := cmp.Diff(tt.wantFields, fields); diff != "" {
				t.Errorf("explain %v fields (-want +got):\n%s", tt.path, diff)
			}
			if !described {
				t.Errorf("explain %v: a field lacks a description:\n%s", tt.path, out.String())
			}
		})
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// schemaForKind returns the v3 schema kubectl's apply picks for gvk.
func schemaForKind(t *testing.T, root openapi3.Root, gvk schema.GroupVersionKind) (*spec.Schema, map[string]*spec.Schema) {
	t.Helper()
	doc, err := root.GVSpec(gvk.GroupVersion())
	if err != nil {
		t.Fatalf("GVSpec(%v): %v", gvk.GroupVersion(), err)
	}
	for _, s := range doc.Components.Schemas {
		var kinds []map[string]string
		if err := s.Extensions.GetObject(extGVK, &kinds); err != nil {
			continue
		}
		for _, k := range kinds {
			if k["group"] == gvk.Group && k["version"] == gvk.Version && k["kind"] == gvk.Kind {
				return s, doc.Components.Schemas
			}
		}
	}
	t.Fatalf("no schema for %v", gvk)
	return nil, nil
}

func TestStrategicMergePatchMeta(t *testing.T) {
	_, dc := startServer(t)
	root := openapi3.NewRoot(dc.OpenAPIV3())
	podKind := corev1.SchemeGroupVersion.WithKind("Pod")
	dsKind := appsv1.SchemeGroupVersion.WithKind("DaemonSet")
	type meta struct {
		Strategies []string
		MergeKey   string
	}
	tests := []struct {
		name string
		gvk  schema.GroupVersionKind
		path []string // structs, then a final list field
		want meta
	}{
		{"pod containers merge by name", podKind, []string{"spec", "containers"}, meta{[]string{"merge"}, "name"}},
		{"pod tolerations are replaced whole", podKind, []string{"spec", "tolerations"}, meta{}},
		{"pod volumes merge by name and retain keys", podKind, []string{"spec", "volumes"}, meta{[]string{"merge", "retainKeys"}, "name"}},
		{"pod owner references merge by uid", podKind, []string{"metadata", "ownerReferences"}, meta{[]string{"merge"}, "uid"}},
		{"pod finalizers merge as a set", podKind, []string{"metadata", "finalizers"}, meta{[]string{"merge"}, ""}},
		{"daemonset template containers merge by name", dsKind, []string{"spec", "template", "spec", "containers"}, meta{[]string{"merge"}, "name"}},
		{"daemonset template tolerations are replaced whole", dsKind, []string{"spec", "template", "spec", "tolerations"}, meta{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, all := schemaForKind(t, root, tt.gvk)
			var lookup strategicpatch.LookupPatchMeta = strategicpatch.PatchMetaFromOpenAPIV3{Schema: s, SchemaList: all}
			for _, field := range tt.path[:len(tt.path)-1] {
				next, _, err := lookup.LookupPatchMetadataForStruct(field)
				if err != nil {
					t.Fatalf("struct %q: %v", field, err)
				}
				lookup = next
			}
			_, pm, err := lookup.LookupPatchMetadataForSlice(tt.path[len(tt.path)-1])
			if err != nil {
				t.Fatalf("slice %q: %v", tt.path[len(tt.path)-1], err)
			}
			got := meta{pm.GetPatchStrategies(), pm.GetPatchMergeKey()}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("patch meta of %v (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}

// TestApplyPatchMatchesStructPatch computes kubectl's client-side apply
// patch from our OpenAPI v3 schema and from the Go structs (the ground truth
// kubectl used before OpenAPI), and requires them to be identical. Overwrite
// is true as in `kubectl apply`.
func TestApplyPatchMatchesStructPatch(t *testing.T) {
	_, dc := startServer(t)
	root := openapi3.NewRoot(dc.OpenAPIV3())
	dsSchema, dsAll := schemaForKind(t, root, appsv1.SchemeGroupVersion.WithKind("DaemonSet"))

	tests := []struct {
		name                        string
		original, modified, current string
	}{
		{
			name:     "add a container and change an image",
			original: `{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"a:1"}]}}}}`,
			modified: `{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"a:2"},{"name":"b","image":"b:1"}]}}}}`,
			current:  `{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"a:1","imagePullPolicy":"IfNotPresent"}]}}}}`,
		},
		{
			name:     "replace tolerations, keep server-set fields",
			original: `{"spec":{"template":{"spec":{"tolerations":[{"key":"x","operator":"Exists"}]}}}}`,
			modified: `{"spec":{"template":{"spec":{"tolerations":[{"key":"y","operator":"Exists","effect":"NoSchedule"}]}}}}`,
			current:  `{"spec":{"template":{"spec":{"tolerations":[{"key":"x","operator":"Exists"}],"schedulerName":"default"}}}}`,
		},
		{
			name:     "drop a port from a container",
			original: `{"spec":{"template":{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80},{"containerPort":81}]}]}}}}`,
			modified: `{"spec":{"template":{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80}]}]}}}}`,
			current:  `{"spec":{"template":{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":81,"protocol":"TCP"}]}]}}}}`,
		},
		{
			name:     "change update strategy",
			original: `{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":1}}}}`,
			modified: `{"spec":{"updateStrategy":{"type":"OnDelete"}}}`,
			current:  `{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":1,"maxSurge":0}}}}`,
		},
	}
	structMeta, err := strategicpatch.NewPatchMetaFromStruct(&appsv1.DaemonSet{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := strategicpatch.CreateThreeWayMergePatch([]byte(tt.original), []byte(tt.modified), []byte(tt.current), structMeta, true)
			if err != nil {
				t.Fatalf("struct patch: %v", err)
			}
			got, err := strategicpatch.CreateThreeWayMergePatch([]byte(tt.original), []byte(tt.modified), []byte(tt.current),
				strategicpatch.PatchMetaFromOpenAPIV3{Schema: dsSchema, SchemaList: dsAll}, true)
			if err != nil {
				t.Fatalf("OpenAPI v3 patch: %v", err)
			}
			if diff := cmp.Diff(decode(t, want), decode(t, got)); diff != "" {
				t.Errorf("patch (-struct +openapi):\n%s", diff)
			}
		})
	}
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}
