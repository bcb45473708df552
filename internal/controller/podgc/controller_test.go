package podgc

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/everynode/everynode/internal/testserver"
)

const ns = "default"

func createNode(t *testing.T, c kubernetes.Interface, n *corev1.Node) {
	t.Helper()
	n = n.DeepCopy()
	n.ResourceVersion = ""
	if _, err := c.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node %s: %v", n.Name, err)
	}
}

func createPod(t *testing.T, c kubernetes.Interface, name, node string) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}},
	}
	out, err := c.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
	return out
}

func podNames(t *testing.T, c kubernetes.Interface) []string {
	t.Helper()
	l, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, p := range l.Items {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

func waitForPods(t *testing.T, c kubernetes.Interface, want []string) {
	t.Helper()
	var got []string
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		got = podNames(t, c)
		return cmp.Equal(want, got), nil
	}); err != nil {
		t.Fatalf("pods left (-want +got):\n%s", cmp.Diff(want, got))
	}
}

// The running collector force-deletes pods of deleted nodes and
// terminating pods of out-of-service nodes, and leaves the rest.
func TestRunCollectsOrphanedAndOutOfServicePods(t *testing.T) {
	srv := testserver.Start(t)
	c := srv.Client
	ctx := context.Background()
	createNode(t, c, mkNode("stays", true))
	createNode(t, c, mkNode("doomed", true))
	createNode(t, c, mkNode("down", false, outOfService))
	createPod(t, c, "on-stays", "stays")
	createPod(t, c, "on-doomed", "doomed")
	createPod(t, c, "on-down", "down")
	createPod(t, c, "terminating-on-stays", "stays")
	// Bound pods get a grace period: without an agent they stay
	// Terminating until someone force-deletes them.
	for _, p := range []string{"on-down", "terminating-on-stays"} {
		if err := c.CoreV1().Pods(ns).Delete(ctx, p, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CoreV1().Nodes().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	factory := informers.NewSharedInformerFactory(c, 0)
	gc, err := New(Config{Client: c, Informers: factory, Quarantine: 100 * time.Millisecond, Period: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	factory.Start(rctx.Done())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := gc.Run(rctx, 1); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		factory.Shutdown()
	})
	waitForPods(t, c, []string{"on-stays", "terminating-on-stays"})
}

// A node missing from the cache is only checked, and its pods only
// deleted, once the quarantine is over on the injected clock.
func TestPassWaitsForQuarantine(t *testing.T) {
	srv := testserver.Start(t)
	c := srv.Client
	ctx := context.Background()
	createNode(t, c, mkNode("here", true))
	createPod(t, c, "on-ghost", "ghost")
	createPod(t, c, "on-here", "here")

	clk := clocktesting.NewFakeClock(t0)
	factory := informers.NewSharedInformerFactory(c, 0)
	gc, err := New(Config{Client: c, Informers: factory, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	t.Cleanup(func() { cancel(); factory.Shutdown() })
	factory.Start(rctx.Done())
	for typ, ok := range factory.WaitForCacheSync(rctx.Done()) {
		if !ok {
			t.Fatalf("cache of %v did not sync", typ)
		}
	}
	steps := []struct {
		name    string
		advance time.Duration
		want    []string
	}{
		{"first pass starts the quarantine", 0, []string{"on-ghost", "on-here"}},
		{"quarantine not over", DefaultQuarantine - time.Second, []string{"on-ghost", "on-here"}},
		{"quarantine over: live read confirms the node is gone", time.Second, []string{"on-here"}},
	}
	for _, s := range steps {
		clk.Step(s.advance)
		if err := gc.Pass(ctx); err != nil {
			t.Fatalf("%s: Pass: %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, podNames(t, c)); diff != "" {
			t.Fatalf("%s: pods (-want +got):\n%s", s.name, diff)
		}
	}
}

// Terminated pods beyond the threshold are deleted, oldest first.
func TestPassCollectsTerminatedBeyondThreshold(t *testing.T) {
	srv := testserver.Start(t)
	c := srv.Client
	ctx := context.Background()
	createNode(t, c, mkNode("n", true))
	for _, name := range []string{"t1", "t2", "t3", "t4"} {
		p := createPod(t, c, name, "n")
		p.Status.Phase = corev1.PodSucceeded
		if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("set %s succeeded: %v", name, err)
		}
	}
	createPod(t, c, "running", "n")

	factory := informers.NewSharedInformerFactory(c, 0)
	gc, err := New(Config{Client: c, Informers: factory, TerminatedPodThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	t.Cleanup(func() { cancel(); factory.Shutdown() })
	factory.Start(rctx.Done())
	factory.WaitForCacheSync(rctx.Done())
	// The cache must hold the terminal phases before the pass.
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		p, err := gc.pods.Pods(ns).Get("t4")
		return err == nil && p.Status.Phase == corev1.PodSucceeded, nil
	}); err != nil {
		t.Fatal("cache never saw t4 succeed")
	}
	if err := gc.Pass(ctx); err != nil {
		t.Fatalf("Pass: %v", err)
	}
	if diff := cmp.Diff([]string{"running", "t3", "t4"}, podNames(t, c)); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
	if _, err := c.CoreV1().Pods(ns).Get(ctx, "t1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("t1: got %v, want NotFound", err)
	}
}
