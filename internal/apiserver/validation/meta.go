package validation

import (
	"strings"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// standardFinalizers are the only finalizer names allowed without a domain
// prefix; everything else must be fully qualified.
var standardFinalizers = map[string]bool{
	"kubernetes":                     true,
	metav1.FinalizerOrphanDependents: true,
	metav1.FinalizerDeleteDependents: true,
}

var metadataPath = field.NewPath("metadata")

// validateObjectMeta checks metadata on create: name rules of the kind,
// namespace required or forbidden, labels, annotations, owner references and
// finalizers (which core kinds additionally require to be qualified).
func validateObjectMeta(meta *metav1.ObjectMeta, namespaced bool, nameFn apimachineryvalidation.ValidateNameFunc) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMeta(meta, namespaced, nameFn, metadataPath)
	return append(errs, validateKubeFinalizers(meta.Finalizers, metadataPath.Child("finalizers"))...)
}

// validateObjectMetaUpdate checks metadata on update: immutable name,
// namespace, uid and creationTimestamp, no new finalizers while deleting, and
// the create-time syntax rules for labels and annotations.
func validateObjectMetaUpdate(newMeta, oldMeta *metav1.ObjectMeta) field.ErrorList {
	errs := apimachineryvalidation.ValidateObjectMetaUpdate(newMeta, oldMeta, metadataPath)
	return append(errs, validateKubeFinalizers(newMeta.Finalizers, metadataPath.Child("finalizers"))...)
}

func validateKubeFinalizers(finalizers []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, f := range finalizers {
		errs = append(errs, validateKubeFinalizerName(f, fldPath.Index(i))...)
	}
	return errs
}

func validateKubeFinalizerName(name string, fldPath *field.Path) field.ErrorList {
	if !strings.Contains(name, "/") && !standardFinalizers[name] {
		return field.ErrorList{field.Invalid(fldPath, name, "name is neither a standard finalizer name nor is it fully qualified")}
	}
	return nil
}

// nonNegative mirrors the apimachinery helper so call sites stay short.
func nonNegative(value int64, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(value, fldPath)
}

func nameErrors(msgs []string, fldPath *field.Path, value string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}
