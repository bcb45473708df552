package openapi

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Media types written into operations. We list only what the server speaks:
// JSON and YAML (no protobuf). Functions rather than package variables so no
// caller can alter a shared slice.
func anyMediaType() []string   { return []string{"*/*"} }
func objectTypes() []string    { return []string{"application/json", "application/yaml"} }
func watchableTypes() []string { return append(objectTypes(), "application/json;stream=watch") }
func textTypes() []string      { return []string{"text/plain", "application/json", "application/yaml"} }
func patchTypes() []string {
	return []string{
		"application/apply-patch+yaml",
		"application/json-patch+json",
		"application/merge-patch+json",
		"application/strategic-merge-patch+json",
	}
}

// route is one operation before it is placed in its path item.
type route struct {
	path   string
	method string // lower-case HTTP method: get, put, post, patch, delete
	op     spec.Operation
}

// pathSet accumulates the routes of every served resource.
type pathSet struct {
	defs   *definitions
	kinds  func(runtime.Object) (schema.GroupVersionKind, error)
	routes []route
}

// gvPath is the URL path of a group version without the leading slash, as
// used in the /openapi/v3 index: "api/v1" or "apis/apps/v1".
func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

// operationPrefix names a group version inside operation IDs the way upstream
// does: "" v1 → CoreV1, rbac.authorization.k8s.io v1 → RbacAuthorizationV1.
func operationPrefix(gv schema.GroupVersion) string {
	var b strings.Builder
	for _, part := range groupParts(gv.Group) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	b.WriteString(strings.ToUpper(gv.Version[:1]) + gv.Version[1:])
	return b.String()
}

// tag is the operation tag: core_v1, apps_v1, rbacAuthorization_v1.
func tag(gv schema.GroupVersion) string {
	parts := groupParts(gv.Group)
	var b strings.Builder
	for i, part := range parts {
		if i > 0 {
			part = strings.ToUpper(part[:1]) + part[1:]
		}
		b.WriteString(part)
	}
	return b.String() + "_" + gv.Version
}

func groupParts(group string) []string {
	if group == "" {
		return []string{"core"}
	}
	return strings.Split(strings.TrimSuffix(group, ".k8s.io"), ".")
}

func refTo(name string) *spec.Schema {
	return &spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef(v2DefinitionPrefix + name)}}
}

// addDiscovery adds the GET on "<prefix>/" that lists a group version's
// resources, as every upstream group version document has.
func (p *pathSet) addDiscovery(gv schema.GroupVersion) error {
	list, err := p.defs.define(reflect.TypeFor[metav1.APIResourceList]())
	if err != nil {
		return err
	}
	op := operation("get available resources", "get"+operationPrefix(gv)+"APIResources", gv, objectTypes())
	op.Consumes = []string{"application/json", "application/yaml"}
	op.Responses = responses(refTo(list), 200)
	p.routes = append(p.routes, route{path: "/" + gvPath(gv) + "/", method: "get", op: op})
	return nil
}

