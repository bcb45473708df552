package scheduler_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"

	"github.com/everynode/everynode/internal/controller/scheduler"
	"github.com/everynode/everynode/internal/placement"
	"github.com/everynode/everynode/internal/testserver"
)

// start runs a scheduler against a fresh server until the test ends.
func start(t *testing.T) kubernetes.Interface {
	t.Helper()
	srv := testserver.Start(t)
	client := srv.Client
	ctx, cancel := context.WithCancel(context.Background())
	factory := informers.NewSharedInformerFactory(client, 0)
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: scheduler.Name})
	c, err := scheduler.New(scheduler.Config{Client: client, Informers: factory, Recorder: recorder})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := c.Run(ctx, 2); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		factory.Shutdown()
		broadcaster.Shutdown()
	})
	return client
}

func newNode(name, cpu string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("4Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("4Gi"), corev1.ResourcePods: resource.MustParse("110")},
		},
	}
}

// createNode creates the node and writes its status, which the create
// endpoint ignores.
func createNode(t *testing.T, c kubernetes.Interface, n *corev1.Node) {
	t.Helper()
	ctx := context.Background()
	created, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node %s: %v", n.Name, err)
	}
	created.Status = n.Status
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update status of node %s: %v", n.Name, err)
	}
}

func newPod(name, cpu string, mods ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "busybox",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}},
		}}},
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

func createPod(t *testing.T, c kubernetes.Interface, p *corev1.Pod) {
	t.Helper()
	if _, err := c.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s: %v", p.Name, err)
	}
}

// waitPod polls until cond holds for the pod and returns it.
func waitPod(t *testing.T, c kubernetes.Interface, name string, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = p
		return cond(p), nil
	})
	if err != nil {
		t.Fatalf("pod %s: waiting for %s: %v; last seen: nodeName=%q nominated=%q conditions=%+v", name, what, err, last.Spec.NodeName, last.Status.NominatedNodeName, last.Status.Conditions)
	}
	return last
}

func bound(p *corev1.Pod) bool { return p.Spec.NodeName != "" }

func scheduledCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodScheduled {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// unschedulableWith waits for PodScheduled=False/Unschedulable with msg.
func unschedulableWith(t *testing.T, c kubernetes.Interface, name, msg string) *corev1.Pod {
	t.Helper()
	p := waitPod(t, c, name, "PodScheduled=False", func(p *corev1.Pod) bool {
		cond := scheduledCondition(p)
		return cond != nil && cond.Status == corev1.ConditionFalse && cond.Message == msg
	})
	cond := scheduledCondition(p)
	want := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: msg}
	got := corev1.PodCondition{Type: cond.Type, Status: cond.Status, Reason: cond.Reason, Message: cond.Message}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pod %s PodScheduled condition (-want +got):\n%s", name, diff)
	}
	if p.Spec.NodeName != "" || p.Status.Phase != corev1.PodPending {
		t.Errorf("pod %s: nodeName %q phase %q, want unbound and Pending", name, p.Spec.NodeName, p.Status.Phase)
	}
	return p
}

// waitEvent waits for an event of reason about the pod whose message is msg.
func waitEvent(t *testing.T, c kubernetes.Interface, podName, reason, msg string) {
	t.Helper()
	sel := fields.Set{"involvedObject.name": podName, "reason": reason}.String()
	var seen []string
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return false, nil
		}
		seen = seen[:0]
		for _, e := range list.Items {
			// Field selectors on events may be unsupported; filter here too.
			if e.InvolvedObject.Name != podName || e.Reason != reason {
				continue
			}
			seen = append(seen, e.Message)
			if e.Message == msg && e.Source.Component == scheduler.Name {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s event %q for pod %s; seen %q", reason, msg, podName, seen)
	}
}

func TestTaintedNodeAndRetryOnTaintRemoval(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	gpuTaint := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	createNode(t, c, newNode("cpu-1", "4", map[string]string{"accel": "none"}))
	createNode(t, c, newNode("cpu-2", "4", map[string]string{"accel": "none"}))
	createNode(t, c, newNode("gpu-1", "4", map[string]string{"accel": "gpu"}, gpuTaint))

	gpuOnly := func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"accel": "gpu"} }
	tolerant := func(p *corev1.Pod) {
		p.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	}
	createPod(t, c, newPod("trainer", "1", gpuOnly, tolerant))
	createPod(t, c, newPod("intruder", "1", gpuOnly))
	createPod(t, c, newPod("anywhere", "1"))

	p := waitPod(t, c, "trainer", "binding", bound)
	if p.Spec.NodeName != "gpu-1" {
		t.Errorf("R24 tolerating pod bound to %q, want gpu-1", p.Spec.NodeName)
	}
	waitEvent(t, c, "trainer", scheduler.EventScheduled, "Successfully assigned default/trainer to gpu-1")
	p = waitPod(t, c, "anywhere", "binding", bound)
	if p.Spec.NodeName == "gpu-1" {
		t.Errorf("R24 pod without toleration bound to the tainted node")
	}

	const msg = "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 node(s) didn't match Pod's node affinity/selector. " +
		"preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
	unschedulableWith(t, c, "intruder", msg)
	waitEvent(t, c, "intruder", scheduler.EventFailedScheduling, msg)

	// Removing the taint is a node update: the pending pod is retried at
	// once, not after the periodic retry.
	n, err := c.CoreV1().Nodes().Get(ctx, "gpu-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Spec.Taints = nil
	if _, err := c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	p = waitPod(t, c, "intruder", "binding after the taint is removed", bound)
	if p.Spec.NodeName != "gpu-1" {
		t.Errorf("pod bound to %q, want gpu-1", p.Spec.NodeName)
	}
	if cond := scheduledCondition(p); cond == nil || cond.Status != corev1.ConditionTrue {
		t.Errorf("PodScheduled after binding = %+v, want True", cond)
	}
}

