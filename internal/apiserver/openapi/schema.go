package openapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"k8s.io/kube-openapi/pkg/util"
	"k8s.io/kube-openapi/pkg/validation/spec"
	smdschema "sigs.k8s.io/structured-merge-diff/v6/schema"
)

// Vendor extensions kubectl and the apply machinery read.
const (
	extGVK           = "x-kubernetes-group-version-kind"
	extAction        = "x-kubernetes-action"
	extPatchStrategy = "x-kubernetes-patch-strategy"
	extPatchMergeKey = "x-kubernetes-patch-merge-key"
	extListType      = "x-kubernetes-list-type"
	extListMapKeys   = "x-kubernetes-list-map-keys"
	extMapType       = "x-kubernetes-map-type"

	v2DefinitionPrefix = "#/definitions/"
)

// schemaTyper is implemented by apimachinery types whose JSON form is not
// their Go structure (Quantity, IntOrString, Time, MicroTime, Duration).
type schemaTyper interface {
	OpenAPISchemaType() []string
	OpenAPISchemaFormat() string
}

// oneOfTyper is implemented by types that OpenAPI v3 describes as a choice of
// primitive types instead of the single v2 type.
type oneOfTyper interface {
	OpenAPIV3OneOfTypes() []string
}

type swaggerDocer interface {
	SwaggerDoc() map[string]string
}

type modelNamer interface {
	OpenAPIModelName() string
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	schemaTyperType     = reflect.TypeFor[schemaTyper]()
)

// definitions collects the named schemas reached while walking Go types, in
// the OpenAPI v2 form (refs under #/definitions/). The v3 documents are
// converted from it.
type definitions struct {
	// semantics carries list/map/struct semantics that upstream expresses
	// only in comment markers. Nil means fall back to patch tags alone.
	semantics *smdschema.Schema
	schemas   spec.Definitions
	names     map[reflect.Type]string
	types     map[string]reflect.Type // inverse of names, to catch name clashes
	// oneOf holds, per definition name, the v3 alternatives replacing the v2
	// type (e.g. IntOrString is integer or string).
	oneOf map[string][]string
}

func newDefinitions(semantics *smdschema.Schema) *definitions {
	return &definitions{
		semantics: semantics,
		schemas:   spec.Definitions{},
		names:     map[reflect.Type]string{},
		types:     map[string]reflect.Type{},
		oneOf:     map[string][]string{},
	}
}

// definitionName is the upstream model name: k8s.io/api/core/v1.Pod becomes
// io.k8s.api.core.v1.Pod. Generated OpenAPIModelName methods win because
// they are what upstream itself uses.
func definitionName(t reflect.Type) string {
	if n, ok := reflect.New(t).Interface().(modelNamer); ok {
		return n.OpenAPIModelName()
	}
	return util.ToRESTFriendlyName(t.PkgPath() + "." + t.Name())
}

// isDefinition reports whether uses of t refer to a named definition rather
// than being inlined.
func isDefinition(t reflect.Type) bool {
	if t.Name() == "" || t.PkgPath() == "" {
		return false
	}
	return t.Kind() == reflect.Struct || t.Implements(schemaTyperType)
}

// define makes sure t has a definition and returns its name.
func (d *definitions) define(t reflect.Type) (string, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if name, ok := d.names[t]; ok {
		return name, nil
	}
	if !isDefinition(t) {
		return "", fmt.Errorf("type %v cannot be a named definition", t)
	}
	name := definitionName(t)
	if other, ok := d.types[name]; ok {
		return "", fmt.Errorf("types %v and %v both map to definition %s", other, t, name)
	}
	// Registered before walking the fields so recursive types terminate.
	d.names[t] = name
	d.types[name] = t

	var s spec.Schema
	zero := reflect.New(t).Interface()
	switch typer, isTyper := zero.(schemaTyper); {
	case isTyper:
		s.Type = typer.OpenAPISchemaType()
		s.Format = typer.OpenAPISchemaFormat()
		if o, ok := zero.(oneOfTyper); ok {
			d.oneOf[name] = o.OpenAPIV3OneOfTypes()
		}
	case reflect.PointerTo(t).Implements(jsonUnmarshalerType):
		// Opaque payloads such as RawExtension and FieldsV1: any object.
		s.Type = []string{"object"}
	default:
		var err error
		if s, err = d.structSchema(t, name); err != nil {
			return "", err
		}
	}
	s.Description = typeDescription(t, name)
	d.schemas[name] = s
	return name, nil
}