// addResource adds every route upstream serves for r given its verbs.
func (p *pathSet) addResource(r Resource) error {
	if r.Object == nil || r.List == nil {
		return fmt.Errorf("resource %s: Object and List are required", r.Plural)
	}
	obj, err := p.defs.define(reflect.TypeOf(r.Object))
	if err != nil {
		return fmt.Errorf("resource %s: %w", r.Plural, err)
	}
	list, err := p.defs.define(reflect.TypeOf(r.List))
	if err != nil {
		return fmt.Errorf("resource %s: %w", r.Plural, err)
	}
	status, err := p.defs.define(reflect.TypeFor[metav1.Status]())
	if err != nil {
		return err
	}
	deleteOptions, err := p.defs.define(reflect.TypeFor[metav1.DeleteOptions]())
	if err != nil {
		return err
	}
	patch, err := p.defs.define(reflect.TypeFor[metav1.Patch]())
	if err != nil {
		return err
	}
	event, err := p.defs.define(reflect.TypeFor[metav1.WatchEvent]())
	if err != nil {
		return err
	}

	gv := r.GVK.GroupVersion()
	prefix := "/" + gvPath(gv)
	kind := r.GVK.Kind
	opName := operationPrefix(gv)
	scope, scopeParams := "", []spec.Parameter(nil)
	collection := prefix + "/" + r.Plural
	watchCollection := prefix + "/watch/" + r.Plural
	if r.Namespaced {
		scope = "Namespaced"
		scopeParams = []spec.Parameter{namespaceParam()}
		collection = prefix + "/namespaces/{namespace}/" + r.Plural
		watchCollection = prefix + "/watch/namespaces/{namespace}/" + r.Plural
	}
	item := collection + "/{name}"
	itemParams := append([]spec.Parameter{nameParam(kind)}, scopeParams...)
	verbs := map[string]bool{}
	for _, v := range r.Verbs {
		verbs[v] = true
	}

	add := func(path, method, action string, gvk schema.GroupVersionKind, op spec.Operation) {
		op.AddExtension(extAction, action)
		op.AddExtension(extGVK, gvkExtension(gvk))
		p.routes = append(p.routes, route{path: path, method: method, op: op})
	}
	withParams := func(op spec.Operation, sets ...[]spec.Parameter) spec.Operation {
		for _, set := range sets {
			op.Parameters = append(op.Parameters, set...)
		}
		op.Parameters = append(op.Parameters, prettyParam())
		return op
	}

	if verbs["list"] {
		op := operation("list or watch objects of kind "+kind, "list"+opName+scope+kind, gv, watchableTypes())
		op.Responses = responses(refTo(list), 200)
		add(collection, "get", "list", r.GVK, withParams(op, scopeParams, listParams()))
		if r.Namespaced {
			op := operation("list or watch objects of kind "+kind, "list"+opName+kind+"ForAllNamespaces", gv, watchableTypes())
			op.Responses = responses(refTo(list), 200)
			add(prefix+"/"+r.Plural, "get", "list", r.GVK, withParams(op, listParams()))
		}
	}
	if verbs["create"] {
		op := operation("create a "+kind, "create"+opName+scope+kind, gv, objectTypes())
		op.Responses = responses(refTo(obj), 200, 201, 202)
		add(collection, "post", "post", r.GVK, withParams(op, scopeParams, writeParams(), bodyParam(obj)))
	}
	if verbs["deletecollection"] {
		op := operation("delete collection of "+kind, "delete"+opName+"Collection"+scope+kind, gv, objectTypes())
		op.Responses = responses(refTo(status), 200)
		add(collection, "delete", "deletecollection", r.GVK,
			withParams(op, scopeParams, deleteParams(), collectionParams(), bodyParam(deleteOptions)))
	}
	if verbs["get"] {
		op := operation("read the specified "+kind, "read"+opName+scope+kind, gv, objectTypes())
		op.Responses = responses(refTo(obj), 200)
		add(item, "get", "get", r.GVK, withParams(op, itemParams))
	}
	if verbs["update"] {
		op := operation("replace the specified "+kind, "replace"+opName+scope+kind, gv, objectTypes())
		op.Responses = responses(refTo(obj), 200, 201)
		add(item, "put", "put", r.GVK, withParams(op, itemParams, writeParams(), bodyParam(obj)))
	}
	if verbs["patch"] {
		op := operation("partially update the specified "+kind, "patch"+opName+scope+kind, gv, objectTypes())
		op.Consumes = patchTypes()
		op.Responses = responses(refTo(obj), 200, 201)
		add(item, "patch", "patch", r.GVK, withParams(op, itemParams, writeParams(), forceParam(), bodyParam(patch)))
	}
	if verbs["delete"] {
		op := operation("delete a "+kind, "delete"+opName+scope+kind, gv, objectTypes())
		op.Responses = responses(refTo(status), 200, 202)
		add(item, "delete", "delete", r.GVK, withParams(op, itemParams, deleteParams(), bodyParam(deleteOptions)))
	}
	if verbs["watch"] {
		// Deprecated by upstream in favour of ?watch=true, but still served
		// and still described.
		const deprecated = " deprecated: use the 'watch' parameter with a list operation instead."
		op := operation("watch individual changes to a list of "+kind+"."+deprecated, "watch"+opName+scope+kind+"List", gv, watchableTypes())
		op.Responses = responses(refTo(event), 200)
		add(watchCollection, "get", "watchlist", r.GVK, withParams(op, scopeParams, listParams()))
		op = operation("watch changes to an object of kind "+kind+"."+deprecated, "watch"+opName+scope+kind, gv, watchableTypes())
		op.Responses = responses(refTo(event), 200)
		add(watchCollection+"/{name}", "get", "watch", r.GVK, withParams(op, itemParams, listParams()))
		if r.Namespaced {
			op := operation("watch individual changes to a list of "+kind+"."+deprecated, "watch"+opName+kind+"ListForAllNamespaces", gv, watchableTypes())
			op.Responses = responses(refTo(event), 200)
			add(prefix+"/watch/"+r.Plural, "get", "watchlist", r.GVK, withParams(op, listParams()))
		}
	}

	for _, sub := range r.Subresources {
		if err := p.addSubresource(r, sub, item, itemParams, obj, patch, add, withParams); err != nil {
			return fmt.Errorf("resource %s/%s: %w", r.Plural, sub.Name, err)
		}
	}
	return nil
}