func TestPinnedDaemonPodAndNewNode(t *testing.T) {
	c := start(t)
	createNode(t, c, newNode("n1", "4", nil))
	createNode(t, c, newNode("n2", "4", nil))

	pinned := func(node string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			placement.PinToNode(&p.Spec, node)
			p.Spec.Tolerations = placement.DaemonPodTolerations(p.Spec)
		}
	}
	createPod(t, c, newPod("ds-n2", "100m", pinned("n2")))
	createPod(t, c, newPod("ds-n3", "100m", pinned("n3")))

	if p := waitPod(t, c, "ds-n2", "binding", bound); p.Spec.NodeName != "n2" {
		t.Errorf("R190 pinned pod bound to %q, want n2", p.Spec.NodeName)
	}
	unschedulableWith(t, c, "ds-n3", "0/2 nodes are available: 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. "+
		"preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")

	// The node appears (an agent registers, cordoned at first): the pod
	// tolerates unschedulable like every daemon pod (R190) and binds.
	n3 := newNode("n3", "4", nil)
	n3.Spec.Unschedulable = true
	createNode(t, c, n3)
	if p := waitPod(t, c, "ds-n3", "binding after its node appears", bound); p.Spec.NodeName != "n3" {
		t.Errorf("pinned pod bound to %q, want n3", p.Spec.NodeName)
	}
}

func TestResourcesAndPreemption(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	createNode(t, c, newNode("n1", "1", nil))

	createPod(t, c, newPod("web", "800m", func(p *corev1.Pod) { p.Spec.Priority = ptr.To[int32](0) }))
	if p := waitPod(t, c, "web", "binding", bound); p.Spec.NodeName != "n1" {
		t.Fatalf("web bound to %q", p.Spec.NodeName)
	}
	// Same priority: no victims, the pod waits.
	createPod(t, c, newPod("batch", "600m", func(p *corev1.Pod) { p.Spec.Priority = ptr.To[int32](0) }))
	unschedulableWith(t, c, "batch", "0/1 nodes are available: 1 Insufficient cpu. "+
		"preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")

	// A node-critical daemon pod preempts web.
	createPod(t, c, newPod("agent", "500m", func(p *corev1.Pod) {
		placement.PinToNode(&p.Spec, "n1")
		p.Spec.Priority = ptr.To[int32](2000001000)
		p.Spec.PriorityClassName = "system-node-critical"
	}))
	agent := waitPod(t, c, "agent", "nomination", func(p *corev1.Pod) bool { return p.Status.NominatedNodeName == "n1" })
	if agent.Spec.NodeName != "" {
		t.Fatalf("agent bound to %q before its victim is gone", agent.Spec.NodeName)
	}
	web := waitPod(t, c, "web", "graceful deletion", func(p *corev1.Pod) bool { return p.DeletionTimestamp != nil })
	var disruption *corev1.PodCondition
	for i := range web.Status.Conditions {
		if web.Status.Conditions[i].Type == corev1.DisruptionTarget {
			disruption = &web.Status.Conditions[i]
		}
	}
	if disruption == nil || disruption.Reason != corev1.PodReasonPreemptionByScheduler {
		t.Errorf("victim DisruptionTarget condition = %+v, want reason PreemptionByScheduler", disruption)
	}
	waitEvent(t, c, "web", scheduler.EventPreempted, fmt.Sprintf("Preempted by pod %s on node n1", agent.UID))

	// The kubelet (no agent here) finishes the deletion.
	if err := c.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	if p := waitPod(t, c, "agent", "binding once room is made", bound); p.Spec.NodeName != "n1" {
		t.Errorf("agent bound to %q, want n1", p.Spec.NodeName)
	}
	// batch (lower priority) must not have taken the room meant for agent,
	// and still does not fit next to it.
	p, err := c.CoreV1().Pods("default").Get(ctx, "batch", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "" {
		t.Errorf("batch bound to %q; it should not fit next to agent", p.Spec.NodeName)
	}
}