// typeDescription returns the generated SwaggerDoc type comment, or our own
// words for the apimachinery types that have none.
func typeDescription(t reflect.Type, name string) string {
	if doc := swaggerDoc(t)[""]; doc != "" {
		return doc
	}
	switch name {
	case "io.k8s.apimachinery.pkg.api.resource.Quantity":
		return "Quantity is a fixed-point decimal number written as a string with an optional SI or binary suffix, for example \"100m\", \"2\" or \"1.5Gi\"."
	case "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
		return "IntOrString holds either an integer or a string; the JSON value is whichever of the two is set."
	case "io.k8s.apimachinery.pkg.apis.meta.v1.Time":
		return "Time is a timestamp written as an RFC 3339 string with second precision."
	case "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime":
		return "MicroTime is a timestamp written as an RFC 3339 string with microsecond precision."
	case "io.k8s.apimachinery.pkg.apis.meta.v1.Duration":
		return "Duration is a length of time written as a Go duration string, for example \"30s\" or \"1h5m\"."
	case "io.k8s.apimachinery.pkg.runtime.RawExtension":
		return "RawExtension holds an embedded object of any kind; its apiVersion and kind fields say which."
	case "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1":
		return "FieldsV1 is a set of field paths in the trie form that server-side apply records in managedFields."
	}
	return ""
}

func swaggerDoc(t reflect.Type) map[string]string {
	if d, ok := reflect.New(t).Interface().(swaggerDocer); ok {
		return d.SwaggerDoc()
	}
	return nil
}

// structSchema describes a struct's JSON object. Required fields follow
// upstream's inference when no +optional/+required marker is present: a field
// is optional exactly when its json tag says omitempty (or omitzero). They are
// listed in field order, as upstream does.
func (d *definitions) structSchema(t reflect.Type, name string) (spec.Schema, error) {
	s := spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}}}
	var fields map[string]smdschema.StructField
	if def, ok := d.namedSemantics(name); ok && def.Map != nil {
		fields = make(map[string]smdschema.StructField, len(def.Map.Fields))
		for _, f := range def.Map.Fields {
			fields[f.Name] = f
		}
		if def.Map.ElementRelationship == smdschema.Atomic {
			s.AddExtension(extMapType, "atomic")
		}
	}
	if err := d.addFields(&s, t, fields); err != nil {
		return spec.Schema{}, fmt.Errorf("definition %s: %w", name, err)
	}
	return s, nil
}

func (d *definitions) namedSemantics(name string) (smdschema.TypeDef, bool) {
	if d.semantics == nil {
		return smdschema.TypeDef{}, false
	}
	return d.semantics.FindNamedType(name)
}

// addFields adds t's JSON fields to s, flattening embedded inline structs as
// encoding/json does.
func (d *definitions) addFields(s *spec.Schema, t reflect.Type, semantics map[string]smdschema.StructField) error {
	docs := swaggerDoc(t)
	for i := range t.NumField() {
		f := t.Field(i)
		name, optional, skip := jsonField(f)
		if skip {
			continue
		}
		if name == "" {
			inner := f.Type
			for inner.Kind() == reflect.Pointer {
				inner = inner.Elem()
			}
			if err := d.addFields(s, inner, semantics); err != nil {
				return err
			}
			continue
		}
		prop, err := d.use(f.Type)
		if err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
		prop.Description = docs[name]
		prop.Default = enforcedDefault(f.Type, optional)
		sf, known := semantics[name]
		d.addFieldSemantics(&prop, f, sf, known)
		if s.Properties == nil {
			s.Properties = map[string]spec.Schema{}
		}
		s.Properties[name] = prop
		if !optional {
			s.Required = append(s.Required, name)
		}
	}
	return nil
}

// jsonField reads a struct field's json tag. An empty name with skip false
// means an embedded struct whose fields are inlined.
func jsonField(f reflect.StructField) (name string, optional, skip bool) {
	tag, hasTag := f.Tag.Lookup("json")
	name, opts, _ := strings.Cut(tag, ",")
	if name == "-" && opts == "" {
		return "", false, true
	}
	for o := range strings.SplitSeq(opts, ",") {
		if o == "omitempty" || o == "omitzero" {
			optional = true
		}
	}
	if f.Anonymous && name == "" {
		inner := f.Type
		for inner.Kind() == reflect.Pointer {
			inner = inner.Elem()
		}
		if inner.Kind() == reflect.Struct {
			return "", optional, false
		}
	}
	if !f.IsExported() {
		return "", false, true
	}
	if !hasTag || name == "" {
		name = f.Name
	}
	return name, optional, false
}

