package garbagecollector

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func ref(uid string, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "ds-" + uid, UID: types.UID(uid), BlockOwnerDeletion: &block}
}

func TestPlanDependent(t *testing.T) {
	cases := []struct {
		name   string
		dep    Dependent
		owners []Owner
		want   DependentPlan
	}{
		{
			name: "no owners keeps",
			want: DependentPlan{Action: ActionKeep, Reason: ReasonOwnersPresent},
		},
		{
			name:   "present owner keeps",
			owners: []Owner{{Ref: ref("a", true), State: OwnerPresent}},
			want:   DependentPlan{Action: ActionKeep, Reason: ReasonOwnersPresent},
		},
		{
			name:   "R189 background: only owner gone deletes in the background",
			owners: []Owner{{Ref: ref("a", true), State: OwnerAbsent}},
			want:   DependentPlan{Action: ActionDelete, Propagation: metav1.DeletePropagationBackground, Reason: ReasonOwnersGone},
		},
		{
			name:   "all owners gone deletes",
			owners: []Owner{{Ref: ref("a", true), State: OwnerAbsent}, {Ref: ref("b", false), State: OwnerAbsent}},
			want:   DependentPlan{Action: ActionDelete, Propagation: metav1.DeletePropagationBackground, Reason: ReasonOwnersGone},
		},
		{
			name:   "one owner gone, another present: drop only the dangling reference",
			owners: []Owner{{Ref: ref("a", true), State: OwnerAbsent}, {Ref: ref("b", false), State: OwnerPresent}},
			want:   DependentPlan{Action: ActionPatch, Remove: []types.UID{"a"}, Reason: ReasonDanglingReferences},
		},
		{
			name:   "foreground owner with another present owner: unblock the waiting owner",
			owners: []Owner{{Ref: ref("a", true), State: OwnerDeletingDependents}, {Ref: ref("b", false), State: OwnerPresent}},
			want:   DependentPlan{Action: ActionPatch, Unblock: []types.UID{"a"}, Reason: ReasonOwnerLive},
		},
		{
			name:   "foreground owner not blocked and another present owner: keep",
			owners: []Owner{{Ref: ref("a", false), State: OwnerDeletingDependents}, {Ref: ref("b", false), State: OwnerPresent}},
			want:   DependentPlan{Action: ActionKeep, Reason: ReasonOwnersPresent},
		},
		{
			name:   "foreground owner only: dependent without dependents goes in the background",
			owners: []Owner{{Ref: ref("a", true), State: OwnerDeletingDependents}},
			want:   DependentPlan{Action: ActionDelete, Propagation: metav1.DeletePropagationBackground, Reason: ReasonOwnerWaits},
		},
		{
			name:   "foreground owner only: dependent with dependents goes in the foreground",
			dep:    Dependent{HasDependents: true},
			owners: []Owner{{Ref: ref("a", true), State: OwnerDeletingDependents}, {Ref: ref("b", true), State: OwnerAbsent}},
			want:   DependentPlan{Action: ActionDelete, Propagation: metav1.DeletePropagationForeground, Reason: ReasonOwnerWaits},
		},
		{
			name:   "dependent asking to orphan its own dependents is deleted with Orphan",
			dep:    Dependent{Finalizers: []string{metav1.FinalizerOrphanDependents}, HasDependents: true},
			owners: []Owner{{Ref: ref("a", true), State: OwnerAbsent}},
			want:   DependentPlan{Action: ActionDelete, Propagation: metav1.DeletePropagationOrphan, Reason: ReasonOwnersGone},
		},
		{
			name:   "dependent with foregroundDeletion finalizer is deleted in the foreground",
			dep:    Dependent{Finalizers: []string{metav1.FinalizerDeleteDependents}},
			owners: []Owner{{Ref: ref("a", true), State: OwnerAbsent}},
			want:   DependentPlan{Action: ActionDelete, Propagation: metav1.DeletePropagationForeground, Reason: ReasonOwnersGone},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanDependent(tc.dep, tc.owners)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("PlanDependent(%+v) mismatch (-want +got):\n%s", tc.owners, diff)
			}
		})
	}
}

func TestRewriteOwnerReferences(t *testing.T) {
	f := false
	refs := []metav1.OwnerReference{ref("a", true), ref("b", true), ref("c", true)}
	got := RewriteOwnerReferences(refs, DependentPlan{Remove: []types.UID{"a"}, Unblock: []types.UID{"c"}})
	want := []metav1.OwnerReference{ref("b", true), {APIVersion: "apps/v1", Kind: "DaemonSet", Name: "ds-c", UID: "c", BlockOwnerDeletion: &f}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RewriteOwnerReferences mismatch (-want +got):\n%s", diff)
	}
	if !*refs[2].BlockOwnerDeletion {
		t.Errorf("RewriteOwnerReferences mutated its input")
	}
}

func TestBlocksOwner(t *testing.T) {
	cases := []struct {
		name string
		refs []metav1.OwnerReference
		want bool
	}{
		{"blocking reference", []metav1.OwnerReference{ref("x", false), ref("a", true)}, true},
		{"non-blocking reference", []metav1.OwnerReference{ref("a", false)}, false},
		{"nil blockOwnerDeletion", []metav1.OwnerReference{{UID: "a"}}, false},
		{"reference to another owner", []metav1.OwnerReference{ref("b", true)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := BlocksOwner(tc.refs, "a"); got != tc.want {
				t.Errorf("BlocksOwner(%v, a) = %v, want %v", tc.refs, got, tc.want)
			}
		})
	}
}

func TestWithoutFinalizer(t *testing.T) {
	cases := []struct {
		name   string
		in     []string
		want   []string
		wantOK bool
	}{
		{"last finalizer", []string{"orphan"}, []string{}, true},
		{"one of several", []string{"example.com/x", "orphan"}, []string{"example.com/x"}, true},
		{"absent", []string{"example.com/x"}, []string{"example.com/x"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := WithoutFinalizer(tc.in, "orphan")
			if diff := cmp.Diff(tc.want, got); diff != "" || ok != tc.wantOK {
				t.Errorf("WithoutFinalizer(%v) = %v, %v; want %v, %v (-want +got):\n%s", tc.in, got, ok, tc.want, tc.wantOK, diff)
			}
		})
	}
}
