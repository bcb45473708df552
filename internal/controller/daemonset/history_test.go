package daemonset

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func mustHash(t *testing.T, ds *appsv1.DaemonSet) string {
	t.Helper()
	h, err := templateHash(&ds.Spec.Template, ds.Status.CollisionCount)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustData(t *testing.T, ds *appsv1.DaemonSet) []byte {
	t.Helper()
	d, err := revisionData(ds)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestTemplateHash(t *testing.T) {
	a := mkDS()
	if mustHash(t, a) != mustHash(t, a.DeepCopy()) {
		t.Error("R141 hash not stable for an identical template")
	}
	b := mkDS(func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.Containers[0].Image = "img:C" })
	if mustHash(t, a) == mustHash(t, b) {
		t.Error("T9#2 image change kept the hash")
	}
	c := mkDS(minReady(30), onDelete)
	if mustHash(t, a) != mustHash(t, c) {
		t.Error("T9#3 R141 minReadySeconds/updateStrategy changed the hash")
	}
	salted := a.DeepCopy()
	salted.Status.CollisionCount = ptr.To[int32](1)
	if mustHash(t, a) == mustHash(t, salted) {
		t.Error("T9#8 R143 collisionCount does not salt the hash")
	}
	if h := mustHash(t, a); strings.ContainsAny(h, "aeiou") {
		t.Errorf("R141 hash %q uses vowels", h)
	}
}

func TestRevisionData(t *testing.T) {
	data := mustData(t, mkDS(minReady(9)))
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	spec := got["spec"].(map[string]any)
	if len(got) != 1 || len(spec) != 1 {
		t.Fatalf("R140 data holds more than spec.template: %s", data)
	}
	tmpl := spec["template"].(map[string]any)
	if tmpl["$patch"] != "replace" {
		t.Errorf("R140 template lacks $patch: replace: %s", data)
	}
	if string(data) != string(mustData(t, mkDS())) {
		t.Error("T9#3 minReadySeconds changed the revision data")
	}
}

func rev(name, h string, number int64, data []byte) *appsv1.ControllerRevision {
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{appsv1.ControllerRevisionHashLabelKey: h}},
		Data:       runtime.RawExtension{Raw: data},
		Revision:   number,
	}
}

func TestSplitRevisions(t *testing.T) {
	a := mustData(t, mkDS(func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.Containers[0].Image = "img:A" }))
	b := mustData(t, mkDS())
	cases := []struct {
		name        string
		data        []byte
		revs        []*appsv1.ControllerRevision
		wantCurrent []string
		wantNext    int64
	}{
		{"T9#1 first revision", a, nil, nil, 1},
		{"T9#2 template change: new revision 2", b, []*appsv1.ControllerRevision{rev("ds-hA", "hA", 1, a)}, nil, 2},
		{"T9#4 R148 undo finds rev A and renumbers it to 3", a,
			[]*appsv1.ControllerRevision{rev("ds-hA", "hA", 1, a), rev("ds-hB", "hB", 2, b)}, []string{"ds-hA"}, 3},
		{"R142 duplicates: highest kept last", a,
			[]*appsv1.ControllerRevision{rev("ds-x", "x", 4, a), rev("ds-y", "y", 2, a), rev("ds-hB", "hB", 3, b)}, []string{"ds-y", "ds-x"}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := splitRevisions(tc.data, tc.revs)
			var names []string
			for _, r := range s.Current {
				names = append(names, r.Name)
			}
			if diff := cmp.Diff(tc.wantCurrent, names); diff != "" {
				t.Errorf("current (-want +got):\n%s", diff)
			}
			if s.NextNumber != tc.wantNext {
				t.Errorf("next number = %d, want %d", s.NextNumber, tc.wantNext)
			}
		})
	}
}

func TestPlanHistoryCleanup(t *testing.T) {
	var twelve []*appsv1.ControllerRevision
	for i := int64(1); i <= 12; i++ {
		twelve = append(twelve, rev("ds-"+string(rune('a'+i)), "h"+string(rune('a'+i)), i, nil))
	}
	limit := func(n int32) func(*appsv1.DaemonSet) {
		return func(d *appsv1.DaemonSet) { d.Spec.RevisionHistoryLimit = &n }
	}
	cases := []struct {
		name string
		ds   *appsv1.DaemonSet
		old  []*appsv1.ControllerRevision
		pods []*corev1.Pod
		want []string
	}{
		{"T9#6 12 old, default limit 10: two oldest go", mkDS(), twelve, nil, []string{"ds-b", "ds-c"}},
		{"T9#6 pinned revision skipped, next oldest goes", mkDS(), twelve, []*corev1.Pod{mkPod("p", "n1", hash("hb"))}, []string{"ds-c", "ds-d"}},
		{"T9#7 limit 0, rev A pinned by a pod: kept", mkDS(limit(0)), []*appsv1.ControllerRevision{rev("ds-hA", "hA", 1, nil)},
			[]*corev1.Pod{mkPod("p", "n1", hash("hA"))}, nil},
		{"T9#7 limit 0, no pod on rev A: deleted", mkDS(limit(0)), []*appsv1.ControllerRevision{rev("ds-hA", "hA", 1, nil)}, nil, []string{"ds-hA"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, planHistoryCleanup(tc.ds, tc.old, tc.pods)); diff != "" {
				t.Errorf("planHistoryCleanup (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewRevisionShape(t *testing.T) {
	ds := mkDS(func(d *appsv1.DaemonSet) { d.Annotations["kubernetes.io/change-cause"] = "v2" })
	r := newRevision(ds, "hB", []byte(`{}`), 3)
	want := map[string]string{"app": "a", appsv1.ControllerRevisionHashLabelKey: "hB"}
	if diff := cmp.Diff(want, r.Labels); diff != "" {
		t.Errorf("R140 labels (-want +got):\n%s", diff)
	}
	if r.Name != "ds-hB" || r.Revision != 3 || r.Annotations["kubernetes.io/change-cause"] != "v2" || !metav1.IsControlledBy(r, ds) {
		t.Errorf("R140 revision = %+v", r.ObjectMeta)
	}
}

// TestHashCollision is T9#8: a foreign revision holds our name, so the
// collision count is bumped and the sync fails to retry with a new hash.
func TestHashCollision(t *testing.T) {
	ds := mkDS()
	name := revisionName(ds.Name, mustHash(t, ds))
	foreign := rev(name, "zzz", 1, []byte(`{"foreign":true}`))
	client := fake.NewSimpleClientset(ds, foreign)
	c := &Controller{client: client}
	_, err := c.createRevision(context.Background(), ds, mustData(t, ds), 1)
	if err == nil {
		t.Fatal("R143 collision did not fail the sync")
	}
	got, err := client.AppsV1().DaemonSets("default").Get(context.Background(), "ds", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.CollisionCount == nil || *got.Status.CollisionCount != 1 {
		t.Errorf("R143 collisionCount = %v, want 1", got.Status.CollisionCount)
	}
	if revisionName(ds.Name, mustHash(t, got)) == name {
		t.Error("T9#8 bumped collisionCount gives the same name")
	}
}
