package openapi

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/applyconfigurations"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kube-openapi/pkg/openapiconv"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
	smdschema "sigs.k8s.io/structured-merge-diff/v6/schema"
)

// documents are the built OpenAPI documents.
type documents struct {
	v2 *spec.Swagger
	// v3 is keyed by the group version's path without leading slash:
	// "api/v1", "apis/apps/v1".
	v3 map[string]*spec3.OpenAPI
}

// buildDocuments derives the v2 document and one v3 document per served
// group version from the resources' Go types.
func buildDocuments(resources []Resource) (*documents, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("build type scheme: %w", err)
	}
	semantics, err := mergeSemantics(scheme)
	if err != nil {
		return nil, err
	}

	defs := newDefinitions(semantics)
	paths := &pathSet{defs: defs, kinds: func(obj runtime.Object) (schema.GroupVersionKind, error) {
		return kindOf(scheme, obj)
	}}
	served := map[schema.GroupVersion]bool{}
	for _, r := range resources {
		if r.GVK.Version == "" || r.GVK.Kind == "" || r.Plural == "" {
			return nil, fmt.Errorf("resource %q (%v): group version kind and plural are required", r.Plural, r.GVK)
		}
		gv := r.GVK.GroupVersion()
		if !served[gv] {
			served[gv] = true
			if err := paths.addDiscovery(gv); err != nil {
				return nil, err
			}
		}
		if err := paths.addResource(r); err != nil {
			return nil, err
		}
	}
	items, err := placeRoutes(paths.routes)
	if err != nil {
		return nil, err
	}
	labelKinds(defs, scheme, served, resources)

	v2 := &spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger:     "2.0",
		Info:        &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: "unversioned"}},
		Paths:       &spec.Paths{Paths: items},
		Definitions: defs.schemas,
		SecurityDefinitions: spec.SecurityDefinitions{"BearerToken": &spec.SecurityScheme{SecuritySchemeProps: spec.SecuritySchemeProps{
			Type: "apiKey", Name: "authorization", In: "header", Description: "Bearer Token authentication",
		}}},
		Security: []map[string][]string{{"BearerToken": {}}},
	}}

	v3 := map[string]*spec3.OpenAPI{}
	for gv := range served {
		v3[gvPath(gv)] = groupVersionDocument(v2, "/"+gvPath(gv)+"/", defs.oneOf)
	}
	return &documents{v2: v2, v3: v3}, nil
}

// mergeSemantics returns the structured-merge-diff schema client-go ships for
// the built-in types. It is generated from upstream's OpenAPI, so it carries
// the +listType/+listMapKey/+mapType/+structType markers that reflection
// cannot see. The parser is internal to client-go; a typed value built with
// its type converter hands the schema out.
func mergeSemantics(scheme *runtime.Scheme) (*smdschema.Schema, error) {
	probe := &unstructured.Unstructured{}
	probe.SetAPIVersion("v1")
	probe.SetKind("Namespace")
	typed, err := applyconfigurations.NewTypeConverter(scheme).ObjectToTyped(probe)
	if err != nil {
		return nil, fmt.Errorf("load merge semantics of built-in types: %w", err)
	}
	return typed.Schema(), nil
}

// kindOf returns the group version kind the scheme knows obj's type by.
func kindOf(scheme *runtime.Scheme, obj runtime.Object) (schema.GroupVersionKind, error) {
	if gvk := obj.GetObjectKind().GroupVersionKind(); !gvk.Empty() {
		return gvk, nil
	}
	gvks, _, err := scheme.ObjectKinds(obj)
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("find kind of %T: %w", obj, err)
	}
	return gvks[0], nil
}

