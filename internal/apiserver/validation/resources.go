package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	// standardResources are the unprefixed names upstream accepts anywhere a
	// resource name appears.
	standardResources = sets.New(
		"cpu", "memory", "ephemeral-storage", "storage", "pods", "services", "replicationcontrollers",
		"resourcequotas", "secrets", "configmaps", "persistentvolumeclaims", "services.nodeports",
		"services.loadbalancers", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
		"requests.storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage")
	standardContainerResources = sets.New("cpu", "memory", "ephemeral-storage")
	integerResources           = sets.New(
		"pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
		"persistentvolumeclaims", "services.nodeports", "services.loadbalancers")
)

const hugePagesPrefix = "hugepages-"

func isNativeResource(name string) bool {
	return !strings.Contains(name, "/") || strings.Contains(name, "kubernetes.io/")
}

func isHugePages(name string) bool { return strings.HasPrefix(name, hugePagesPrefix) }

func isExtendedResource(name string) bool {
	if isNativeResource(name) || strings.HasPrefix(name, "requests.") {
		return false
	}
	return len(validation.IsQualifiedName("requests."+name)) == 0
}

// Overcommit is allowed for native resources except huge pages; extended
// resources must have requests == limits.
func isOvercommitAllowed(name string) bool { return isNativeResource(name) && !isHugePages(name) }

func isIntegerResource(name string) bool {
	return integerResources.Has(name) || isExtendedResource(name)
}

func validateContainerResourceName(name string, fldPath *field.Path) field.ErrorList {
	errs := nameErrors(validation.IsQualifiedName(name), fldPath, name)
	if len(errs) != 0 {
		return errs
	}
	if !strings.Contains(name, "/") {
		if !standardResources.Has(name) && !isHugePages(name) && !strings.HasPrefix(name, "requests."+hugePagesPrefix) {
			errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource type or fully qualified"))
		}
		if !standardContainerResources.Has(name) && !isHugePages(name) {
			errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource for containers"))
		}
	} else if !isNativeResource(name) && !isExtendedResource(name) {
		errs = append(errs, field.Invalid(fldPath, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

func validateResourceQuantity(name string, q resource.Quantity, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if q.Cmp(resource.Quantity{}) < 0 {
		errs = append(errs, field.Invalid(fldPath, q.String(), "must be greater than or equal to 0"))
	}
	if isIntegerResource(name) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(fldPath, q, "must be an integer"))
	}
	return errs
}

func hugePageError(name string, q resource.Quantity) error {
	size, err := resource.ParseQuantity(strings.TrimPrefix(name, hugePagesPrefix))
	if err != nil || size.Value() <= 0 || q.Value()%size.Value() != 0 {
		return fmt.Errorf("%s is not positive integer multiple of %s", q.String(), name)
	}
	return nil
}

// validateResourceRequirements checks names, quantities and requests <=
// limits. Map iteration is sorted so the error order is stable.
func validateResourceRequirements(req *corev1.ResourceRequirements, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := fldPath.Child("limits"), fldPath.Child("requests")
	cpuOrMem, hugePages := false, false
	for _, rn := range sets.List(sets.KeySet(req.Limits)) {
		q, name, p := req.Limits[rn], string(rn), limPath.Key(string(rn))
		errs = append(errs, validateContainerResourceName(name, p)...)
		errs = append(errs, validateResourceQuantity(name, q, p)...)
		if isHugePages(name) {
			hugePages = true
			if err := hugePageError(name, q); err != nil {
				errs = append(errs, field.Invalid(p, q.String(), err.Error()))
			}
		}
		if rn == corev1.ResourceCPU || rn == corev1.ResourceMemory {
			cpuOrMem = true
		}
	}
	for _, rn := range sets.List(sets.KeySet(req.Requests)) {
		q, name, p := req.Requests[rn], string(rn), reqPath.Key(string(rn))
		errs = append(errs, validateContainerResourceName(name, p)...)
		errs = append(errs, validateResourceQuantity(name, q, p)...)
		if limit, ok := req.Limits[rn]; ok {
			if q.Cmp(limit) != 0 && !isOvercommitAllowed(name) {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, limit.String())))
			} else if q.Cmp(limit) > 0 {
				errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
			}
		} else if !isOvercommitAllowed(name) {
			errs = append(errs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
		if isHugePages(name) {
			hugePages = true
			if err := hugePageError(name, q); err != nil {
				errs = append(errs, field.Invalid(p, q.String(), err.Error()))
			}
		}
		if rn == corev1.ResourceCPU || rn == corev1.ResourceMemory {
			cpuOrMem = true
		}
	}
	if hugePages && !cpuOrMem {
		errs = append(errs, field.Forbidden(fldPath, "HugePages require cpu or memory"))
	}
	return errs
}

// validateNodeResources checks capacity and allocatable quantities. Upstream
// builds these paths with Child, not Key, so they read status.capacity.cpu.
func validateNodeResources(node *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	for _, rn := range sets.List(sets.KeySet(node.Status.Capacity)) {
		errs = append(errs, validateResourceQuantity(string(rn), node.Status.Capacity[rn], field.NewPath("status", "capacity", string(rn)))...)
	}
	for _, rn := range sets.List(sets.KeySet(node.Status.Allocatable)) {
		errs = append(errs, validateResourceQuantity(string(rn), node.Status.Allocatable[rn], field.NewPath("status", "allocatable", string(rn)))...)
	}
	return errs
}
