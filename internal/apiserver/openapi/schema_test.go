package openapi

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// asJSON turns a schema into generic JSON so tests compare what is served.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func parseJSON(t *testing.T, s string) any {
	t.Helper()
	var out any
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return out
}

func TestUseSiteSchemas(t *testing.T) {
	type anonymousHolder struct {
		Inline struct {
			A string `json:"a"`
		} `json:"inline"`
	}
	tests := []struct {
		name string
		typ  reflect.Type
		want string
	}{
		{"bytes are base64 strings", reflect.TypeFor[[]byte](), `{"type":"string","format":"byte"}`},
		{"int32 pointer", reflect.TypeFor[*int32](), `{"type":"integer","format":"int32"}`},
		{"int64", reflect.TypeFor[int64](), `{"type":"integer","format":"int64"}`},
		{"float64", reflect.TypeFor[float64](), `{"type":"number","format":"double"}`},
		{"named string type", reflect.TypeFor[corev1.TaintEffect](), `{"type":"string"}`},
		{"string map values default to empty", reflect.TypeFor[map[string]string](),
			`{"type":"object","additionalProperties":{"type":"string","default":""}}`},
		{"struct list items default to empty objects", reflect.TypeFor[[]corev1.Toleration](),
			`{"type":"array","items":{"$ref":"#/definitions/io.k8s.api.core.v1.Toleration","default":{}}}`},
		{"resource list values are quantities", reflect.TypeFor[corev1.ResourceList](),
			`{"type":"object","additionalProperties":{"$ref":"#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"}}`},
		{"time is a reference", reflect.TypeFor[*metav1.Time](), `{"$ref":"#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Time"}`},
		{"anonymous struct is described in place", reflect.TypeFor[anonymousHolder]().Field(0).Type,
			`{"type":"object","properties":{"a":{"type":"string","default":""}},"required":["a"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newDefinitions(nil).use(tt.typ)
			if err != nil {
				t.Fatalf("use(%v): %v", tt.typ, err)
			}
			if diff := cmp.Diff(parseJSON(t, tt.want), asJSON(t, got)); diff != "" {
				t.Errorf("schema of %v (-want +got):\n%s", tt.typ, diff)
			}
		})
	}
}

func TestDefinitionNames(t *testing.T) {
	tests := []struct {
		typ  reflect.Type
		want string
	}{
		{reflect.TypeFor[corev1.Pod](), "io.k8s.api.core.v1.Pod"},
		{reflect.TypeFor[metav1.ObjectMeta](), "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
		{reflect.TypeFor[resource.Quantity](), "io.k8s.apimachinery.pkg.api.resource.Quantity"},
		{reflect.TypeFor[intstr.IntOrString](), "io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, definitionName(tt.typ)); diff != "" {
				t.Errorf("definitionName(%v) (-want +got):\n%s", tt.typ, diff)
			}
		})
	}
}

// TestV3Schemas checks the served v3 shapes of the special types and of the
// fields whose merge semantics kubectl and server-side apply depend on.
func TestV3Schemas(t *testing.T) {
	docs, err := buildDocuments(testResources())
	if err != nil {
		t.Fatal(err)
	}
	core := docs.v3["api/v1"].Components.Schemas
	apps := docs.v3["apis/apps/v1"].Components.Schemas
	without := func(v any, keys ...string) any {
		m, _ := v.(map[string]any)
		out := map[string]any{}
		for k, val := range m {
			out[k] = val
		}
		for _, k := range keys {
			delete(out, k)
		}
		return out
	}
	def := func(doc map[string]any, name string) any { return doc[name] }
	prop := func(doc map[string]any, name, field string) any {
		return without(doc[name].(map[string]any)["properties"].(map[string]any)[field], "description")
	}
	coreJSON := asJSON(t, core).(map[string]any)
	appsJSON := asJSON(t, apps).(map[string]any)

	tests := []struct {
		name string
		got  any
		want string
	}{
		{"Quantity is a string or a number",
			without(def(coreJSON, "io.k8s.apimachinery.pkg.api.resource.Quantity"), "description"),
			`{"oneOf":[{"type":"string"},{"type":"number"}]}`},
		{"IntOrString is an integer or a string",
			without(def(appsJSON, "io.k8s.apimachinery.pkg.util.intstr.IntOrString"), "description"),
			`{"format":"int-or-string","oneOf":[{"type":"integer"},{"type":"string"}]}`},
		{"Time is a date-time string",
			without(def(coreJSON, "io.k8s.apimachinery.pkg.apis.meta.v1.Time"), "description"),
			`{"type":"string","format":"date-time"}`},
		{"RawExtension is any object",
			without(def(appsJSON, "io.k8s.apimachinery.pkg.runtime.RawExtension"), "description"),
			`{"type":"object"}`},
		{"FieldsV1 is any object",
			without(def(coreJSON, "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1"), "description"),
			`{"type":"object"}`},
		{"DaemonSet carries its kind",
			def(appsJSON, "io.k8s.api.apps.v1.DaemonSet").(map[string]any)[extGVK],
			`[{"group":"apps","version":"v1","kind":"DaemonSet"}]`},
		{"DaemonSet template is wrapped for v3 and defaults to an empty object",
			prop(appsJSON, "io.k8s.api.apps.v1.DaemonSetSpec", "template"),
			`{"allOf":[{"$ref":"#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec"}],"default":{}}`},
		{"containers are a map list keyed by name",
			without(prop(coreJSON, "io.k8s.api.core.v1.PodSpec", "containers"), "items"),
			`{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],
			  "x-kubernetes-patch-merge-key":"name","x-kubernetes-patch-strategy":"merge"}`},
		{"container ports are keyed by port and protocol",
			without(prop(coreJSON, "io.k8s.api.core.v1.Container", "ports"), "items"),
			`{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["containerPort","protocol"],
			  "x-kubernetes-patch-merge-key":"containerPort","x-kubernetes-patch-strategy":"merge"}`},
		{"port protocol defaults to TCP",
			prop(coreJSON, "io.k8s.api.core.v1.ContainerPort", "protocol"),
			`{"type":"string","default":"TCP"}`},
		{"tolerations are atomic",
			without(prop(coreJSON, "io.k8s.api.core.v1.PodSpec", "tolerations"), "items"),
			`{"type":"array","x-kubernetes-list-type":"atomic"}`},
		{"node selector is an atomic map",
			prop(coreJSON, "io.k8s.api.core.v1.PodSpec", "nodeSelector"),
			`{"type":"object","additionalProperties":{"type":"string","default":""},"x-kubernetes-map-type":"atomic"}`},
		{"finalizers are a set merged by value",
			without(prop(coreJSON, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers"), "items"),
			`{"type":"array","x-kubernetes-list-type":"set","x-kubernetes-patch-strategy":"merge"}`},
		{"taints are atomic",
			without(prop(coreJSON, "io.k8s.api.core.v1.NodeSpec", "taints"), "items"),
			`{"type":"array","x-kubernetes-list-type":"atomic"}`},
		{"local object references are atomic structs",
			def(coreJSON, "io.k8s.api.core.v1.LocalObjectReference").(map[string]any)[extMapType],
			`"atomic"`},
		{"required fields follow field order",
			def(coreJSON, "io.k8s.api.core.v1.Binding").(map[string]any)["required"],
			`["target"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(parseJSON(t, tt.want), tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestPathOperations checks the routes and operation IDs upstream clients
// and generators rely on.
func TestPathOperations(t *testing.T) {
	docs, err := buildDocuments(testResources())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want map[string]string
	}{
		{"/api/v1/namespaces/{namespace}/pods", map[string]string{
			"get": "listCoreV1NamespacedPod", "post": "createCoreV1NamespacedPod", "delete": "deleteCoreV1CollectionNamespacedPod"}},
		{"/api/v1/namespaces/{namespace}/pods/{name}", map[string]string{
			"get": "readCoreV1NamespacedPod", "put": "replaceCoreV1NamespacedPod", "patch": "patchCoreV1NamespacedPod", "delete": "deleteCoreV1NamespacedPod"}},
		{"/api/v1/namespaces/{namespace}/pods/{name}/status", map[string]string{
			"get": "readCoreV1NamespacedPodStatus", "put": "replaceCoreV1NamespacedPodStatus", "patch": "patchCoreV1NamespacedPodStatus"}},
		{"/api/v1/namespaces/{namespace}/pods/{name}/binding", map[string]string{"post": "createCoreV1NamespacedPodBinding"}},
		{"/api/v1/namespaces/{namespace}/pods/{name}/eviction", map[string]string{"post": "createCoreV1NamespacedPodEviction"}},
		{"/api/v1/namespaces/{namespace}/pods/{name}/log", map[string]string{"get": "readCoreV1NamespacedPodLog"}},
		{"/api/v1/pods", map[string]string{"get": "listCoreV1PodForAllNamespaces"}},
		{"/api/v1/watch/pods", map[string]string{"get": "watchCoreV1PodListForAllNamespaces"}},
		{"/api/v1/nodes", map[string]string{"get": "listCoreV1Node", "post": "createCoreV1Node", "delete": "deleteCoreV1CollectionNode"}},
		{"/api/v1/nodes/{name}/status", map[string]string{
			"get": "readCoreV1NodeStatus", "put": "replaceCoreV1NodeStatus", "patch": "patchCoreV1NodeStatus"}},
		{"/api/v1/watch/nodes/{name}", map[string]string{"get": "watchCoreV1Node"}},
		{"/api/v1/namespaces", map[string]string{"get": "listCoreV1Namespace", "post": "createCoreV1Namespace"}},
		{"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}", map[string]string{
			"get": "readCoordinationV1NamespacedLease", "put": "replaceCoordinationV1NamespacedLease",
			"patch": "patchCoordinationV1NamespacedLease", "delete": "deleteCoordinationV1NamespacedLease"}},
		{"/apis/apps/v1/", map[string]string{"get": "getAppsV1APIResources"}},
		{"/apis/events.k8s.io/v1/events", map[string]string{"get": "listEventsV1EventForAllNamespaces"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			item, ok := docs.v2.Paths.Paths[tt.path]
			if !ok {
				t.Fatalf("path %s not served", tt.path)
			}
			got := map[string]string{}
			for method, op := range map[string]*spec.Operation{"get": item.Get, "put": item.Put, "post": item.Post, "patch": item.Patch, "delete": item.Delete} {
				if op != nil {
					got[method] = op.ID
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("operations of %s (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}

// TestSharedParametersMoveToPath checks the parameter placement upstream
// uses: what every operation of a path takes sits on the path item.
func TestSharedParametersMoveToPath(t *testing.T) {
	docs, err := buildDocuments(testResources())
	if err != nil {
		t.Fatal(err)
	}
	names := func(ps []spec.Parameter) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.In+":"+p.Name)
		}
		sort.Strings(out)
		return out
	}
	item := docs.v2.Paths.Paths["/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}"]
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"item path", names(item.Parameters), []string{"path:name", "path:namespace", "query:pretty"}},
		{"patch operation", names(item.Patch.Parameters), []string{"body:body", "query:dryRun", "query:fieldManager", "query:fieldValidation", "query:force"}},
		{"get operation", names(item.Get.Parameters), nil},
		{"single-operation binding path keeps nothing on the operation but its body",
			names(docs.v2.Paths.Paths["/api/v1/namespaces/{namespace}/pods/{name}/binding"].Post.Parameters), []string{"body:body"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
