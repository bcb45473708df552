// Package printers renders served objects as the rows of a meta.k8s.io/v1
// Table, the server-side printing that `kubectl get` requests with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
//
// For every kind everynode serves it owns the column definitions (names,
// types, formats, descriptions and priorities, wide columns having
// Priority 1) and the cell values, matching upstream kube-apiserver's
// pkg/printers/internalversion so that kubectl output looks the same against
// both servers. Kinds without a dedicated printer get upstream's default table
// convertor (Name, Created At).
//
// The package is pure: the current time is passed in, nothing is stored. It is
// imported by the apiserver's table handler, which builds the Table envelope
// (resourceVersion, continue, row objects per includeObject).
package printers

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
)

// printer is the column set of one kind and the function producing the cells
// of one object, in column order (wide columns included: the server always
// sends every column and kubectl hides Priority > 0 unless -o wide).
type printer struct {
	columns func() []metav1.TableColumnDefinition
	row     func(obj runtime.Object, now time.Time) (metav1.TableRow, error)
}

// printerFor picks the printer of gk. It is a switch rather than a map so the
// package holds no mutable state.
func printerFor(gk schema.GroupKind) printer {
	switch gk {
	case schema.GroupKind{Group: "", Kind: "Pod"}:
		return printer{podColumns, podRow}
	case schema.GroupKind{Group: "", Kind: "Node"}:
		return printer{nodeColumns, nodeRow}
	case schema.GroupKind{Group: "", Kind: "Namespace"}:
		return printer{namespaceColumns, namespaceRow}
	// events.k8s.io shares storage (and so the printer) with core events.
	case schema.GroupKind{Group: "", Kind: "Event"}, schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}:
		return printer{eventColumns, eventRow}
	case schema.GroupKind{Group: "apps", Kind: "DaemonSet"}:
		return printer{daemonSetColumns, daemonSetRow}
	case schema.GroupKind{Group: "apps", Kind: "ControllerRevision"}:
		return printer{controllerRevisionColumns, controllerRevisionRow}
	case schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}:
		return printer{leaseColumns, leaseRow}
	case schema.GroupKind{Group: "", Kind: "Service"}:
		return printer{serviceColumns, serviceRow}
	case schema.GroupKind{Group: "", Kind: "ServiceAccount"}:
		return printer{serviceAccountColumns, serviceAccountRow}
	case schema.GroupKind{Group: "", Kind: "ConfigMap"}:
		return printer{configMapColumns, configMapRow}
	}
	return printer{defaultColumns, defaultRow}
}

// Columns returns the table columns for gk, including the wide ones
// (Priority 1). The slice is fresh on every call; callers may modify it.
func Columns(gk schema.GroupKind) []metav1.TableColumnDefinition {
	return printerFor(gk).columns()
}

// Rows returns one row per object, each with one cell per column of
// Columns(gk) and, for pods, the row conditions upstream sets. Row.Object is
// left empty: the caller fills it according to the request's includeObject.
// objs must all be of kind gk; now is the reference time for ages.
func Rows(gk schema.GroupKind, objs []runtime.Object, now time.Time) ([]metav1.TableRow, error) {
	p := printerFor(gk)
	rows := make([]metav1.TableRow, 0, len(objs))
	for i, obj := range objs {
		row, err := p.row(obj, now)
		if err != nil {
			return nil, fmt.Errorf("print %s row %d: %w", gk.String(), i, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// objectMetaDoc is the swagger documentation of ObjectMeta fields, which
// upstream uses as the description of the Name and Age columns.
func objectMetaDoc(field string) string {
	return metav1.ObjectMeta{}.SwaggerDoc()[field]
}

func nameColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc("name")}
}

func ageColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: objectMetaDoc("creationTimestamp")}
}

// since renders the time elapsed from t to now as kubectl does ("5m", "3d4h"),
// or "<unknown>" when t is unset.
func since(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func sinceMicro(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// defaultColumns are those of upstream's default table convertor
// (k8s.io/apiserver/pkg/registry/rest), used for kinds without a printer.
func defaultColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Created At", Type: "date", Description: objectMetaDoc("creationTimestamp")},
	}
}

func defaultRow(obj runtime.Object, _ time.Time) (metav1.TableRow, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return metav1.TableRow{}, fmt.Errorf("read object metadata of %T: %w", obj, err)
	}
	// The default convertor prints an absolute time, not an age, so it needs
	// no clock: kubectl shows the RFC 3339 timestamp as is.
	created := m.GetCreationTimestamp().Time.UTC().Format(time.RFC3339)
	return metav1.TableRow{Cells: []any{m.GetName(), created}}, nil
}

// wrongType is the error for an object whose Go type does not match the
// requested kind.
func wrongType(obj runtime.Object, want string) error {
	return fmt.Errorf("object of type %T is not a %s", obj, want)
}
