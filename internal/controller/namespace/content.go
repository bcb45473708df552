package namespace

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Content is what one collection of a terminating namespace looked like
// after the controller asked to delete it.
type Content struct {
	Resource schema.GroupResource
	// DeleteErr is the error of the deletecollection or list call.
	DeleteErr error
	// Remaining counts objects still present.
	Remaining int
	// Finalizers counts remaining objects by metadata finalizer.
	Finalizers map[string]int
	// GraceLeft is the longest time a remaining object still has before
	// its graceful deletion ends (pods bound to a node).
	GraceLeft time.Duration
}

// conditionTypes are the conditions the controller maintains, in the order
// it writes them.
var conditionTypes = []corev1.NamespaceConditionType{
	corev1.NamespaceDeletionDiscoveryFailure,
	corev1.NamespaceDeletionGVParsingFailure,
	corev1.NamespaceDeletionContentFailure,
	corev1.NamespaceContentRemaining,
	corev1.NamespaceFinalizersRemaining,
}

// settled is the False ("all is well") form of each condition: reason and
// message, as upstream writes them.
func settled(t corev1.NamespaceConditionType) (reason, message string) {
	switch t {
	case corev1.NamespaceDeletionDiscoveryFailure:
		return "ResourcesDiscovered", "All resources successfully discovered"
	case corev1.NamespaceDeletionGVParsingFailure:
		return "ParsedGroupVersions", "All legacy kube types successfully parsed"
	case corev1.NamespaceDeletionContentFailure:
		return "ContentDeleted", "All content successfully deleted, may be waiting on finalization"
	default:
		return "ContentRemoved", "All content successfully removed"
	}
}

// Conditions computes the desired deletion conditions from the content
// results. Discovery never fails here (the served kinds are fixed), so those
// two conditions are always settled.
func Conditions(content []Content) []corev1.NamespaceCondition {
	var failed, remaining []string
	byFinalizer := map[string]int{}
	for _, c := range content {
		if c.DeleteErr != nil {
			failed = append(failed, c.DeleteErr.Error())
			continue
		}
		if c.Remaining > 0 {
			remaining = append(remaining, fmt.Sprintf("%s.%s has %d resource instances", c.Resource.Resource, c.Resource.Group, c.Remaining))
		}
		for f, n := range c.Finalizers {
			byFinalizer[f] += n
		}
	}
	var finalizers []string
	for f, n := range byFinalizer {
		if n > 0 {
			finalizers = append(finalizers, fmt.Sprintf("%s in %d resource instances", f, n))
		}
	}
	sort.Strings(failed)
	sort.Strings(remaining)
	sort.Strings(finalizers)

	out := make([]corev1.NamespaceCondition, 0, len(conditionTypes))
	for _, t := range conditionTypes {
		reason, msg := settled(t)
		cond := corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: msg}
		switch {
		case t == corev1.NamespaceDeletionContentFailure && len(failed) > 0:
			cond.Status, cond.Reason = corev1.ConditionTrue, "ContentDeletionFailed"
			cond.Message = fmt.Sprintf("Failed to delete all resource types, %d remaining: %v", len(failed), strings.Join(failed, ", "))
		case t == corev1.NamespaceContentRemaining && len(remaining) > 0:
			cond.Status, cond.Reason = corev1.ConditionTrue, "SomeResourcesRemain"
			cond.Message = "Some resources are remaining: " + strings.Join(remaining, ", ")
		case t == corev1.NamespaceFinalizersRemaining && len(finalizers) > 0:
			cond.Status, cond.Reason = corev1.ConditionTrue, "SomeFinalizerRemain"
			cond.Message = "Some finalizers are remaining: " + strings.Join(finalizers, ", ")
		}
		out = append(out, cond)
	}
	return out
}

// MergeConditions folds desired conditions into existing ones. A
// condition's lastTransitionTime moves only when its status changes. It
// reports whether anything changed.
func MergeConditions(existing, desired []corev1.NamespaceCondition, now metav1.Time) ([]corev1.NamespaceCondition, bool) {
	out := slices.Clone(existing)
	changed := false
	for _, d := range desired {
		i := slices.IndexFunc(out, func(c corev1.NamespaceCondition) bool { return c.Type == d.Type })
		if i < 0 {
			d.LastTransitionTime = now
			out = append(out, d)
			changed = true
			continue
		}
		cur := out[i]
		if cur.Status == d.Status && cur.Reason == d.Reason && cur.Message == d.Message {
			continue
		}
		d.LastTransitionTime = cur.LastTransitionTime
		if cur.Status != d.Status {
			d.LastTransitionTime = now
		}
		out[i] = d
		changed = true
	}
	return out, changed
}

// Next says what follows one deletion pass.
type Next struct {
	// Finalize: nothing is left, remove the "kubernetes" finalizer.
	Finalize bool
	// RetryAfter is when to look again when content remains; zero with
	// Finalize false means retry with the queue's backoff (an error).
	RetryAfter time.Duration
	Reason     string
}

// Reasons for Next, used in logs.
const (
	ReasonEmpty            = "ContentRemoved"
	ReasonDeleteFailed     = "ContentDeletionFailed"
	ReasonContentRemaining = "ContentRemaining"
)

// Decide turns the content results into the next step: finalize once every
// collection is verified empty; retry with backoff after errors; otherwise
// look again after half of the longest remaining grace period plus a second
// (objects held by finalizers are looked at again a second later).
func Decide(content []Content) Next {
	var grace time.Duration
	remaining := false
	for _, c := range content {
		if c.DeleteErr != nil {
			return Next{Reason: ReasonDeleteFailed}
		}
		if c.Remaining > 0 {
			remaining = true
			grace = max(grace, c.GraceLeft)
		}
	}
	if !remaining {
		return Next{Finalize: true, Reason: ReasonEmpty}
	}
	return Next{RetryAfter: grace/2 + time.Second, Reason: ReasonContentRemaining}
}

// WithoutKubernetesFinalizer returns the namespace finalizers without the
// one this controller owns, and whether it was there.
func WithoutKubernetesFinalizer(fins []corev1.FinalizerName) ([]corev1.FinalizerName, bool) {
	if !slices.Contains(fins, corev1.FinalizerKubernetes) {
		return fins, false
	}
	out := make([]corev1.FinalizerName, 0, len(fins))
	for _, f := range fins {
		if f != corev1.FinalizerKubernetes {
			out = append(out, f)
		}
	}
	return out, true
}
