package garbagecollector

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/everynode/everynode/internal/testserver"
)

const ns = "default"

// startCollector runs a collector against a fresh server until the test
// ends.
func startCollector(t *testing.T) kubernetes.Interface {
	t.Helper()
	srv := testserver.Start(t)
	factory := informers.NewSharedInformerFactory(srv.Client, 0)
	c, err := New(Config{Client: srv.Client, Informers: factory})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	factory.Start(ctx.Done())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := c.Run(ctx, 2); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		factory.Shutdown()
	})
	return srv.Client
}

func daemonSet(name string) *appsv1.DaemonSet {
	labels := map[string]string{"app": name}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}},
			},
		},
	}
}

func controllerRef(ds *appsv1.DaemonSet) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: "apps/v1", Kind: "DaemonSet", Name: ds.Name, UID: ds.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}
}

// fixture is a DaemonSet with two pods (unbound, so they go away without an
// agent) and a ControllerRevision, all controlled by it.
type fixture struct {
	ds *appsv1.DaemonSet
}

func createFixture(t *testing.T, c kubernetes.Interface, name string) fixture {
	t.Helper()
	ctx := context.Background()
	ds, err := c.AppsV1().DaemonSets(ns).Create(ctx, daemonSet(name), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create daemonset: %v", err)
	}
	for _, suffix := range []string{"a", "b"} {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name + "-" + suffix, Namespace: ns, Labels: map[string]string{"app": name},
				OwnerReferences: []metav1.OwnerReference{controllerRef(ds)}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}},
		}
		if _, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod: %v", err)
		}
	}
	cr := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-rev", Namespace: ns, OwnerReferences: []metav1.OwnerReference{controllerRef(ds)}},
		Data:       runtime.RawExtension{Raw: []byte(`{}`)},
		Revision:   1,
	}
	if _, err := c.AppsV1().ControllerRevisions(ns).Create(ctx, cr, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create controllerrevision: %v", err)
	}
	return fixture{ds: ds}
}

// names lists the pods and controller revisions left, with the owner
// names each still references.
func remaining(t *testing.T, c kubernetes.Interface) map[string][]string {
	t.Helper()
	ctx := context.Background()
	out := map[string][]string{}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	add := func(kind string, m metav1.ObjectMeta) {
		owners := []string{}
		for _, r := range m.OwnerReferences {
			owners = append(owners, r.Name)
		}
		sort.Strings(owners)
		out[kind+"/"+m.Name] = owners
	}
	for _, p := range pods.Items {
		add("pod", p.ObjectMeta)
	}
	crs, err := c.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cr := range crs.Items {
		add("controllerrevision", cr.ObjectMeta)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 20*time.Second, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func dsGone(c kubernetes.Interface, name string) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		_, err := c.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
}

func TestDeletionPropagation(t *testing.T) {
	cases := []struct {
		name   string
		policy metav1.DeletionPropagation
		// want is what is left once the DaemonSet is gone and the
		// collector is done.
		want map[string][]string
	}{
		{
			name:   "R189 background deletes pods and revisions after the owner",
			policy: metav1.DeletePropagationBackground,
			want:   map[string][]string{},
		},
		{
			name:   "foreground deletes dependents before the owner",
			policy: metav1.DeletePropagationForeground,
			want:   map[string][]string{},
		},
		{
			name:   "R189 orphan leaves pods and revisions without ownerReference",
			policy: metav1.DeletePropagationOrphan,
			want: map[string][]string{
				"pod/fluentd-a": {}, "pod/fluentd-b": {}, "controllerrevision/fluentd-rev": {},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := startCollector(t)
			f := createFixture(t, c, "fluentd")
			ctx := context.Background()
			err := c.AppsV1().DaemonSets(ns).Delete(ctx, f.ds.Name, metav1.DeleteOptions{PropagationPolicy: &tc.policy})
			if err != nil {
				t.Fatalf("delete daemonset: %v", err)
			}
			waitFor(t, "daemonset gone", dsGone(c, f.ds.Name))
			if tc.policy == metav1.DeletePropagationForeground {
				// The owner goes last: once it is gone nothing it owned
				// may be left.
				if diff := cmp.Diff(tc.want, remaining(t, c)); diff != "" {
					t.Fatalf("dependents left when the owner was deleted (-want +got):\n%s", diff)
				}
			}
			var last map[string][]string
			if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
				last = remaining(t, c)
				return cmp.Equal(tc.want, last), nil
			}); err != nil {
				t.Fatalf("objects left (-want +got):\n%s", cmp.Diff(tc.want, last))
			}
		})
	}
}

