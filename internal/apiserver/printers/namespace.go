package printers

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func namespaceColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Status", Type: "string", Description: "The status of the namespace"},
		ageColumn(),
	}
}

func namespaceRow(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return metav1.TableRow{}, wrongType(obj, "Namespace")
	}
	return metav1.TableRow{Cells: []any{ns.Name, string(ns.Status.Phase), since(ns.CreationTimestamp, now)}}, nil
}
