package namespace

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/everynode/everynode/internal/testserver"
)

func startController(t *testing.T) kubernetes.Interface {
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

func mustCreate(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
}

// populate creates one object of each served namespaced kind in ns; the
// pod is unbound so that its deletion needs no agent.
func populate(t *testing.T, c kubernetes.Interface, ns string, podFinalizers ...string) {
	t.Helper()
	ctx := context.Background()
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	mustCreate(t, err)
	labels := map[string]string{"app": "x"}
	_, err = c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns, Finalizers: podFinalizers},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}},
	}, metav1.CreateOptions{})
	mustCreate(t, err)
	_, err = c.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ds", Namespace: ns},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}},
			},
		},
	}, metav1.CreateOptions{})
	mustCreate(t, err)
	_, err = c.AppsV1().ControllerRevisions(ns).Create(ctx, &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: "rev", Namespace: ns}, Data: runtime.RawExtension{Raw: []byte(`{}`)}, Revision: 1,
	}, metav1.CreateOptions{})
	mustCreate(t, err)
	_, err = c.CoreV1().Events(ns).Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "ev", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: ns},
		Reason:         "Test", Message: "hello", Type: corev1.EventTypeNormal,
		Source: corev1.EventSource{Component: "test"}, FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(), Count: 1,
	}, metav1.CreateOptions{})
	mustCreate(t, err)
	_, err = c.CoordinationV1().Leases(ns).Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "lease", Namespace: ns},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("me")},
	}, metav1.CreateOptions{})
	mustCreate(t, err)
	_, err = c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns},
	}, metav1.CreateOptions{})
	mustCreate(t, err)
	_, err = c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt", Namespace: ns}, Data: map[string]string{"ca.crt": "x"},
	}, metav1.CreateOptions{})
	mustCreate(t, err)
	_, err = c.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "svc", Namespace: ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{})
	mustCreate(t, err)
}

// count lists how many objects of each kind ns holds.
func count(t *testing.T, c kubernetes.Interface, ns string) map[string]int {
	t.Helper()
	ctx := context.Background()
	out := map[string]int{}
	p, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["pods"] = len(p.Items)
	d, err := c.AppsV1().DaemonSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["daemonsets"] = len(d.Items)
	r, err := c.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["controllerrevisions"] = len(r.Items)
	e, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["events"] = len(e.Items)
	l, err := c.CoordinationV1().Leases(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["leases"] = len(l.Items)
	sa, err := c.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["serviceaccounts"] = len(sa.Items)
	cm, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["configmaps"] = len(cm.Items)
	svc, err := c.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["services"] = len(svc.Items)
	return out
}

func poll(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 20*time.Second, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func namespaceGone(c kubernetes.Interface, ns string) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
}

func TestDeletingNamespaceRemovesContentThenNamespace(t *testing.T) {
	c := startController(t)
	ctx := context.Background()
	populate(t, c, "doomed")
	populate(t, c, "bystander")
	if err := c.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "namespace doomed gone", namespaceGone(c, "doomed"))
	empty := map[string]int{"pods": 0, "daemonsets": 0, "controllerrevisions": 0, "events": 0, "leases": 0, "serviceaccounts": 0, "configmaps": 0, "services": 0}
	if diff := cmp.Diff(empty, count(t, c, "doomed")); diff != "" {
		t.Errorf("content left in deleted namespace (-want +got):\n%s", diff)
	}
	full := map[string]int{"pods": 1, "daemonsets": 1, "controllerrevisions": 1, "events": 1, "leases": 1, "serviceaccounts": 1, "configmaps": 1, "services": 1}
	if diff := cmp.Diff(full, count(t, c, "bystander")); diff != "" {
		t.Errorf("other namespace touched (-want +got):\n%s", diff)
	}
}

// Content held by a finalizer keeps the namespace, with conditions saying
// why, until the finalizer goes.
func TestNamespaceWaitsForFinalizedContent(t *testing.T) {
	c := startController(t)
	ctx := context.Background()
	populate(t, c, "held", "example.com/hold")
	if err := c.CoreV1().Namespaces().Delete(ctx, "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[corev1.NamespaceConditionType]string{
		corev1.NamespaceContentRemaining:    "Some resources are remaining: pods. has 1 resource instances",
		corev1.NamespaceFinalizersRemaining: "Some finalizers are remaining: example.com/hold in 1 resource instances",
	}
	var got map[corev1.NamespaceConditionType]string
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		ns, err := c.CoreV1().Namespaces().Get(ctx, "held", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got = map[corev1.NamespaceConditionType]string{}
		for _, cd := range ns.Status.Conditions {
			if cd.Status == corev1.ConditionTrue {
				got[cd.Type] = cd.Message
			}
		}
		return cmp.Equal(want, got), nil
	}); err != nil {
		t.Fatalf("true conditions of held namespace (-want +got):\n%s", cmp.Diff(want, got))
	}
	if _, err := c.CoreV1().Pods("held").Patch(ctx, "p", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("release pod: %v", err)
	}
	poll(t, "namespace held gone", namespaceGone(c, "held"))
}
