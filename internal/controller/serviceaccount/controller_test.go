package serviceaccount

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

	"github.com/everynode/everynode/internal/testserver"
)

func TestNeedsDefault(t *testing.T) {
	now := metav1.Now()
	active := &corev1.Namespace{Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	terminating := &corev1.Namespace{Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}
	deleting := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}}
	tests := []struct {
		name       string
		ns         *corev1.Namespace
		hasDefault bool
		want       bool
	}{
		{name: "active namespace without the account gets one", ns: active, want: true},
		{name: "namespace without a phase yet gets one", ns: &corev1.Namespace{}, want: true},
		{name: "existing account is left alone", ns: active, hasDefault: true, want: false},
		{name: "terminating namespace gets none", ns: terminating, want: false},
		{name: "namespace marked for deletion gets none", ns: deleting, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, NeedsDefault(tt.ns, tt.hasDefault)); diff != "" {
				t.Errorf("NeedsDefault (-want +got):\n%s", diff)
			}
		})
	}
}

// start runs a controller against c until the test ends.
func start(t *testing.T, c kubernetes.Interface) *Controller {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.NewSharedInformerFactory(c, 0)
	ctrl, err := New(Config{Client: c, Informers: f})
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

func waitForDefault(t *testing.T, c kubernetes.Interface, ns string) *corev1.ServiceAccount {
	t.Helper()
	var sa *corev1.ServiceAccount
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, DefaultName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		sa = got
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("default serviceaccount in %s: %v", ns, err)
	}
	return sa
}

// Namespaces that exist before the controller starts, and ones created
// later, all get the default account; deleting it brings it back.
func TestDefaultAccountInEveryNamespace(t *testing.T) {
	srv := testserver.Start(t)
	c := srv.Client
	createNamespace(t, c, "before")
	start(t, c)
	createNamespace(t, c, "after")

	for _, ns := range []string{"default", "kube-system", "before", "after"} {
		waitForDefault(t, c, ns)
	}

	old := waitForDefault(t, c, "after")
	if err := c.CoreV1().ServiceAccounts("after").Delete(context.Background(), DefaultName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := c.CoreV1().ServiceAccounts("after").Get(ctx, DefaultName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil && got.UID != old.UID, err
	})
	if err != nil {
		t.Fatalf("default serviceaccount was not recreated: %v", err)
	}
}

// A terminating namespace gets no account: sync leaves it empty.
func TestTerminatingNamespaceGetsNoAccount(t *testing.T) {
	srv := testserver.Start(t)
	c := srv.Client
	ctx := context.Background()
	createNamespace(t, c, "leaving")
	// No namespace controller runs, so the namespace stays Terminating.
	if err := c.CoreV1().Namespaces().Delete(ctx, "leaving", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ctrl := start(t, c)
	// Once the account shows up in an active namespace created afterwards,
	// the cache has seen the terminating one too.
	createNamespace(t, c, "staying")
	waitForDefault(t, c, "staying")
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
	list, err := c.CoreV1().ServiceAccounts("leaving").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(0, len(list.Items)); diff != "" {
		t.Errorf("serviceaccounts in a terminating namespace (-want +got):\n%s", diff)
	}
}
