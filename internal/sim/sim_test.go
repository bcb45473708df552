package sim_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/everynode/everynode/internal/sim"
	"github.com/everynode/everynode/internal/testserver"
)

// syncWriter lets the fleet's goroutines log through t.
type syncWriter struct {
	mu sync.Mutex
	t  *testing.T
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startSim runs a fleet until the test ends and returns Run's result.
func startSim(t *testing.T, cfg sim.Config) <-chan error {
	t.Helper()
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return done
}

func poll(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 15*time.Second, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func TestFleetSmoke(t *testing.T) {
	const nodes = 50
	srv := testserver.Start(t)
	startSim(t, sim.Config{
		ServerURL: srv.URL, Token: srv.JoinToken, Nodes: nodes, NamePrefix: "sim-",
		Labels:        map[string]string{"fleet": "smoke"},
		Taints:        []corev1.Taint{{Key: "sim", Value: "yes", Effect: corev1.TaintEffectPreferNoSchedule}},
		PodStartDelay: 100 * time.Millisecond,
		Out:           &syncWriter{t: t},
	})
	ctx := context.Background()
	c := srv.Client

	// Every node registered Ready, as itself: NodeRestriction lets a node
	// credential create only its own Node and the simulator holds no other
	// credential, so 50 Nodes mean 50 distinct node credentials.
	var nodeNames []string
	poll(t, "50 Ready nodes with renewed leases", func(ctx context.Context) (bool, error) {
		list, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "fleet=smoke"})
		if err != nil {
			return false, err
		}
		nodeNames = nodeNames[:0]
		for _, n := range list.Items {
			if !nodeReady(&n) {
				return false, nil
			}
			l, err := c.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, n.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != n.Name || l.Spec.RenewTime == nil {
				return false, fmt.Errorf("lease %s: holder %v, renewTime %v", n.Name, l.Spec.HolderIdentity, l.Spec.RenewTime)
			}
			nodeNames = append(nodeNames, n.Name)
		}
		return len(nodeNames) == nodes, nil
	})
	n0, err := c.CoreV1().Nodes().Get(ctx, "sim-00", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantTaints := []corev1.Taint{{Key: "sim", Value: "yes", Effect: corev1.TaintEffectPreferNoSchedule}}
	if diff := cmp.Diff(wantTaints, n0.Spec.Taints); diff != "" {
		t.Errorf("taints of sim-00 (-want +got):\n%s", diff)
	}

	// A DaemonSet's pods, bound by the test (testserver runs no
	// controllers), all become Running and Ready on their nodes.
	ds := daemonSet()
	ds, err = c.AppsV1().DaemonSets("default").Create(ctx, ds, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range nodeNames {
		if _, err := c.CoreV1().Pods("default").Create(ctx, daemonPod(ds, name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	poll(t, "every daemon pod Running and Ready", func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=smoke"})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, p := range pods.Items {
			if podReady(&p) {
				ready++
			}
		}
		return ready == nodes, nil
	})
	pod, err := c.CoreV1().Pods("default").Get(ctx, "smoke-sim-00", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{string(pod.Status.Phase), pod.Status.PodIP, pod.Status.HostIP, fmt.Sprint(pod.Status.ContainerStatuses[0].Ready)}
	if diff := cmp.Diff([]string{"Running", "10.128.0.1", "10.128.0.1", "true"}, got); diff != "" {
		t.Errorf("status of smoke-sim-00 (phase, podIP, hostIP, container ready) (-want +got):\n%s", diff)
	}

	// A graceful delete only marks the pod; the node finishes it.
	list, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{
		FieldSelector: "metadata.name=smoke-sim-07", ResourceVersion: list.ResourceVersion,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := c.CoreV1().Pods("default").Delete(ctx, "smoke-sim-07", metav1.DeleteOptions{GracePeriodSeconds: new(int64(30))}); err != nil {
		t.Fatal(err)
	}
	var events []string
	timeout := time.After(15 * time.Second)
	for len(events) == 0 || events[len(events)-1] != string(watch.Deleted) {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch ended after %v", events)
			}
			p := ev.Object.(*corev1.Pod)
			if p.Name != "smoke-sim-07" {
				continue
			}
			e := string(ev.Type)
			if p.DeletionTimestamp != nil && ev.Type == watch.Modified {
				e += " (terminating)"
			}
			events = append(events, e)
		case <-timeout:
			t.Fatalf("smoke-sim-07 not deleted for good; events %v", events)
		}
	}
	if diff := cmp.Diff([]string{"MODIFIED (terminating)", "DELETED"}, events); diff != "" {
		t.Errorf("events of smoke-sim-07 (-want +got):\n%s", diff)
	}
}

func TestChurnReregisters(t *testing.T) {
	srv := testserver.Start(t)
	startSim(t, sim.Config{
		ServerURL: srv.URL, Token: srv.JoinToken, Nodes: 1, NamePrefix: "churn-",
		Churn: 200 * time.Millisecond, Out: &syncWriter{t: t},
	})
	c := srv.Client
	var first *corev1.Node
	poll(t, "churn-0 registered", func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, "churn-0", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		first = n
		return err == nil, err
	})
	poll(t, "churn-0 removed and registered again", func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, "churn-0", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return n.UID != first.UID && nodeReady(n), nil
	})
}

func TestRunFailsWhenJoinIsRefused(t *testing.T) {
	srv := testserver.Start(t)
	startSim(t, sim.Config{ServerURL: srv.URL, Token: srv.JoinToken, Nodes: 1, NamePrefix: "taken-"})
	poll(t, "taken-0 registered", func(ctx context.Context) (bool, error) {
		_, err := srv.Client.CoreV1().Nodes().Get(ctx, "taken-0", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	// A second fleet with the same names cannot act for nodes it did not
	// register.
	s, err := sim.New(sim.Config{ServerURL: srv.URL, Token: srv.JoinToken, Nodes: 1, NamePrefix: "taken-"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = s.Run(ctx)
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("Run of a fleet whose names are taken = %v, want the server's refusal", err)
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func daemonSet() *appsv1.DaemonSet {
	labels := map[string]string{"app": "smoke"}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke", Namespace: "default"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "busybox:1.36"}}},
			},
		},
	}
}

// daemonPod is the pod the DaemonSet controller would create for node,
// bound directly.
func daemonPod(ds *appsv1.DaemonSet, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: ds.Name + "-" + node, Namespace: ds.Namespace, Labels: ds.Spec.Template.Labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, appsv1.SchemeGroupVersion.WithKind("DaemonSet"))},
		},
		Spec: func() corev1.PodSpec {
			s := *ds.Spec.Template.Spec.DeepCopy()
			s.NodeName = node
			return s
		}(),
	}
}
