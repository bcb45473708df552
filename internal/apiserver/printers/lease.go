package printers

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func leaseColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Holder", Type: "string", Description: coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]},
		ageColumn(),
	}
}

func leaseRow(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	lease, ok := obj.(*coordinationv1.Lease)
	if !ok {
		return metav1.TableRow{}, wrongType(obj, "Lease")
	}
	holder := "" // upstream prints an empty cell, not <none>, for a free lease
	if lease.Spec.HolderIdentity != nil {
		holder = *lease.Spec.HolderIdentity
	}
	return metav1.TableRow{Cells: []any{lease.Name, holder, since(lease.CreationTimestamp, now)}}, nil
}