// use returns the schema of a value of type t where it is used: a reference
// for named definitions, an inline schema otherwise.
func (d *definitions) use(t reflect.Type) (spec.Schema, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t.Elem().Kind() == reflect.Uint8 {
		return primitive("string", "byte"), nil // base64, as encoding/json writes []byte
	}
	if isDefinition(t) {
		name, err := d.define(t)
		if err != nil {
			return spec.Schema{}, err
		}
		return spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef(v2DefinitionPrefix + name)}}, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return primitive("boolean", ""), nil
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint16:
		return primitive("integer", "int32"), nil
	case reflect.Int64, reflect.Uint32, reflect.Uint64:
		return primitive("integer", "int64"), nil
	case reflect.Int8, reflect.Uint8:
		return primitive("integer", "byte"), nil
	case reflect.Float32:
		return primitive("number", "float"), nil
	case reflect.Float64:
		return primitive("number", "double"), nil
	case reflect.String:
		return primitive("string", ""), nil
	case reflect.Interface:
		return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}}}, nil
	case reflect.Slice, reflect.Array:
		items, err := d.use(t.Elem())
		if err != nil {
			return spec.Schema{}, err
		}
		items.Default = enforcedDefault(t.Elem(), false)
		return spec.Schema{SchemaProps: spec.SchemaProps{
			Type:  []string{"array"},
			Items: &spec.SchemaOrArray{Schema: &items},
		}}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return spec.Schema{}, fmt.Errorf("map key of %v is not a string", t)
		}
		values, err := d.use(t.Elem())
		if err != nil {
			return spec.Schema{}, err
		}
		values.Default = enforcedDefault(t.Elem(), false)
		return spec.Schema{SchemaProps: spec.SchemaProps{
			Type:                 []string{"object"},
			AdditionalProperties: &spec.SchemaOrBool{Allows: true, Schema: &values},
		}}, nil
	case reflect.Struct:
		// An anonymous struct has no name to refer to: describe it in place.
		s := spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}}}
		if err := d.addFields(&s, t, nil); err != nil {
			return spec.Schema{}, err
		}
		return s, nil
	}
	return spec.Schema{}, fmt.Errorf("no OpenAPI mapping for %v", t)
}

func primitive(typ, format string) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{typ}, Format: format}}
}

// enforcedDefault mirrors upstream's generator: a value that can never be
// absent in Go (a non-pointer struct, or a non-omitempty scalar) is
// documented with its zero value as default, so that clients such as
// server-side apply see the same object the server will.
func enforcedDefault(t reflect.Type, optional bool) any {
	if reflect.PointerTo(t).Implements(jsonUnmarshalerType) {
		return nil // custom encodings (Time, Quantity, ...) marshal their zero as null
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Array, reflect.Interface:
		return nil
	case reflect.Struct:
		if t.NumField() == 1 && t.Field(0).Anonymous {
			return enforcedDefault(t.Field(0).Type, optional)
		}
		return map[string]any{}
	}
	if optional {
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		return ""
	case reflect.Bool:
		return false
	}
	return 0
}

// addFieldSemantics attaches the merge extensions of one field. Patch
// strategy and merge key come from the struct tags kubectl's own struct-based
// patching reads; list, map and default information comes from the
// structured-merge-diff schema when the type is known there.
func (d *definitions) addFieldSemantics(prop *spec.Schema, f reflect.StructField, sf smdschema.StructField, known bool) {
	if ps := f.Tag.Get("patchStrategy"); ps != "" {
		prop.AddExtension(extPatchStrategy, ps)
	}
	mergeKey := f.Tag.Get("patchMergeKey")
	if mergeKey != "" {
		prop.AddExtension(extPatchMergeKey, mergeKey)
	}
	if !known {
		if mergeKey != "" && prop.Items != nil {
			prop.AddExtension(extListType, "map")
			prop.AddExtension(extListMapKeys, []string{mergeKey})
		}
		return
	}
	atom := sf.Type.Inlined
	if sf.Type.NamedType != nil {
		if def, ok := d.semantics.FindNamedType(*sf.Type.NamedType); ok {
			atom = def.Atom
		}
	}
	switch {
	case atom.List != nil && prop.Items != nil:
		switch {
		case atom.List.ElementRelationship == smdschema.Associative && len(atom.List.Keys) > 0:
			prop.AddExtension(extListType, "map")
			prop.AddExtension(extListMapKeys, append([]string(nil), atom.List.Keys...))
		case atom.List.ElementRelationship == smdschema.Associative:
			prop.AddExtension(extListType, "set")
		case atom.List.ElementRelationship == smdschema.Atomic:
			prop.AddExtension(extListType, "atomic")
		}
	case atom.Map != nil && prop.AdditionalProperties != nil && sf.Type.NamedType == nil:
		if atom.Map.ElementRelationship == smdschema.Atomic {
			prop.AddExtension(extMapType, "atomic")
		}
	}
	if sf.Default != nil {
		prop.Default = sf.Default
	}
}
