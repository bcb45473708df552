package apiserver_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/everynode/everynode/internal/testserver"
)

func pod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "x"}},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
		},
	}
}

func daemonSet(name string) *appsv1.DaemonSet {
	labels := map[string]string{"app": name}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}},
			},
		},
	}
}

// An informer on pods with a spec.nodeName field selector lists, then
// receives exactly its node's events (issue 2, client-go criterion).
func TestInformerFieldSelectorSeesOnlyItsNode(t *testing.T) {
	ctx := context.Background()
	srv := testserver.Start(t)
	c := srv.Client
	for _, p := range []*corev1.Pod{pod("before-n1", "n1"), pod("before-n2", "n2")} {
		if _, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	var seen []string
	record := func(verb string) func(obj any) {
		return func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, verb+" "+obj.(*corev1.Pod).Name)
		}
	}
	factory := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", "n1").String()
	}))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    record("add"),
		UpdateFunc: func(_, obj any) { record("update")(obj) },
		DeleteFunc: record("delete"),
	}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	if !cache.WaitForCacheSync(stop, inf.HasSynced) {
		t.Fatal("informer did not sync")
	}

	// Changes on n2 and unbound pods must not reach the n1 informer; a pod
	// bound to n1 later must.
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod("later-n2", "n2"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod("unbound", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.CoreV1().Pods("default").Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: "unbound", Namespace: "default"},
		Target:     corev1.ObjectReference{Kind: "Node", Name: "n1"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.CoreV1().Pods("default").Delete(ctx, "before-n1", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	want := []string{"add before-n1", "add unbound", "delete before-n1"}
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) >= len(want), nil
	})
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		t.Fatalf("informer saw %v, want %v", seen, want)
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Fatalf("informer events (-want +got):\n%s", diff)
	}
}

func TestStaleUpdateConflicts(t *testing.T) {
	ctx := context.Background()
	c := testserver.Start(t).Client
	ds, err := c.AppsV1().DaemonSets("default").Create(ctx, daemonSet("a"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stale := ds.DeepCopy()
	ds.Labels = map[string]string{"x": "1"}
	if _, err := c.AppsV1().DaemonSets("default").Update(ctx, ds, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	stale.Labels = map[string]string{"x": "2"}
	_, err = c.AppsV1().DaemonSets("default").Update(ctx, stale, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) {
		t.Fatalf("stale update: got %v, want 409 Conflict", err)
	}
	want := `Operation cannot be fulfilled on daemonsets.apps "a": the object has been modified; please apply your changes to the latest version and try again`
	if err.Error() != want {
		t.Fatalf("conflict message:\n got %s\nwant %s", err, want)
	}
}

func TestDaemonSetGenerationsAndStatusIsolation(t *testing.T) {
	ctx := context.Background()
	c := testserver.Start(t).Client
	dss := c.AppsV1().DaemonSets("default")
	ds, err := dss.Create(ctx, daemonSet("g"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type gens struct {
		Generation         int64
		TemplateGeneration string
	}
	genOf := func(ds *appsv1.DaemonSet) gens {
		return gens{ds.Generation, ds.Annotations["deprecated.daemonset.template.generation"]}
	}
	steps := []struct {
		name   string
		change func(ds *appsv1.DaemonSet)
		want   gens
	}{
		{"R147 create", nil, gens{1, "1"}},
		{"T9#3 minReadySeconds only: generation+1, template generation kept", func(ds *appsv1.DaemonSet) { ds.Spec.MinReadySeconds = 5 }, gens{2, "1"}},
		{"T9#2 image change bumps both", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "busybox:2" }, gens{3, "2"}},
		{"labels only: nothing bumps", func(ds *appsv1.DaemonSet) { ds.Labels["l"] = "v" }, gens{3, "2"}},
		{"R147 client cannot set template generation", func(ds *appsv1.DaemonSet) { ds.Annotations["deprecated.daemonset.template.generation"] = "9" }, gens{3, "2"}},
	}
	for _, st := range steps {
		if st.change != nil {
			st.change(ds)
			ds, err = dss.Update(ctx, ds, metav1.UpdateOptions{})
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		if diff := cmp.Diff(st.want, genOf(ds)); diff != "" {
			t.Fatalf("%s (-want +got):\n%s", st.name, diff)
		}
	}

	// A status write cannot change the spec; a main write cannot change status.
	ds.Status.NumberReady = 3
	ds.Status.DesiredNumberScheduled = 3
	ds.Spec.MinReadySeconds = 99
	got, err := dss.UpdateStatus(ctx, ds, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.NumberReady != 3 || got.Spec.MinReadySeconds != 5 || got.Generation != 3 {
		t.Fatalf("status update: numberReady=%d minReadySeconds=%d generation=%d, want 3, 5, 3",
			got.Status.NumberReady, got.Spec.MinReadySeconds, got.Generation)
	}
	got.Status.NumberReady = 0
	got, err = dss.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.NumberReady != 3 {
		t.Fatalf("main update changed status.numberReady to %d", got.Status.NumberReady)
	}

	// R188 / T11#14: collisionCount may not decrease.
	got.Status.CollisionCount = ptr.To[int32](3)
	if got, err = dss.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got.Status.CollisionCount = ptr.To[int32](2)
	if _, err = dss.UpdateStatus(ctx, got, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("collisionCount 3 -> 2: got %v, want 422 Invalid", err)
	}
}

func TestInvalidObjectsGet422WithFieldPaths(t *testing.T) {
	ctx := context.Background()
	c := testserver.Start(t).Client
	tests := []struct {
		name  string
		ds    func(*appsv1.DaemonSet)
		field string
	}{
		{"T11#2 selector does not match template labels", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Labels = map[string]string{"app": "other"} }, "spec.template.metadata.labels"},
		{"T11#5 restartPolicy OnFailure", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure }, "spec.template.spec.restartPolicy"},
		{"T2#8 tolerationSeconds with NoSchedule", func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr.To[int64](30)}}
		}, "spec.template.spec.tolerations[0].effect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := daemonSet("bad")
			tc.ds(ds)
			_, err := c.AppsV1().DaemonSets("default").Create(ctx, ds, metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) {
				t.Fatalf("got %v, want 422 Invalid", err)
			}
			status := err.(apierrors.APIStatus).Status()
			var fieldsGot []string
			for _, cause := range status.Details.Causes {
				fieldsGot = append(fieldsGot, cause.Field)
			}
			found := false
			for _, f := range fieldsGot {
				found = found || f == tc.field
			}
			if !found {
				t.Fatalf("causes %v do not name %s (message %q)", fieldsGot, tc.field, status.Message)
			}
			if !strings.HasPrefix(status.Message, `DaemonSet.apps "bad" is invalid: `) {
				t.Fatalf("message %q does not start like upstream's", status.Message)
			}
		})
	}
}

