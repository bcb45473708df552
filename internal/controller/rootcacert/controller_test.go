package rootcacert

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/everynode/everynode/internal/testserver"
)

const ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

func TestDesired(t *testing.T) {
	meta := func(ann map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: ConfigMapName, Namespace: "ns", ResourceVersion: "7", Labels: map[string]string{"keep": "me"}, Annotations: ann}
	}
	described := map[string]string{DescriptionAnnotation: Description}
	tests := []struct {
		name    string
		current *corev1.ConfigMap
		want    *corev1.ConfigMap
	}{
		{
			name: "missing configmap is created with the CA and the description",
			want: &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Namespace: "ns", Annotations: described},
				Data:       map[string]string{DataKey: ca},
			},
		},
		{
			name:    "correct configmap is left alone",
			current: &corev1.ConfigMap{ObjectMeta: meta(described), Data: map[string]string{DataKey: ca}},
		},
		{
			name:    "any non-empty description is accepted",
			current: &corev1.ConfigMap{ObjectMeta: meta(map[string]string{DescriptionAnnotation: "mine"}), Data: map[string]string{DataKey: ca}},
		},
		{
			name:    "stale CA is replaced, labels and other annotations kept",
			current: &corev1.ConfigMap{ObjectMeta: meta(map[string]string{DescriptionAnnotation: Description, "other": "x"}), Data: map[string]string{DataKey: "old"}},
			want: &corev1.ConfigMap{
				ObjectMeta: meta(map[string]string{DescriptionAnnotation: Description, "other": "x"}),
				Data:       map[string]string{DataKey: ca},
			},
		},
		{
			name:    "extra data keys are dropped",
			current: &corev1.ConfigMap{ObjectMeta: meta(described), Data: map[string]string{DataKey: ca, "extra": "y"}},
			want:    &corev1.ConfigMap{ObjectMeta: meta(described), Data: map[string]string{DataKey: ca}},
		},
		{
			name:    "missing description is added",
			current: &corev1.ConfigMap{ObjectMeta: meta(nil), Data: map[string]string{DataKey: ca}},
			want:    &corev1.ConfigMap{ObjectMeta: meta(described), Data: map[string]string{DataKey: ca}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Desired(tt.current, "ns", ca)); diff != "" {
				t.Errorf("Desired (-want +got):\n%s", diff)
			}
		})
	}
}

func start(t *testing.T, c kubernetes.Interface, caPEM string) *Controller {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.NewSharedInformerFactory(c, 0)
	ctrl, err := New(Config{Client: c, Informers: f, CAPEM: []byte(caPEM)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx, 2) }()
	f.Start(ctx.Done())
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		f.Shutdown()
	})
	return ctrl
}

func createNamespace(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

// waitForCA waits until the namespace's ConfigMap holds exactly the CA and
// returns it.
func waitForCA(t *testing.T, c kubernetes.Interface, ns string) *corev1.ConfigMap {
	t.Helper()
	var got *corev1.ConfigMap
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, ConfigMapName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		got = cm
		return cmp.Equal(map[string]string{DataKey: ca}, cm.Data), nil
	})
	if err != nil {
		t.Fatalf("%s/%s never held the CA: %v; last seen %v", ns, ConfigMapName, err, got)
	}
	return got
}

// Every namespace, existing or new, gets the ConfigMap; deleting or
// tampering with it is undone.
func TestPublishesIntoEveryNamespace(t *testing.T) {
	srv := testserver.Start(t)
	c := srv.Client
	ctx := context.Background()
	createNamespace(t, c, "before")
	start(t, c, ca)
	createNamespace(t, c, "after")
	for _, ns := range []string{"default", "kube-system", "before", "after"} {
		cm := waitForCA(t, c, ns)
		if diff := cmp.Diff(Description, cm.Annotations[DescriptionAnnotation]); diff != "" {
			t.Errorf("%s: description (-want +got):\n%s", ns, diff)
		}
	}

	if err := c.CoreV1().ConfigMaps("after").Delete(ctx, ConfigMapName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForCA(t, c, "after")

	cm := waitForCA(t, c, "before").DeepCopy()
	cm.Data = map[string]string{DataKey: "tampered", "extra": "x"}
	if _, err := c.CoreV1().ConfigMaps("before").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitForCA(t, c, "before")
}

// Without a CA there is nothing to publish, so New refuses.
func TestNewRequiresCA(t *testing.T) {
	c := fake.NewClientset()
	f := informers.NewSharedInformerFactory(c, 0)
	if _, err := New(Config{Client: c, Informers: f}); err == nil {
		t.Fatal("New without CAPEM: want an error, got none")
	}
}

// A terminating namespace gets no ConfigMap: sync leaves it empty.
func TestTerminatingNamespaceGetsNothing(t *testing.T) {
	srv := testserver.Start(t)
	c := srv.Client
	ctx := context.Background()
	createNamespace(t, c, "leaving")
	// No namespace controller runs, so the namespace stays Terminating.
	if err := c.CoreV1().Namespaces().Delete(ctx, "leaving", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ctrl := start(t, c, ca)
	// Once an active namespace created afterwards has its ConfigMap, the
	// cache has seen the terminating one too.
	createNamespace(t, c, "staying")
	waitForCA(t, c, "staying")
	ns, err := ctrl.namespaces.Get("leaving")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(corev1.NamespaceTerminating, ns.Status.Phase); diff != "" {
		t.Fatalf("namespace phase (-want +got):\n%s", diff)
	}
	if err := ctrl.sync(ctx, "leaving"); err != nil {
		t.Fatalf("sync: %v", err)
	}
	list, err := c.CoreV1().ConfigMaps("leaving").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(0, len(list.Items)); diff != "" {
		t.Errorf("configmaps in a terminating namespace (-want +got):\n%s", diff)
	}
}
