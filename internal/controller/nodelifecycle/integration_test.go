package nodelifecycle_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/everynode/everynode/internal/controller/nodelifecycle"
	"github.com/everynode/everynode/internal/controller/tainteviction"
	"github.com/everynode/everynode/internal/testserver"
)

const grace = 20 * time.Second

type cluster struct {
	client  kubernetes.Interface
	clock   *clocktesting.FakeClock
	evictor *tainteviction.Controller
}

// start runs the node lifecycle and taint eviction controllers on a fake
// clock against a fresh server.
func start(t *testing.T) *cluster {
	t.Helper()
	srv := testserver.Start(t)
	fake := clocktesting.NewFakeClock(time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactory(srv.Client, 0)
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: srv.Client.CoreV1().Events("")})
	lifecycle, err := nodelifecycle.New(nodelifecycle.Config{
		Client: srv.Client, Informers: factory, Clock: fake,
		Recorder:               broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: nodelifecycle.Name}),
		NodeMonitorGracePeriod: grace, NodeStartupGracePeriod: grace,
	})
	if err != nil {
		t.Fatal(err)
	}
	evictor, err := tainteviction.New(tainteviction.Config{
		Client: srv.Client, Informers: factory, Clock: fake,
		Recorder: broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: tainteviction.Name}),
	})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := lifecycle.Run(ctx, 2); err != nil {
			t.Errorf("run nodelifecycle: %v", err)
		}
	})
	wg.Go(func() {
		if err := evictor.Run(ctx, 2); err != nil {
			t.Errorf("run tainteviction: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		factory.Shutdown()
		broadcaster.Shutdown()
	})
	return &cluster{client: srv.Client, clock: fake, evictor: evictor}
}

// heartbeat renews the node's lease at the fake time, creating it first.
func (c *cluster) heartbeat(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	leases := c.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(c.clock.Now())
	lease, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To(name), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now},
		}, metav1.CreateOptions{})
	} else if err == nil {
		lease.Spec.RenewTime = &now
		_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("renew lease %s: %v", name, err)
	}
}

// postReady writes Ready=True with a fresh heartbeat, as a kubelet does.
func (c *cluster) postReady(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	node, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.NewTime(c.clock.Now())
	node.Status.Conditions = []corev1.NodeCondition{
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, LastHeartbeatTime: now, LastTransitionTime: now},
	}
	if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("post status of %s: %v", name, err)
	}
}

func (c *cluster) createNode(t *testing.T, name string) {
	t.Helper()
	if _, err := c.client.CoreV1().Nodes().Create(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.postReady(t, name)
	c.heartbeat(t, name)
}

// createRunningPod creates a pod bound to node and marks it Ready.
func (c *cluster) createRunningPod(t *testing.T, name, node string, tols ...corev1.Toleration) {
	t.Helper()
	ctx := context.Background()
	pod, err := c.client.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			NodeName: node, Tolerations: tols,
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	if _, err := c.client.CoreV1().Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("mark pod %s running: %v", name, err)
	}
}

// advanceUntil steps the fake clock one second at a time, renewing the
// leases of the live nodes, until cond holds; it returns the fake time
// elapsed. Each step gives the controllers a moment to react.
func (c *cluster) advanceUntil(t *testing.T, what string, limit time.Duration, live []string, cond func(context.Context) bool) time.Duration {
	t.Helper()
	start := c.clock.Now()
	for c.clock.Since(start) <= limit {
		err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 150*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			return cond(ctx), nil
		})
		if err == nil {
			return c.clock.Since(start)
		}
		c.clock.Step(time.Second)
		for _, n := range live {
			c.heartbeat(t, n)
		}
	}
	t.Fatalf("%s: not within %v of fake time", what, limit)
	return 0
}

// advanceWhile steps the fake clock one second at a time for d, watching
// for a violation (a non-empty message from bad) after each step.
func (c *cluster) advanceWhile(t *testing.T, d time.Duration, live []string, bad func(context.Context) string) {
	t.Helper()
	start := c.clock.Now()
	for c.clock.Since(start) < d {
		c.clock.Step(time.Second)
		for _, n := range live {
			c.heartbeat(t, n)
		}
		var msg string
		_ = wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			msg = bad(ctx)
			return msg != "", nil
		})
		if msg != "" {
			t.Fatalf("after %v: %s", c.clock.Since(start), msg)
		}
	}
}

func (c *cluster) node(ctx context.Context, name string) *corev1.Node {
	n, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return &corev1.Node{}
	}
	return n
}

func hasTaint(n *corev1.Node, key string, effect corev1.TaintEffect) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key && t.Effect == effect {
			return true
		}
	}
	return false
}

func readyStatus(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return ""
}

func podReady(p *corev1.Pod) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status
		}
	}
	return ""
}

// terminating reports whether the pod is gone or being deleted.
func (c *cluster) terminating(ctx context.Context, name string) bool {
	p, err := c.client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
	return apierrors.IsNotFound(err) || (err == nil && p.DeletionTimestamp != nil)
}