// addSubresource adds the routes of one subresource below item. A nil Object
// means the parent's object for status-like subresources and plain text for
// log.
func (p *pathSet) addSubresource(
	r Resource, sub Subresource, item string, itemParams []spec.Parameter, parentObj, patch string,
	add func(path, method, action string, gvk schema.GroupVersionKind, op spec.Operation),
	withParams func(op spec.Operation, sets ...[]spec.Parameter) spec.Operation,
) error {
	gv := r.GVK.GroupVersion()
	opName := operationPrefix(gv)
	scope := ""
	if r.Namespaced {
		scope = "Namespaced"
	}
	suffix := strings.ToUpper(sub.Name[:1]) + sub.Name[1:]
	path := item + "/" + sub.Name
	kind := r.GVK.Kind

	body, gvk := refTo(parentObj), r.GVK
	text := sub.Object == nil && sub.Name == "log"
	if sub.Object != nil && reflect.TypeOf(sub.Object) != reflect.TypeOf(r.Object) {
		name, err := p.defs.define(reflect.TypeOf(sub.Object))
		if err != nil {
			return err
		}
		if gvk, err = p.kinds(sub.Object); err != nil {
			return err
		}
		body = refTo(name)
	}

	for _, verb := range sub.Verbs {
		switch verb {
		case "get":
			op := operation("read "+sub.Name+" of the specified "+kind, "read"+opName+scope+kind+suffix, gv, objectTypes())
			op.Responses = responses(body, 200)
			var extra []spec.Parameter
			if text {
				op.Produces = textTypes()
				op.Responses = responses(&spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"string"}}}, 200)
				extra = logParams()
			}
			add(path, "get", "get", gvk, withParams(op, itemParams, extra))
		case "create":
			op := operation("create "+sub.Name+" of a "+kind, "create"+opName+scope+kind+suffix, gv, objectTypes())
			op.Responses = responses(body, 200, 201, 202)
			add(path, "post", "post", gvk, withParams(op, itemParams, writeParams(), bodyParam(strings.TrimPrefix(body.Ref.String(), v2DefinitionPrefix))))
		case "update":
			op := operation("replace "+sub.Name+" of the specified "+kind, "replace"+opName+scope+kind+suffix, gv, objectTypes())
			op.Responses = responses(body, 200, 201)
			add(path, "put", "put", gvk, withParams(op, itemParams, writeParams(), bodyParam(strings.TrimPrefix(body.Ref.String(), v2DefinitionPrefix))))
		case "patch":
			op := operation("partially update "+sub.Name+" of the specified "+kind, "patch"+opName+scope+kind+suffix, gv, objectTypes())
			op.Consumes = patchTypes()
			op.Responses = responses(body, 200, 201)
			add(path, "patch", "patch", gvk, withParams(op, itemParams, writeParams(), forceParam(), bodyParam(patch)))
		default:
			return fmt.Errorf("unsupported verb %q", verb)
		}
	}
	return nil
}

