package namespace

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	pods = schema.GroupResource{Resource: "pods"}
	dss  = schema.GroupResource{Group: "apps", Resource: "daemonsets"}
)

func cond(t corev1.NamespaceConditionType, status corev1.ConditionStatus, reason, msg string) corev1.NamespaceCondition {
	return corev1.NamespaceCondition{Type: t, Status: status, Reason: reason, Message: msg}
}

func settledConditions() []corev1.NamespaceCondition {
	return []corev1.NamespaceCondition{
		cond(corev1.NamespaceDeletionDiscoveryFailure, corev1.ConditionFalse, "ResourcesDiscovered", "All resources successfully discovered"),
		cond(corev1.NamespaceDeletionGVParsingFailure, corev1.ConditionFalse, "ParsedGroupVersions", "All legacy kube types successfully parsed"),
		cond(corev1.NamespaceDeletionContentFailure, corev1.ConditionFalse, "ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
		cond(corev1.NamespaceContentRemaining, corev1.ConditionFalse, "ContentRemoved", "All content successfully removed"),
		cond(corev1.NamespaceFinalizersRemaining, corev1.ConditionFalse, "ContentRemoved", "All content successfully removed"),
	}
}

func TestConditions(t *testing.T) {
	remaining := settledConditions()
	remaining[3] = cond(corev1.NamespaceContentRemaining, corev1.ConditionTrue, "SomeResourcesRemain",
		"Some resources are remaining: daemonsets.apps has 1 resource instances, pods. has 2 resource instances")
	remaining[4] = cond(corev1.NamespaceFinalizersRemaining, corev1.ConditionTrue, "SomeFinalizerRemain",
		"Some finalizers are remaining: example.com/a in 2 resource instances, foregroundDeletion in 1 resource instances")
	failed := settledConditions()
	failed[2] = cond(corev1.NamespaceDeletionContentFailure, corev1.ConditionTrue, "ContentDeletionFailed",
		"Failed to delete all resource types, 1 remaining: delete pods: boom")

	cases := []struct {
		name    string
		content []Content
		want    []corev1.NamespaceCondition
	}{
		{"empty namespace: all settled", []Content{{Resource: pods}, {Resource: dss}}, settledConditions()},
		{
			name: "remaining objects and finalizers are counted per resource and finalizer",
			content: []Content{
				{Resource: pods, Remaining: 2, Finalizers: map[string]int{"example.com/a": 1, "foregroundDeletion": 1}},
				{Resource: dss, Remaining: 1, Finalizers: map[string]int{"example.com/a": 1}},
			},
			want: remaining,
		},
		{
			name:    "a failed deletion is reported",
			content: []Content{{Resource: pods, DeleteErr: errors.New("delete pods: boom")}, {Resource: dss}},
			want:    failed,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Conditions(tc.content)); diff != "" {
				t.Errorf("Conditions(%+v) mismatch (-want +got):\n%s", tc.content, diff)
			}
		})
	}
}

func TestMergeConditions(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	at := func(c corev1.NamespaceCondition, ts metav1.Time) corev1.NamespaceCondition {
		c.LastTransitionTime = ts
		return c
	}
	remains := cond(corev1.NamespaceContentRemaining, corev1.ConditionTrue, "SomeResourcesRemain", "Some resources are remaining: pods. has 2 resource instances")
	remainsOne := cond(corev1.NamespaceContentRemaining, corev1.ConditionTrue, "SomeResourcesRemain", "Some resources are remaining: pods. has 1 resource instances")
	removed := cond(corev1.NamespaceContentRemaining, corev1.ConditionFalse, "ContentRemoved", "All content successfully removed")
	other := corev1.NamespaceCondition{Type: "example.com/Other", Status: corev1.ConditionTrue, LastTransitionTime: t0}

	cases := []struct {
		name        string
		existing    []corev1.NamespaceCondition
		desired     []corev1.NamespaceCondition
		want        []corev1.NamespaceCondition
		wantChanged bool
	}{
		{"new condition is added at now", []corev1.NamespaceCondition{other}, []corev1.NamespaceCondition{remains},
			[]corev1.NamespaceCondition{other, at(remains, t1)}, true},
		{"unchanged condition keeps its time", []corev1.NamespaceCondition{at(remains, t0)}, []corev1.NamespaceCondition{remains},
			[]corev1.NamespaceCondition{at(remains, t0)}, false},
		{"new message with the same status keeps the transition time", []corev1.NamespaceCondition{at(remains, t0)}, []corev1.NamespaceCondition{remainsOne},
			[]corev1.NamespaceCondition{at(remainsOne, t0)}, true},
		{"status flip moves the transition time", []corev1.NamespaceCondition{at(remains, t0)}, []corev1.NamespaceCondition{removed},
			[]corev1.NamespaceCondition{at(removed, t1)}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := MergeConditions(tc.existing, tc.desired, t1)
			if diff := cmp.Diff(tc.want, got); diff != "" || changed != tc.wantChanged {
				t.Errorf("MergeConditions changed=%v want %v (-want +got):\n%s", changed, tc.wantChanged, diff)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	cases := []struct {
		name    string
		content []Content
		want    Next
	}{
		{"nothing left: finalize", []Content{{Resource: pods}, {Resource: dss}}, Next{Finalize: true, Reason: ReasonEmpty}},
		{"an error: retry with backoff", []Content{{Resource: pods, Remaining: 1}, {Resource: dss, DeleteErr: errors.New("x")}},
			Next{Reason: ReasonDeleteFailed}},
		{"terminating pods: half their grace plus a second", []Content{{Resource: pods, Remaining: 2, GraceLeft: 30 * time.Second}, {Resource: dss, Remaining: 1}},
			Next{RetryAfter: 16 * time.Second, Reason: ReasonContentRemaining}},
		{"objects held by finalizers: a second", []Content{{Resource: dss, Remaining: 1, Finalizers: map[string]int{"example.com/a": 1}}},
			Next{RetryAfter: time.Second, Reason: ReasonContentRemaining}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Decide(tc.content)); diff != "" {
				t.Errorf("Decide mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWithoutKubernetesFinalizer(t *testing.T) {
	cases := []struct {
		name   string
		in     []corev1.FinalizerName
		want   []corev1.FinalizerName
		wantOK bool
	}{
		{"only kubernetes", []corev1.FinalizerName{"kubernetes"}, []corev1.FinalizerName{}, true},
		{"kubernetes and another", []corev1.FinalizerName{"example.com/x", "kubernetes"}, []corev1.FinalizerName{"example.com/x"}, true},
		{"already finalized", []corev1.FinalizerName{"example.com/x"}, []corev1.FinalizerName{"example.com/x"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := WithoutKubernetesFinalizer(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" || ok != tc.wantOK {
				t.Errorf("WithoutKubernetesFinalizer(%v) ok=%v want %v (-want +got):\n%s", tc.in, ok, tc.wantOK, diff)
			}
		})
	}
}