// TestSilentNode follows T5 rows 1 and 2 with shortened periods: a node
// that stops renewing its lease becomes Unknown, is tainted unreachable
// (NoSchedule at once, NoExecute through the zone queue), its ordinary pod
// is deleted after its tolerationSeconds, its daemon-style pod stays, and
// a returning kubelet clears everything (R61–R66, R69–R72).
func TestSilentNode(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	c.createNode(t, "silent")
	c.createNode(t, "healthy") // keeps the zone out of full disruption (R67)

	// R69: admission adds the default 300s tolerations; we shorten the
	// unreachable one by writing it ourselves.
	c.createRunningPod(t, "bare", "silent", corev1.Toleration{
		Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](30),
	})
	c.createRunningPod(t, "daemon", "silent", corev1.Toleration{
		Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute,
	})
	live := []string{"healthy"}

	// R61 R62: Unknown after the grace period, not before.
	elapsed := c.advanceUntil(t, "Ready=Unknown", 2*time.Minute, live, func(ctx context.Context) bool {
		return readyStatus(c.node(ctx, "silent")) == corev1.ConditionUnknown
	})
	if elapsed < grace || elapsed > grace+10*time.Second {
		t.Errorf("R61 Ready=Unknown after %v of silence, want within (%v, %v]", elapsed, grace, grace+10*time.Second)
	}
	if got := readyStatus(c.node(ctx, "healthy")); got != corev1.ConditionTrue {
		t.Errorf("R61 heartbeating node Ready = %q, want True", got)
	}
	n := c.node(ctx, "silent")
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady && (cond.Reason != nodelifecycle.ReasonNodeStatusUnknown || cond.Message != nodelifecycle.MessageStoppedPosting) {
			t.Errorf("R62 Ready condition = %+v", cond)
		}
	}

	// R64: unreachable:NoSchedule without waiting for the clock.
	c.advanceUntil(t, "unreachable:NoSchedule", 0, live, func(ctx context.Context) bool {
		return hasTaint(c.node(ctx, "silent"), corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule)
	})
	// R66: pods on the node are marked not ready, daemon pods included.
	for _, name := range []string{"bare", "daemon"} {
		c.advanceUntil(t, "pod "+name+" Ready=False", 0, live, func(ctx context.Context) bool {
			p, err := c.client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			return err == nil && podReady(p) == corev1.ConditionFalse
		})
	}
	// R65: unreachable:NoExecute at the next monitor pass (first in the
	// zone: the bucket has a token).
	c.advanceUntil(t, "unreachable:NoExecute", 10*time.Second, live, func(ctx context.Context) bool {
		return hasTaint(c.node(ctx, "silent"), corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)
	})
	if hasTaint(c.node(ctx, "silent"), corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute) {
		t.Errorf("R65 not-ready and unreachable NoExecute taints together")
	}

	// R71 R72: deletion 30s after the taint was observed.
	var at time.Time
	c.advanceUntil(t, "eviction scheduled", 0, live, func(context.Context) bool {
		var ok bool
		at, ok = c.evictor.Scheduled("default", "bare")
		return ok
	})
	if d := at.Sub(c.clock.Now()); d > 30*time.Second || d < 28*time.Second {
		t.Errorf("R71 eviction due in %v, want ≈30s", d)
	}
	// R74: a graceful delete; with no kubelet to confirm, the pod stays
	// Terminating.
	c.advanceUntil(t, "bare pod deleted", time.Minute, live, func(ctx context.Context) bool {
		gone := c.terminating(ctx, "bare")
		if gone && c.clock.Now().Before(at) {
			t.Errorf("R71 pod deleted at %v, before its time %v", c.clock.Now(), at)
		}
		return gone
	})
	if c.terminating(ctx, "daemon") {
		t.Errorf("T5#2 daemon-style pod was deleted")
	}

	// The kubelet comes back: lease and status. Ready again removes both
	// taints (R63, R65) and the daemon pod stays.
	c.heartbeat(t, "silent")
	c.postReady(t, "silent")
	live = append(live, "silent")
	c.advanceUntil(t, "taints removed", 10*time.Second, live, func(ctx context.Context) bool {
		n := c.node(ctx, "silent")
		return readyStatus(n) == corev1.ConditionTrue &&
			!hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule) &&
			!hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)
	})
	if diff := cmp.Diff(false, c.terminating(ctx, "daemon")); diff != "" {
		t.Errorf("T5#2 daemon pod exists (-want +got):\n%s", diff)
	}
}

// TestAllNodesSilent follows T5 row 17: when every node of every zone is
// silent, no NoExecute taint is added and pods stay.
func TestAllNodesSilent(t *testing.T) {
	c := start(t)
	c.createNode(t, "a")
	c.createNode(t, "b")
	c.createRunningPod(t, "bare", "a", corev1.Toleration{
		Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](1),
	})
	c.advanceUntil(t, "both Unknown with unreachable:NoSchedule", 2*time.Minute, nil, func(ctx context.Context) bool {
		for _, name := range []string{"a", "b"} {
			n := c.node(ctx, name)
			if readyStatus(n) != corev1.ConditionUnknown || !hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule) {
				return false
			}
		}
		return true
	})
	// A minute of fake time in which the controller must not taint.
	c.advanceWhile(t, time.Minute, nil, func(ctx context.Context) string {
		for _, name := range []string{"a", "b"} {
			if hasTaint(c.node(ctx, name), corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute) {
				return "T5#17 R67 node " + name + " got unreachable:NoExecute with all zones disrupted"
			}
		}
		if c.terminating(ctx, "bare") {
			return "T5#17 pod evicted with all zones disrupted"
		}
		return ""
	})
}
