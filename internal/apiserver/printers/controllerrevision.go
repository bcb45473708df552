package printers

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	appsv1beta1 "k8s.io/api/apps/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func controllerRevisionColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Controller", Type: "string", Description: "Controller of the object"},
		// Upstream documents the column from apps/v1beta1 (lower-case "revision").
		{Name: "Revision", Type: "string", Description: appsv1beta1.ControllerRevision{}.SwaggerDoc()["revision"]},
		ageColumn(),
	}
}

func controllerRevisionRow(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	cr, ok := obj.(*appsv1.ControllerRevision)
	if !ok {
		return metav1.TableRow{}, wrongType(obj, "ControllerRevision")
	}
	controller := "<none>"
	if ref := metav1.GetControllerOf(cr); ref != nil {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			return metav1.TableRow{}, fmt.Errorf("controller of revision %s/%s: %w", cr.Namespace, cr.Name, err)
		}
		controller = qualifiedName(gv.WithKind(ref.Kind).GroupKind(), ref.Name)
	}
	return metav1.TableRow{Cells: []any{
		cr.Name,
		controller,
		cr.Revision,
		since(cr.CreationTimestamp, now),
	}}, nil
}

// qualifiedName renders "kind.group/name" in lower case, e.g.
// "daemonset.apps/fluentd", the form kubectl accepts back as an argument.
func qualifiedName(gk schema.GroupKind, name string) string {
	if gk.Empty() {
		return name
	}
	return strings.ToLower(gk.String()) + "/" + name
}