func operation(description, id string, gv schema.GroupVersion, produces []string) spec.Operation {
	return spec.Operation{OperationProps: spec.OperationProps{
		Description: description,
		ID:          id,
		Consumes:    anyMediaType(),
		Produces:    produces,
		Schemes:     []string{"https"},
		Tags:        []string{tag(gv)},
	}}
}

func responses(body *spec.Schema, codes ...int) *spec.Responses {
	text := map[int]string{200: "OK", 201: "Created", 202: "Accepted"}
	rs := &spec.Responses{ResponsesProps: spec.ResponsesProps{StatusCodeResponses: map[int]spec.Response{
		401: {ResponseProps: spec.ResponseProps{Description: "Unauthorized"}},
	}}}
	for _, c := range codes {
		rs.StatusCodeResponses[c] = spec.Response{ResponseProps: spec.ResponseProps{Description: text[c], Schema: body}}
	}
	return rs
}

func gvkExtension(gvk schema.GroupVersionKind) map[string]any {
	return map[string]any{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
}

// placeRoutes groups routes into path items. Parameters shared by every
// operation of a path move to the path item, which is how upstream writes
// name, namespace and pretty.
func placeRoutes(routes []route) (map[string]spec.PathItem, error) {
	byPath := map[string][]route{}
	for _, rt := range routes {
		byPath[rt.path] = append(byPath[rt.path], rt)
	}
	items := make(map[string]spec.PathItem, len(byPath))
	for path, rts := range byPath {
		var item spec.PathItem
		shared := sharedParams(rts)
		item.Parameters = sortParams(shared)
		for _, rt := range rts {
			op := rt.op
			op.Parameters = sortParams(slices.DeleteFunc(slices.Clone(op.Parameters), func(p spec.Parameter) bool {
				return slices.ContainsFunc(shared, func(s spec.Parameter) bool { return sameParam(s, p) })
			}))
			slot := map[string]**spec.Operation{
				"get": &item.Get, "put": &item.Put, "post": &item.Post, "patch": &item.Patch, "delete": &item.Delete,
			}[rt.method]
			if slot == nil {
				return nil, fmt.Errorf("path %s: unknown method %q", path, rt.method)
			}
			if *slot != nil {
				return nil, fmt.Errorf("path %s: %s declared twice (%s and %s)", path, rt.method, (*slot).ID, op.ID)
			}
			*slot = &op
		}
		items[path] = item
	}
	return items, nil
}

// sharedParams returns the non-body parameters every route declares. A path
// whose only operation is PATCH keeps its parameters on the operation:
// kubectl looks for fieldValidation among the PATCH operation's own
// parameters.
func sharedParams(rts []route) []spec.Parameter {
	if len(rts) == 1 && rts[0].method == "patch" {
		return nil
	}
	var shared []spec.Parameter
	for _, p := range rts[0].op.Parameters {
		if p.In == "body" {
			continue
		}
		inAll := true
		for _, rt := range rts[1:] {
			if !slices.ContainsFunc(rt.op.Parameters, func(q spec.Parameter) bool { return sameParam(p, q) }) {
				inAll = false
				break
			}
		}
		if inAll {
			shared = append(shared, p)
		}
	}
	return shared
}

func sameParam(a, b spec.Parameter) bool { return a.Name == b.Name && a.In == b.In }

func sortParams(ps []spec.Parameter) []spec.Parameter {
	if len(ps) == 0 {
		return nil
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Name != ps[j].Name {
			return ps[i].Name < ps[j].Name
		}
		return ps[i].In < ps[j].In
	})
	return ps
}
