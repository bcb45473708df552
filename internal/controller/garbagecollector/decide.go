package garbagecollector

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// OwnerState is what the collector verified about one owner of a dependent.
type OwnerState string

const (
	// OwnerPresent: an object with the referenced UID exists and is not
	// waiting for its dependents.
	OwnerPresent OwnerState = "Present"
	// OwnerAbsent: a live read found no object of that name, or one with a
	// different UID (the owner was deleted and perhaps recreated).
	OwnerAbsent OwnerState = "Absent"
	// OwnerDeletingDependents: the owner exists, is being deleted and carries
	// the foregroundDeletion finalizer, so it waits for its dependents.
	OwnerDeletingDependents OwnerState = "DeletingDependents"
)

// Owner is one ownerReference of a dependent with its verified state.
type Owner struct {
	Ref   metav1.OwnerReference
	State OwnerState
}

// Dependent holds the facts about a dependent that the plan depends on
// besides its owners.
type Dependent struct {
	// Finalizers of the dependent: its own orphan or foregroundDeletion
	// finalizer decides how it is deleted.
	Finalizers []string
	// HasDependents: the dependent owns objects itself, so deleting it for
	// an owner that waits must wait for them too (foreground).
	HasDependents bool
}

// Action is what the collector does with a dependent.
type Action string

const (
	// ActionKeep leaves the dependent alone.
	ActionKeep Action = "Keep"
	// ActionPatch rewrites the dependent's ownerReferences (removing
	// dangling ones, clearing blockOwnerDeletion towards waiting owners) and
	// keeps the dependent because another owner is alive.
	ActionPatch Action = "PatchOwnerReferences"
	// ActionDelete deletes the dependent with Propagation.
	ActionDelete Action = "Delete"
)

// Reasons explain a plan in logs and events.
const (
	ReasonOwnersPresent      = "OwnersPresent"
	ReasonDanglingReferences = "DanglingOwnerReferences"
	ReasonOwnerLive          = "OwnerStillPresent"
	ReasonOwnersGone         = "AllOwnersGone"
	ReasonOwnerWaits         = "OwnerDeletingDependents"
)

// DependentPlan is the decision for one dependent.
type DependentPlan struct {
	Action Action
	// Remove lists the UIDs of dangling ownerReferences to drop (ActionPatch).
	Remove []types.UID
	// Unblock lists the UIDs of owners waiting for their dependents whose
	// reference must stop blocking them (ActionPatch).
	Unblock []types.UID
	// Propagation is the propagation policy of the delete (ActionDelete).
	Propagation metav1.DeletionPropagation
	Reason      string
}

// PlanDependent decides what happens to a dependent given the verified
// states of all its owners. A dependent survives while any owner is
// present: only the references to vanished owners are dropped, and
// references to owners deleting in the foreground stop blocking them so
// those owners can go. A dependent without a present owner is deleted: in
// the foreground when a waiting owner needs its own dependents gone first,
// otherwise as the dependent's own finalizers ask (orphan, foreground) and in
// the background by default, so that chains of owners cascade.
func PlanDependent(dep Dependent, owners []Owner) DependentPlan {
	var present, absent, waiting []Owner
	for _, o := range owners {
		switch o.State {
		case OwnerPresent:
			present = append(present, o)
		case OwnerAbsent:
			absent = append(absent, o)
		case OwnerDeletingDependents:
			waiting = append(waiting, o)
		}
	}
	if len(owners) == 0 {
		return DependentPlan{Action: ActionKeep, Reason: ReasonOwnersPresent}
	}
	if len(present) > 0 {
		plan := DependentPlan{Action: ActionPatch}
		for _, o := range absent {
			plan.Remove = append(plan.Remove, o.Ref.UID)
		}
		for _, o := range waiting {
			if o.Ref.BlockOwnerDeletion != nil && *o.Ref.BlockOwnerDeletion {
				plan.Unblock = append(plan.Unblock, o.Ref.UID)
			}
		}
		switch {
		case len(plan.Remove) > 0:
			plan.Reason = ReasonDanglingReferences
		case len(plan.Unblock) > 0:
			plan.Reason = ReasonOwnerLive
		default:
			return DependentPlan{Action: ActionKeep, Reason: ReasonOwnersPresent}
		}
		return plan
	}
	plan := DependentPlan{Action: ActionDelete, Propagation: metav1.DeletePropagationBackground, Reason: ReasonOwnersGone}
	if len(waiting) > 0 {
		plan.Reason = ReasonOwnerWaits
	}
	switch {
	case len(waiting) > 0 && dep.HasDependents:
		plan.Propagation = metav1.DeletePropagationForeground
	case slices.Contains(dep.Finalizers, metav1.FinalizerOrphanDependents):
		plan.Propagation = metav1.DeletePropagationOrphan
	case slices.Contains(dep.Finalizers, metav1.FinalizerDeleteDependents):
		plan.Propagation = metav1.DeletePropagationForeground
	}
	return plan
}

// RewriteOwnerReferences applies a PatchOwnerReferences plan to a list of
// references, returning a new list.
func RewriteOwnerReferences(refs []metav1.OwnerReference, plan DependentPlan) []metav1.OwnerReference {
	out := make([]metav1.OwnerReference, 0, len(refs))
	for _, r := range refs {
		if slices.Contains(plan.Remove, r.UID) {
			continue
		}
		r = *r.DeepCopy()
		if slices.Contains(plan.Unblock, r.UID) {
			f := false
			r.BlockOwnerDeletion = &f
		}
		out = append(out, r)
	}
	return out
}

// BlocksOwner reports whether a dependent's reference to the owner with
// uid keeps that owner from finishing foreground deletion.
func BlocksOwner(refs []metav1.OwnerReference, uid types.UID) bool {
	for _, r := range refs {
		if r.UID == uid && r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
			return true
		}
	}
	return false
}

// WithoutFinalizer returns fins without f, and whether f was present.
func WithoutFinalizer(fins []string, f string) ([]string, bool) {
	if !slices.Contains(fins, f) {
		return fins, false
	}
	out := make([]string, 0, len(fins))
	for _, x := range fins {
		if x != f {
			out = append(out, x)
		}
	}
	return out, true
}
