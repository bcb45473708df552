package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/everynode/everynode/internal/etcd"
)

func newTestStore(t *testing.T, dir string) (*Store, *Resource) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m, err := etcd.Start(ctx, etcd.Config{Dir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	s := New(m.Client(), scheme)
	pods := s.Register(ResourceConfig{
		Name: "pods", GVK: corev1.SchemeGroupVersion.WithKind("Pod"), Namespaced: true,
		Attrs: func(obj runtime.Object) map[string]string {
			p := obj.(*corev1.Pod)
			return map[string]string{"spec.nodeName": p.Spec.NodeName, "status.phase": string(p.Status.Phase)}
		},
		IndexField:    "spec.nodeName",
		HistoryLength: 8,
	})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-s.Done()
		m.Close()
	})
	return s, pods
}

func pod(ns, name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}},
		Spec:       corev1.PodSpec{NodeName: node},
	}
}

func rvOf(t *testing.T, obj runtime.Object) int64 {
	t.Helper()
	rv, err := strconv.ParseInt(obj.(*corev1.Pod).ResourceVersion, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion of %v: %v", obj, err)
	}
	return rv
}

func names(objs []runtime.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.(*corev1.Pod).Name)
	}
	return out
}

func TestCreateGetUpdateDelete(t *testing.T) {
	ctx := context.Background()
	_, pods := newTestStore(t, t.TempDir())
	key := pods.Key("default", "a")

	created, err := pods.Create(ctx, key, pod("default", "a", "n1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, key, pod("default", "a", "n1")); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("second create: got %v, want ErrAlreadyExists", err)
	}
	got, err := pods.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(created, got); diff != "" {
		t.Fatalf("get after create (-want +got):\n%s", diff)
	}

	updated, err := pods.Update(ctx, key, func(cur runtime.Object) (runtime.Object, error) {
		cur.(*corev1.Pod).Labels["x"] = "y"
		return cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rvOf(t, updated) <= rvOf(t, created) {
		t.Fatalf("update did not advance resourceVersion: %d -> %d", rvOf(t, created), rvOf(t, updated))
	}
	same, err := pods.Update(ctx, key, func(cur runtime.Object) (runtime.Object, error) { return cur, nil })
	if err != nil {
		t.Fatal(err)
	}
	if rvOf(t, same) != rvOf(t, updated) {
		t.Fatalf("no-op update wrote: rv %d -> %d", rvOf(t, updated), rvOf(t, same))
	}

	deleted, err := pods.Delete(ctx, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rvOf(t, deleted) <= rvOf(t, updated) {
		t.Fatalf("delete rv %d not after %d", rvOf(t, deleted), rvOf(t, updated))
	}
	if _, err := pods.Get(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}

func TestListFromCacheAndPaged(t *testing.T) {
	ctx := context.Background()
	_, pods := newTestStore(t, t.TempDir())
	for i, node := range []string{"n1", "n2", "n1", "n3", "n1"} {
		if _, err := pods.Create(ctx, pods.Key("ns", fmt.Sprintf("p%d", i)), pod("ns", fmt.Sprintf("p%d", i), node)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pods.Create(ctx, pods.Key("other", "q"), pod("other", "q", "n1")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		opts ListOptions
		want []string
	}{
		{"all namespaces", ListOptions{}, []string{"p0", "p1", "p2", "p3", "p4", "q"}},
		{"one namespace", ListOptions{Namespace: "ns"}, []string{"p0", "p1", "p2", "p3", "p4"}},
		{"indexed field", ListOptions{Namespace: "ns", Field: fields.OneTermEqualSelector("spec.nodeName", "n1")}, []string{"p0", "p2", "p4"}},
		{"field not equal", ListOptions{Field: fields.OneTermNotEqualSelector("spec.nodeName", "n1")}, []string{"p1", "p3"}},
		{"label", ListOptions{Label: labels.SelectorFromSet(labels.Set{"app": "p3"})}, []string{"p3"}},
		{"any revision", ListOptions{Namespace: "ns", Any: true}, []string{"p0", "p1", "p2", "p3", "p4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := pods.List(ctx, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, names(res.Items)); diff != "" {
				t.Fatalf("list (-want +got):\n%s", diff)
			}
		})
	}

	// Paging: pages of 2 at one revision, not disturbed by a later write.
	var got []string
	opts := ListOptions{Namespace: "ns", Limit: 2}
	for page := 0; ; page++ {
		res, err := pods.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, names(res.Items)...)
		if page == 0 {
			if _, err := pods.Create(ctx, pods.Key("ns", "p9"), pod("ns", "p9", "n1")); err != nil {
				t.Fatal(err)
			}
		}
		if res.Continue == "" {
			break
		}
		opts.Continue = res.Continue
	}
	if diff := cmp.Diff([]string{"p0", "p1", "p2", "p3", "p4"}, got); diff != "" {
		t.Fatalf("paged list (-want +got):\n%s", diff)
	}
}

func next(t *testing.T, w *Watcher) Event {
	t.Helper()
	select {
	case ev, ok := <-w.Events():
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return Event{}
}

func TestWatchIndexedSeesOnlyItsNode(t *testing.T) {
	ctx := context.Background()
	_, pods := newTestStore(t, t.TempDir())
	w, err := pods.Watch(ctx, WatchOptions{Field: fields.OneTermEqualSelector("spec.nodeName", "n1"), Initial: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if len(w.Initial()) != 0 {
		t.Fatalf("initial events on empty store: %v", w.Initial())
	}
	if _, err := pods.Create(ctx, pods.Key("ns", "other"), pod("ns", "other", "n2")); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx, pods.Key("ns", "unbound"), pod("ns", "unbound", "")); err != nil {
		t.Fatal(err)
	}
	// Binding the pod to n1 is an ADDED event for n1's watcher.
	if _, err := pods.Update(ctx, pods.Key("ns", "unbound"), func(cur runtime.Object) (runtime.Object, error) {
		cur.(*corev1.Pod).Spec.NodeName = "n1"
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Delete(ctx, pods.Key("ns", "unbound"), nil); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ  watch.EventType
		name string
	}{{watch.Added, "unbound"}, {watch.Deleted, "unbound"}}
	for _, wt := range want {
		ev := next(t, w)
		if ev.Type != wt.typ || ev.Object.(*corev1.Pod).Name != wt.name {
			t.Fatalf("got %s %s, want %s %s", ev.Type, ev.Object.(*corev1.Pod).Name, wt.typ, wt.name)
		}
	}
	select {
	case ev := <-w.Events():
		t.Fatalf("unexpected event %s %s", ev.Type, ev.Object.(*corev1.Pod).Name)
	default:
	}
}

func TestWatchResumesFromRevisionAndExpires(t *testing.T) {
	ctx := context.Background()
	_, pods := newTestStore(t, t.TempDir())
	first, err := pods.Create(ctx, pods.Key("ns", "a"), pod("ns", "a", ""))
	if err != nil {
		t.Fatal(err)
	}
	from := rvOf(t, first)
	for i := 0; i < 3; i++ {
		if _, err := pods.Create(ctx, pods.Key("ns", fmt.Sprint("b", i)), pod("ns", fmt.Sprint("b", i), "")); err != nil {
			t.Fatal(err)
		}
	}
	w, err := pods.Watch(ctx, WatchOptions{From: from})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range w.Initial() {
		got = append(got, string(ev.Type)+" "+ev.Object.(*corev1.Pod).Name)
	}
	// The cache may not have seen every write yet; the rest arrive live.
	for len(got) < 3 {
		ev := next(t, w)
		got = append(got, string(ev.Type)+" "+ev.Object.(*corev1.Pod).Name)
	}
	w.Stop()
	if diff := cmp.Diff([]string{"ADDED b0", "ADDED b1", "ADDED b2"}, got); diff != "" {
		t.Fatalf("replayed events (-want +got):\n%s", diff)
	}

	// History holds 8 changes; after 10 more, the first revision is gone.
	for i := 0; i < 10; i++ {
		if _, err := pods.Create(ctx, pods.Key("ns", fmt.Sprint("c", i)), pod("ns", fmt.Sprint("c", i), "")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pods.List(ctx, ListOptions{}); err != nil { // waits for the cache
		t.Fatal(err)
	}
	if _, err := pods.Watch(ctx, WatchOptions{From: from}); !errors.Is(err, ErrExpired) {
		t.Fatalf("watch from evicted revision: got %v, want ErrExpired", err)
	}
}

// Superseded versions are kept in the history in their stored form only;
// a replay decodes them again and must see every version exactly, and a
// watcher whose selector the object leaves gets the last version it matched.
func TestReplayDecodesSupersededVersions(t *testing.T) {
	ctx := context.Background()
	_, pods := newTestStore(t, t.TempDir())
	key := pods.Key("ns", "a")
	first, err := pods.Create(ctx, key, pod("ns", "a", ""))
	if err != nil {
		t.Fatal(err)
	}
	from := rvOf(t, first)
	var wantRVs []string
	for _, v := range []string{"1", "2", "3"} {
		updated, err := pods.Update(ctx, key, func(cur runtime.Object) (runtime.Object, error) {
			p := cur.(*corev1.Pod).DeepCopy()
			p.Labels["v"] = v
			return p, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		wantRVs = append(wantRVs, updated.(*corev1.Pod).ResourceVersion)
	}
	if _, err := pods.List(ctx, ListOptions{}); err != nil { // waits for the cache
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		label labels.Selector
		want  []string
	}{
		{"everything", nil, []string{
			"MODIFIED v=1 rv=" + wantRVs[0], "MODIFIED v=2 rv=" + wantRVs[1], "MODIFIED v=3 rv=" + wantRVs[2]}},
		{"leaves the selector", labels.SelectorFromSet(labels.Set{"v": "1"}), []string{
			"ADDED v=1 rv=" + wantRVs[0], "DELETED v=1 rv=" + wantRVs[1]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := pods.Watch(ctx, WatchOptions{From: from, Label: tc.label})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			var got []string
			for _, ev := range w.Initial() {
				p := ev.Object.(*corev1.Pod)
				got = append(got, fmt.Sprintf("%s v=%s rv=%s", ev.Type, p.Labels["v"], p.ResourceVersion))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("replayed events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompactorKeepsOneIntervalOfHistory(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, pods := newTestStore(t, t.TempDir())
	first, err := pods.Create(ctx, pods.Key("ns", "a"), pod("ns", "a", ""))
	if err != nil {
		t.Fatal(err)
	}
	go s.RunCompactor(ctx, 20*time.Millisecond)
	// Keep writing so revisions move on; the first one is compacted away.
	i := 0
	err = wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		i++
		if _, err := pods.Create(ctx, pods.Key("ns", fmt.Sprint("b", i)), pod("ns", fmt.Sprint("b", i), "")); err != nil {
			return false, err
		}
		_, err := pods.List(ctx, ListOptions{Revision: rvOf(t, first), Exact: true})
		return errors.Is(err, ErrExpired), nil
	})
	if err != nil {
		t.Fatalf("revision %d still readable: %v", rvOf(t, first), err)
	}
}

func TestWatchByNameSeesOnlyThatObject(t *testing.T) {
	ctx := context.Background()
	_, pods := newTestStore(t, t.TempDir())
	if _, err := pods.Create(ctx, pods.Key("ns", "mine"), pod("ns", "mine", "")); err != nil {
		t.Fatal(err)
	}
	w, err := pods.Watch(ctx, WatchOptions{Namespace: "ns", Field: fields.OneTermEqualSelector("metadata.name", "mine"), Initial: true, Fresh: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if len(w.Initial()) != 1 || w.Initial()[0].Object.(*corev1.Pod).Name != "mine" {
		t.Fatalf("initial events %v, want ADDED mine", w.Initial())
	}
	for _, name := range []string{"other", "mine2"} {
		if _, err := pods.Create(ctx, pods.Key("ns", name), pod("ns", name, "")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pods.Update(ctx, pods.Key("ns", "mine"), func(cur runtime.Object) (runtime.Object, error) {
		cur.(*corev1.Pod).Labels["x"] = "y"
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w); ev.Type != watch.Modified || ev.Object.(*corev1.Pod).Name != "mine" {
		t.Fatalf("got %s %s, want MODIFIED mine", ev.Type, ev.Object.(*corev1.Pod).Name)
	}
	res, err := pods.List(ctx, ListOptions{Namespace: "ns", Field: fields.OneTermEqualSelector("metadata.name", "mine2")})
	if err != nil || len(res.Items) != 1 || res.Items[0].(*corev1.Pod).Name != "mine2" {
		t.Fatalf("list by name: %v %v", names(res.Items), err)
	}
}