// Watches resume from an old resourceVersion taken from a cluster-wide list,
// and a WatchList (sendInitialEvents) ends its initial events with the
// annotated bookmark.
func TestWatchResumeAndWatchList(t *testing.T) {
	ctx := context.Background()
	c := testserver.Start(t).Client
	list, err := c.AppsV1().DaemonSets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppsV1().DaemonSets("default").Create(ctx, daemonSet("w1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppsV1().DaemonSets("default").Create(ctx, daemonSet("w2"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := c.AppsV1().DaemonSets("default").Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, LabelSelector: "app=w2"})
	if err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, w)
	if ev.Type != watch.Added || ev.Object.(*appsv1.DaemonSet).Name != "w2" {
		t.Fatalf("first event %s %v, want ADDED w2", ev.Type, ev.Object)
	}
	w.Stop()

	w, err = c.AppsV1().DaemonSets("default").Watch(ctx, metav1.ListOptions{
		SendInitialEvents:    ptr.To(true),
		ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan,
		AllowWatchBookmarks:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var names []string
	for {
		ev := nextEvent(t, w)
		if ev.Type == watch.Bookmark {
			if ev.Object.(*appsv1.DaemonSet).Annotations[metav1.InitialEventsAnnotationKey] != "true" {
				t.Fatalf("bookmark without the initial-events-end annotation: %v", ev.Object)
			}
			break
		}
		names = append(names, ev.Object.(*appsv1.DaemonSet).Name)
	}
	sort.Strings(names)
	if diff := cmp.Diff([]string{"w1", "w2"}, names); diff != "" {
		t.Fatalf("initial events (-want +got):\n%s", diff)
	}
}

func nextEvent(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event in 10s")
	}
	return watch.Event{}
}

func TestPagingAndProtobuf(t *testing.T) {
	ctx := context.Background()
	srv := testserver.Start(t)
	cfg := rest.CopyConfig(srv.Config)
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf"
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 7; i++ {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%d", i)}}
		if _, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	opts := metav1.ListOptions{Limit: 3}
	pages := 0
	for {
		l, err := c.CoreV1().Nodes().List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, n := range l.Items {
			names = append(names, n.Name)
		}
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	if pages != 3 || len(names) != 7 || names[0] != "node-0" || names[6] != "node-6" {
		t.Fatalf("paged list: %d pages, names %v", pages, names)
	}
}

func TestUnauthenticatedGets401(t *testing.T) {
	srv := testserver.Start(t)
	cfg := rest.AnonymousClientConfig(srv.Config)
	cfg.TLSClientConfig = rest.TLSClientConfig{CAData: srv.Config.CAData}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Fatalf("anonymous list: got %v, want 401", err)
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/healthz", "/livez", "/readyz", "/version"} {
		resp, err := (&http.Client{Transport: rt}).Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s without credentials: %d, want 200", path, resp.StatusCode)
		}
	}
}

func TestPatchTypes(t *testing.T) {
	ctx := context.Background()
	c := testserver.Start(t).Client
	if _, err := c.AppsV1().DaemonSets("default").Create(ctx, daemonSet("p"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		typ   types.PatchType
		patch string
		check func(*appsv1.DaemonSet) string
	}{
		{"strategic merge keeps other containers fields", types.StrategicMergePatchType,
			`{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox:smp"}]}}}}`,
			func(ds *appsv1.DaemonSet) string { return ds.Spec.Template.Spec.Containers[0].Image }},
		{"merge patch", types.MergePatchType, `{"metadata":{"labels":{"m":"1"}}}`,
			func(ds *appsv1.DaemonSet) string { return ds.Labels["m"] }},
		{"json patch", types.JSONPatchType, `[{"op":"replace","path":"/spec/minReadySeconds","value":7}]`,
			func(ds *appsv1.DaemonSet) string { return fmt.Sprint(ds.Spec.MinReadySeconds) }},
	}
	want := []string{"busybox:smp", "1", "7"}
	for i, tc := range tests {
		ds, err := c.AppsV1().DaemonSets("default").Patch(ctx, "p", tc.typ, []byte(tc.patch), metav1.PatchOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := tc.check(ds); got != want[i] {
			t.Fatalf("%s: got %q, want %q", tc.name, got, want[i])
		}
		if ds.Spec.Template.Spec.Containers[0].ImagePullPolicy == "" {
			t.Fatalf("%s: defaults lost after patch", tc.name)
		}
	}
}
