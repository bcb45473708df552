package openapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	appsv1 "k8s.io/api/apps/v1"
)

func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := NewHandler(testResources())
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type reply struct {
	status      int
	contentType string
	etag        string
	cache       string
	location    string
	body        []byte
}

func get(t *testing.T, srv *httptest.Server, path string, header map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{
		status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), etag: resp.Header.Get("Etag"),
		cache: resp.Header.Get("Cache-Control"), location: resp.Header.Get("Location"), body: body,
	}
}

func TestOpenAPIV2(t *testing.T) {
	srv := newTestServer(t)
	jsonReply := get(t, srv, "/openapi/v2", map[string]string{"Accept": "application/json"})

	tests := []struct {
		name            string
		header          map[string]string
		wantStatus      int
		wantContentType string
	}{
		{"JSON on request", map[string]string{"Accept": "application/json"}, 200, "application/json"},
		{"JSON without Accept", nil, 200, "application/json"},
		{"protobuf as client-go asks for it", map[string]string{"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}, 200, mediaProtobuf},
		{"protobuf by its current name", map[string]string{"Accept": mediaProtobuf}, 200, mediaProtobuf},
		{"protobuf preferred over JSON by quality", map[string]string{"Accept": "application/json;q=0.5, application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}, 200, mediaProtobuf},
		{"unchanged document is not resent", map[string]string{"Accept": "application/json", "If-None-Match": jsonReply.etag}, 304, ""},
		{"unknown media type", map[string]string{"Accept": "text/html"}, 406, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, srv, "/openapi/v2", tt.header)
			if diff := cmp.Diff([]any{tt.wantStatus, tt.wantContentType}, []any{r.status, r.contentType}); diff != "" {
				t.Fatalf("status, content type (-want +got):\n%s", diff)
			}
			if r.status != 200 {
				return
			}
			if r.etag == "" || r.etag != jsonReply.etag {
				t.Errorf("ETag = %q, want the document's %q", r.etag, jsonReply.etag)
			}
			doc := &openapi_v2.Document{}
			if r.contentType == mediaProtobuf {
				if err := proto.Unmarshal(r.body, doc); err != nil {
					t.Fatalf("decode protobuf: %v", err)
				}
			} else {
				var err error
				if doc, err = openapi_v2.ParseDocument(r.body); err != nil {
					t.Fatalf("parse JSON: %v", err)
				}
			}
			checkV2Document(t, doc)
		})
	}
}

// checkV2Document looks for what kubectl's v2 fallback reads: the PATCH
// operation of a kind, its GVK extension and its fieldValidation parameter.
func checkV2Document(t *testing.T, doc *openapi_v2.Document) {
	t.Helper()
	if doc.GetSwagger() != "2.0" {
		t.Errorf("swagger = %q, want 2.0", doc.GetSwagger())
	}
	var defs []string
	for _, d := range doc.GetDefinitions().GetAdditionalProperties() {
		defs = append(defs, d.GetName())
	}
	for _, want := range []string{"io.k8s.api.apps.v1.DaemonSet", "io.k8s.api.core.v1.PodSpec", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"} {
		if !slices.Contains(defs, want) {
			t.Errorf("definition %s missing", want)
		}
	}
	var patchParams []string
	var gvk string
	for _, p := range doc.GetPaths().GetPath() {
		if p.GetName() != "/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}" {
			continue
		}
		for _, ext := range p.GetValue().GetPatch().GetVendorExtension() {
			if ext.GetName() == extGVK {
				gvk = strings.TrimSpace(ext.GetValue().GetYaml())
			}
		}
		for _, param := range p.GetValue().GetPatch().GetParameters() {
			if q := param.GetParameter().GetNonBodyParameter().GetQueryParameterSubSchema(); q != nil {
				patchParams = append(patchParams, q.GetName())
			}
		}
	}
	if diff := cmp.Diff([]string{"dryRun", "fieldManager", "fieldValidation", "force"}, patchParams); diff != "" {
		t.Errorf("DaemonSet PATCH query parameters (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("group: apps\nkind: DaemonSet\nversion: v1", gvk); diff != "" {
		t.Errorf("DaemonSet PATCH %s (-want +got):\n%s", extGVK, diff)
	}
}

func TestOpenAPIV3Index(t *testing.T) {
	srv := newTestServer(t)
	r := get(t, srv, "/openapi/v3", nil)
	if r.status != 200 {
		t.Fatalf("GET /openapi/v3: %d", r.status)
	}
	var index struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &index); err != nil {
		t.Fatalf("decode index: %v", err)
	}
	var gvs []string
	for gv, entry := range index.Paths {
		gvs = append(gvs, gv)
		if want := "/openapi/v3/" + gv + "?hash="; !strings.HasPrefix(entry.ServerRelativeURL, want) {
			t.Errorf("%s: serverRelativeURL %q, want prefix %q", gv, entry.ServerRelativeURL, want)
		}
	}
	slices.Sort(gvs)
	if diff := cmp.Diff([]string{"api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1", "apis/events.k8s.io/v1"}, gvs); diff != "" {
		t.Errorf("index group versions (-want +got):\n%s", diff)
	}

	apps := index.Paths["apis/apps/v1"].ServerRelativeURL
	tests := []struct {
		name         string
		path         string
		wantStatus   int
		wantCache    string
		wantLocation string
	}{
		{"document at its hash is immutable", apps, 200, "public, immutable", ""},
		{"document without hash is not cached forever", "/openapi/v3/apis/apps/v1", 200, "", ""},
		{"stale hash redirects to the current one", "/openapi/v3/apis/apps/v1?hash=0123", 301, "", apps},
		{"unknown group version", "/openapi/v3/apis/batch/v1", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, srv, tt.path, map[string]string{"Accept": "application/json"})
			type outcome struct {
				Status          int
				Cache, Location string
			}
			want := outcome{tt.wantStatus, tt.wantCache, tt.wantLocation}
			if diff := cmp.Diff(want, outcome{r.status, r.cache, r.location}); diff != "" {
				t.Errorf("GET %s status, Cache-Control, Location (-want +got):\n%s", tt.path, diff)
			}
			if r.status == 200 && !strings.Contains(string(r.body), `"openapi":"3.0.0"`) {
				t.Errorf("GET %s: not an OpenAPI 3 document: %.200s", tt.path, r.body)
			}
		})
	}
}

func TestNewHandlerRejectsBadResources(t *testing.T) {
	ds := testResources()[0]
	noObject := ds
	noObject.Object = nil
	badVerb := ds
	badVerb.Subresources = []Subresource{{Name: "status", Verbs: []string{"proxy"}}}
	noPlural := ds
	noPlural.Plural = ""
	tests := []struct {
		name      string
		resources []Resource
		wantErr   string
	}{
		{"resource without object type", []Resource{noObject}, "Object and List are required"},
		{"same resource served twice", []Resource{ds, ds}, "declared twice"},
		{"subresource with an unknown verb", []Resource{badVerb}, `unsupported verb "proxy"`},
		{"resource without plural", []Resource{noPlural}, "plural are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewHandler(tt.resources)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewHandler error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := NewHandler([]Resource{{
		GVK: appsv1.SchemeGroupVersion.WithKind("DaemonSet"), Plural: "daemonsets", Namespaced: true,
		Object: &appsv1.DaemonSet{}, List: &appsv1.DaemonSetList{}, Verbs: []string{"get"},
	}}); err != nil {
		t.Errorf("NewHandler with a minimal resource: %v", err)
	}
}