// Chains cascade: DaemonSet → ControllerRevision → Pod. In the foreground
// the revision (which has dependents itself) is deleted in the foreground
// too, so the DaemonSet goes only once the whole chain is gone.
func TestChainsCascade(t *testing.T) {
	for _, policy := range []metav1.DeletionPropagation{metav1.DeletePropagationBackground, metav1.DeletePropagationForeground} {
		t.Run(string(policy), func(t *testing.T) {
			c := startCollector(t)
			ctx := context.Background()
			ds, err := c.AppsV1().DaemonSets(ns).Create(ctx, daemonSet("top"), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			cr, err := c.AppsV1().ControllerRevisions(ns).Create(ctx, &appsv1.ControllerRevision{
				ObjectMeta: metav1.ObjectMeta{Name: "middle", Namespace: ns, OwnerReferences: []metav1.OwnerReference{controllerRef(ds)}},
				Data:       runtime.RawExtension{Raw: []byte(`{}`)}, Revision: 1,
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "bottom", Namespace: ns, OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "apps/v1", Kind: "ControllerRevision", Name: cr.Name, UID: cr.UID, BlockOwnerDeletion: ptr.To(true),
				}}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.AppsV1().DaemonSets(ns).Delete(ctx, ds.Name, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "daemonset gone", dsGone(c, ds.Name))
			if policy == metav1.DeletePropagationForeground {
				if diff := cmp.Diff(map[string][]string{}, remaining(t, c)); diff != "" {
					t.Fatalf("chain left when the top owner went (-want +got):\n%s", diff)
				}
			}
			waitFor(t, "chain gone", func(context.Context) (bool, error) { return len(remaining(t, c)) == 0, nil })
		})
	}
}

// A dependent with a second, live owner keeps living; only the reference to
// the deleted owner goes.
func TestDependentWithLiveOwnerLosesOnlyDanglingReference(t *testing.T) {
	c := startCollector(t)
	ctx := context.Background()
	gone := createFixture(t, c, "gone")
	stays, err := c.AppsV1().DaemonSets(ns).Create(ctx, daemonSet("stays"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	shared := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "shared", Namespace: ns, OwnerReferences: []metav1.OwnerReference{
			controllerRef(gone.ds),
			{APIVersion: "apps/v1", Kind: "DaemonSet", Name: stays.Name, UID: stays.UID},
		}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}},
	}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, shared, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.AppsV1().DaemonSets(ns).Delete(ctx, gone.ds.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"pod/shared": {"stays"}}
	var last map[string][]string
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		last = remaining(t, c)
		return cmp.Equal(want, last), nil
	}); err != nil {
		t.Fatalf("objects left (-want +got):\n%s", cmp.Diff(want, last))
	}
}

// A dependent whose owner reference names a UID that never existed (the
// owner was deleted before the collector started, or recreated) is
// collected after a live read confirms it.
func TestDependentOfRecreatedOwnerIsCollected(t *testing.T) {
	c := startCollector(t)
	ctx := context.Background()
	ds, err := c.AppsV1().DaemonSets(ns).Create(ctx, daemonSet("same-name"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stale := controllerRef(ds)
	stale.UID = "00000000-0000-0000-0000-000000000000"
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "stale", Namespace: ns, OwnerReferences: []metav1.OwnerReference{stale}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}},
	}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pod with stale owner UID deleted", func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().Pods(ns).Get(ctx, "stale", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if _, err := c.AppsV1().DaemonSets(ns).Get(ctx, ds.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the live DaemonSet of the same name must stay: %v", err)
	}
}