// labelKinds sets x-kubernetes-group-version-kind on every definition whose
// type the scheme registers under a served group version (and core v1, where
// the meta types such as Status live). kubectl finds a kind's schema by this
// extension.
func labelKinds(defs *definitions, scheme *runtime.Scheme, served map[schema.GroupVersion]bool, resources []Resource) {
	kinds := map[reflect.Type][]schema.GroupVersionKind{}
	seen := map[schema.GroupVersionKind]bool{}
	note := func(t reflect.Type, gvk schema.GroupVersionKind) {
		if !seen[gvk] {
			seen[gvk] = true
			kinds[t] = append(kinds[t], gvk)
		}
	}
	for gvk, t := range scheme.AllKnownTypes() {
		if gvk.Version == runtime.APIVersionInternal {
			continue
		}
		if served[gvk.GroupVersion()] || gvk.GroupVersion() == metav1.Unversioned {
			note(t, gvk)
		}
	}
	for _, r := range resources {
		note(reflect.TypeOf(r.Object).Elem(), r.GVK)
		note(reflect.TypeOf(r.List).Elem(), r.GVK.GroupVersion().WithKind(r.GVK.Kind+"List"))
		for _, sub := range r.Subresources {
			if sub.Object == nil {
				continue
			}
			if gvk, err := kindOf(scheme, sub.Object); err == nil {
				note(reflect.TypeOf(sub.Object).Elem(), gvk)
			}
		}
	}
	for t, name := range defs.names {
		list := kinds[t]
		if len(list) == 0 {
			continue
		}
		sort.Slice(list, func(i, j int) bool {
			a, b := list[i], list[j]
			if a.Group != b.Group {
				return a.Group < b.Group
			}
			if a.Version != b.Version {
				return a.Version < b.Version
			}
			return a.Kind < b.Kind
		})
		ext := make([]any, 0, len(list))
		for _, gvk := range list {
			ext = append(ext, gvkExtension(gvk))
		}
		s := defs.schemas[name]
		s.AddExtension(extGVK, ext)
		defs.schemas[name] = s
	}
}

// groupVersionDocument cuts the v3 document of one group version out of the
// full v2 document: its paths, and only the definitions they reach.
func groupVersionDocument(v2 *spec.Swagger, prefix string, oneOf map[string][]string) *spec3.OpenAPI {
	paths := map[string]spec.PathItem{}
	reached := map[string]bool{}
	var visit func(s *spec.Schema)
	visit = func(s *spec.Schema) {
		walkRefs(s, func(name string) {
			if reached[name] {
				return
			}
			reached[name] = true
			def := v2.Definitions[name]
			visit(&def)
		})
	}
	for path, item := range v2.Paths.Paths {
		if !strings.HasPrefix(path, prefix) && path != strings.TrimSuffix(prefix, "/") {
			continue
		}
		paths[path] = item
		for _, op := range []*spec.Operation{item.Get, item.Put, item.Post, item.Patch, item.Delete} {
			if op == nil {
				continue
			}
			for _, p := range op.Parameters {
				visit(p.Schema)
			}
			for _, r := range op.Responses.StatusCodeResponses {
				visit(r.Schema)
			}
		}
	}
	defs := spec.Definitions{}
	for name := range reached {
		defs[name] = v2.Definitions[name]
	}
	part := *v2
	part.Paths = &spec.Paths{Paths: paths}
	part.Definitions = defs
	doc := openapiconv.ConvertV2ToV3(&part)

	// v3 describes the int-or-string style types as a choice rather than
	// the v2 single type.
	for name, types := range oneOf {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			continue
		}
		alt := *s
		alt.Type = nil
		alt.OneOf = nil
		for _, t := range types {
			alt.OneOf = append(alt.OneOf, spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{t}}})
		}
		doc.Components.Schemas[name] = &alt
	}
	return doc
}

// walkRefs calls found with the definition name of every reference inside s.
func walkRefs(s *spec.Schema, found func(name string)) {
	if s == nil {
		return
	}
	if ref := s.Ref.String(); ref != "" {
		found(strings.TrimPrefix(ref, v2DefinitionPrefix))
	}
	for _, p := range s.Properties {
		walkRefs(&p, found)
	}
	if s.Items != nil {
		walkRefs(s.Items.Schema, found)
	}
	if s.AdditionalProperties != nil {
		walkRefs(s.AdditionalProperties.Schema, found)
	}
	for i := range s.AllOf {
		walkRefs(&s.AllOf[i], found)
	}
}
