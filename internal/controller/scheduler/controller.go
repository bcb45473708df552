package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/everynode/everynode/internal/controller/worker"
	"github.com/everynode/everynode/internal/placement"
)

// Name is the scheduler name this controller serves; pods with an empty
// spec.schedulerName are defaulted to it by the apiserver.
const Name = corev1.DefaultSchedulerName

// DefaultRetryInterval is how often pods that fit nowhere are tried again
// even when no node or pod event suggests that they might fit now.
const DefaultRetryInterval = 30 * time.Second

// Event reasons, as upstream.
const (
	EventScheduled        = "Scheduled"
	EventFailedScheduling = "FailedScheduling"
	EventPreempted        = "Preempted"
)

// Config holds the controller's dependencies.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Recorder  record.EventRecorder
	// Clock drives the periodic retry; defaults to the real clock.
	Clock clock.Clock
	// RetryInterval defaults to DefaultRetryInterval.
	RetryInterval time.Duration
}

// Controller binds pending pods to nodes.
type Controller struct {
	client   kubernetes.Interface
	recorder record.EventRecorder
	clock    clock.Clock
	retry    time.Duration

	pods   corelisters.PodLister
	byNode cache.Indexer // pods by spec.nodeName
	nodes  corelisters.NodeLister
	synced []cache.InformerSynced
	queue  workqueue.TypedRateLimitingInterface[string]

	// mu serialises decisions: each one must see the bindings and
	// nominations of the previous one, which the informer cache may not
	// show yet.
	mu sync.Mutex
	// assumed holds pods we bound whose binding the cache has not shown
	// yet, by UID, with spec.nodeName set.
	assumed map[types.UID]*corev1.Pod
	// nominated holds the node each preemptor waits for, by UID, for the
	// same reason.
	nominated map[types.UID]string
}

// New creates the controller and registers its informer handlers; the
// caller starts cfg.Informers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil || cfg.Recorder == nil {
		return nil, errors.New("scheduler: Client, Informers and Recorder are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = DefaultRetryInterval
	}
	podInformer := cfg.Informers.Core().V1().Pods()
	nodeInformer := cfg.Informers.Core().V1().Nodes()
	c := &Controller{
		client:   cfg.Client,
		recorder: cfg.Recorder,
		clock:    cfg.Clock,
		retry:    cfg.RetryInterval,
		pods:     podInformer.Lister(),
		byNode:   podInformer.Informer().GetIndexer(),
		nodes:    nodeInformer.Lister(),
		synced:   []cache.InformerSynced{podInformer.Informer().HasSynced, nodeInformer.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "scheduler"}),
		assumed:   map[types.UID]*corev1.Pod{},
		nominated: map[types.UID]string{},
	}
	if err := podInformer.Informer().AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}}); err != nil {
		return nil, fmt.Errorf("add pod index: %w", err)
	}
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	}); err != nil {
		return nil, fmt.Errorf("register pod handler: %w", err)
	}
	if _, err := nodeInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.enqueuePending() },
		UpdateFunc: c.updateNode,
	}); err != nil {
		return nil, fmt.Errorf("register node handler: %w", err)
	}
	return c, nil
}

// Run handles the queue with workers goroutines until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) error {
	return worker.Run(ctx, "scheduler", c.queue, workers, c.synced, worker.NoRequeue(c.sync), c.retryLoop)
}

// retryLoop re-queues every pending pod each retry interval: a safety net
// for changes no handler maps to a pod (and upstream's periodic flush of
// unschedulable pods).
func (c *Controller) retryLoop(ctx context.Context) {
	for {
		t := c.clock.NewTimer(c.retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
			c.enqueuePending()
		}
	}
}

// needsScheduling: ours, not bound, not being deleted, not gated.
func needsScheduling(pod *corev1.Pod) bool {
	return pod.Spec.NodeName == "" &&
		(pod.Spec.SchedulerName == "" || pod.Spec.SchedulerName == Name) &&
		pod.DeletionTimestamp == nil &&
		len(pod.Spec.SchedulingGates) == 0 &&
		pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

func terminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func (c *Controller) enqueue(pod *corev1.Pod) {
	c.queue.Add(pod.Namespace + "/" + pod.Name)
}

// enqueuePending queues every pod waiting for a node: something happened
// (a node appeared or changed, room was freed) that may let it fit.
func (c *Controller) enqueuePending() {
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		utilruntime.HandleError(fmt.Errorf("list pods: %w", err))
		return
	}
	for _, p := range pods {
		if needsScheduling(p) {
			c.enqueue(p)
		}
	}
}

func (c *Controller) addPod(obj any) {
	if pod, ok := obj.(*corev1.Pod); ok && needsScheduling(pod) {
		c.enqueue(pod)
	}
}

func (c *Controller) updatePod(oldObj, newObj any) {
	oldPod, ok1 := oldObj.(*corev1.Pod)
	pod, ok2 := newObj.(*corev1.Pod)
	if !ok1 || !ok2 {
		return
	}
	if pod.Spec.NodeName != "" {
		c.forget(pod.UID)
		// A bound pod that finished gives its room back.
		if terminal(pod) && !terminal(oldPod) {
			c.enqueuePending()
		}
		return
	}
	// Our own status writes must not trigger another attempt (and another
	// FailedScheduling event); a changed spec, labels or gates may.
	if needsScheduling(pod) && (!needsScheduling(oldPod) || !equality.Semantic.DeepEqual(oldPod.Spec, pod.Spec) ||
		!equality.Semantic.DeepEqual(oldPod.Labels, pod.Labels)) {
		c.enqueue(pod)
	}
}

func (c *Controller) deletePod(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		c.forget(pod.UID)
	}
	// Whoever it was, bound or nominated, its room is free now.
	c.enqueuePending()
}

func (c *Controller) forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.assumed, uid)
	delete(c.nominated, uid)
}

// updateNode queues pending pods when a change can make a node feasible.
// Heartbeat-only status updates are ignored.
func (c *Controller) updateNode(oldObj, newObj any) {
	o, ok1 := oldObj.(*corev1.Node)
	n, ok2 := newObj.(*corev1.Node)
	if !ok1 || !ok2 {
		return
	}
	if !equality.Semantic.DeepEqual(o.Labels, n.Labels) ||
		!equality.Semantic.DeepEqual(o.Spec.Taints, n.Spec.Taints) ||
		o.Spec.Unschedulable != n.Spec.Unschedulable ||
		!equality.Semantic.DeepEqual(o.Status.Allocatable, n.Status.Allocatable) {
		c.enqueuePending()
	}
}

// nodeNameIndex indexes the pod cache by spec.nodeName.
const nodeNameIndex = "scheduler.everynode.io/nodeName"

// pinnedSnapshot is the Cluster of the single node a pod is pinned to (by
// required node affinity on metadata.name, as the DaemonSet controller pins
// its pods), when no preemption is in flight; ok is false otherwise, and the
// caller takes a full snapshot (which also words a failure's message over
// all nodes, as upstream does). c.mu is held.
func (c *Controller) pinnedSnapshot(pod *corev1.Pod) (Cluster, bool) {
	target, ok := placement.TargetNode(pod)
	if !ok || len(c.nominated) > 0 || pod.Status.NominatedNodeName != "" {
		return Cluster{}, false
	}
	node, err := c.nodes.Get(target)
	if err != nil {
		return Cluster{}, false
	}
	objs, err := c.byNode.ByIndex(nodeNameIndex, target)
	if err != nil {
		return Cluster{}, false
	}
	cl := Cluster{Nodes: []*corev1.Node{node}, PodsByNode: map[string][]*corev1.Pod{}, NominatedByNode: map[string][]*corev1.Pod{}}
	seen := map[types.UID]bool{}
	for _, o := range objs {
		p := o.(*corev1.Pod)
		seen[p.UID] = true
		if !terminal(p) {
			cl.PodsByNode[target] = append(cl.PodsByNode[target], p)
		}
	}
	for uid, a := range c.assumed {
		if a.Spec.NodeName == target && !seen[uid] {
			cl.PodsByNode[target] = append(cl.PodsByNode[target], a)
		}
	}
	return cl, true
}

// snapshot builds the Cluster from the caches plus what we did that the
// caches may not show yet. Called with c.mu held.
func (c *Controller) snapshot() (Cluster, error) {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return Cluster{}, fmt.Errorf("list nodes: %w", err)
	}
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		return Cluster{}, fmt.Errorf("list pods: %w", err)
	}
	cl := Cluster{Nodes: nodes, PodsByNode: map[string][]*corev1.Pod{}, NominatedByNode: map[string][]*corev1.Pod{}}
	live := map[types.UID]bool{}
	for _, p := range pods {
		live[p.UID] = true
		if terminal(p) {
			continue
		}
		if p.Spec.NodeName != "" {
			cl.PodsByNode[p.Spec.NodeName] = append(cl.PodsByNode[p.Spec.NodeName], p)
			delete(c.assumed, p.UID)
			delete(c.nominated, p.UID)
			continue
		}
		if a, ok := c.assumed[p.UID]; ok {
			cl.PodsByNode[a.Spec.NodeName] = append(cl.PodsByNode[a.Spec.NodeName], a)
			continue
		}
		node := p.Status.NominatedNodeName
		if n, ok := c.nominated[p.UID]; ok {
			node = n
		}
		if node != "" {
			cl.NominatedByNode[node] = append(cl.NominatedByNode[node], p)
		}
	}
	for uid := range c.assumed {
		if !live[uid] {
			delete(c.assumed, uid)
		}
	}
	for uid := range c.nominated {
		if !live[uid] {
			delete(c.nominated, uid)
		}
	}
	return cl, nil
}

// sync makes one scheduling attempt for the pod named by key.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get pod %s: %w", key, err)
	}
	if !needsScheduling(cached) {
		return nil
	}
	logger := klog.FromContext(ctx).WithValues("pod", klog.KObj(cached))

	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.assumed[cached.UID]; ok {
		return nil // bound already; the cache has not caught up
	}
	pod := cached.DeepCopy()
	if n, ok := c.nominated[pod.UID]; ok {
		pod.Status.NominatedNodeName = n
	}
	// A daemon pod is pinned to one node: when that node fits, looking at
	// it alone gives the same answer at O(its pods) instead of O(cluster).
	if cl, ok := c.pinnedSnapshot(pod); ok {
		if node, fitErr := Schedule(pod, cl); fitErr == nil {
			return c.bind(ctx, pod, node)
		}
	}
	cl, err := c.snapshot()
	if err != nil {
		return err
	}
	node, fitErr := Schedule(pod, cl)
	if fitErr == nil {
		return c.bind(ctx, pod, node)
	}
	nominated := ""
	plan, msg := Preempt(pod, cl, fitErr)
	fitErr.PostFilterMsg = msg
	if plan != nil {
		logger.V(2).Info("Preempting", "node", plan.Node, "plan", plan.String())
		if err := c.preempt(ctx, pod, plan); err != nil {
			return err
		}
		nominated = plan.Node
		c.nominated[pod.UID] = nominated
	} else if pod.Status.NominatedNodeName != "" {
		// Keep waiting for the room already made, unless the nominated
		// node no longer fits even then (upstream clears it only when
		// preemption runs again and finds nothing; we keep it while the
		// node exists and the failure there is resolvable).
		if st, ok := fitErr.Statuses[pod.Status.NominatedNodeName]; ok && st.Resolvable {
			nominated = pod.Status.NominatedNodeName
		} else {
			delete(c.nominated, pod.UID)
		}
	}
	message := fitErr.Error()
	for n, st := range fitErr.Statuses {
		logger.V(4).Info("Node filtered out", "node", n, "reasons", st.Reasons, "detail", st.Detail)
	}
	logger.V(2).Info("Unable to schedule pod", "message", message)
	c.recorder.Event(cached, corev1.EventTypeWarning, EventFailedScheduling, message)
	return c.markUnschedulable(ctx, pod, message, nominated)
}

// bind posts the binding and remembers it until the cache shows it.
func (c *Controller) bind(ctx context.Context, pod *corev1.Pod, node string) error {
	b := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}
	err := c.client.CoreV1().Pods(pod.Namespace).Bind(ctx, b, metav1.CreateOptions{})
	switch {
	case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
		// Deleted, bound by someone else or being deleted: nothing to do;
		// the informer will tell us what happened.
		klog.FromContext(ctx).V(2).Info("Binding rejected", "pod", klog.KObj(pod), "node", node, "err", err)
		return nil
	case err != nil:
		return fmt.Errorf("bind pod %s/%s to %s: %w", pod.Namespace, pod.Name, node, err)
	}
	assumed := pod.DeepCopy()
	assumed.Spec.NodeName = node
	c.assumed[pod.UID] = assumed
	delete(c.nominated, pod.UID)
	klog.FromContext(ctx).V(2).Info("Bound pod", "pod", klog.KObj(pod), "node", node)
	c.recorder.Eventf(pod, corev1.EventTypeNormal, EventScheduled, "Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, node)
	return nil
}

// preempt marks and deletes the victims, gracefully, as upstream does: each
// gets a DisruptionTarget condition first, so its owner and users can tell
// why it went away.
func (c *Controller) preempt(ctx context.Context, pod *corev1.Pod, plan *Preemption) error {
	for _, v := range plan.Victims {
		victim := v.DeepCopy()
		if setCondition(&victim.Status, corev1.PodCondition{
			Type:    corev1.DisruptionTarget,
			Status:  corev1.ConditionTrue,
			Reason:  corev1.PodReasonPreemptionByScheduler,
			Message: Name + ": preempting to accommodate a higher priority pod",
		}, c.clock.Now()) {
			if _, err := c.client.CoreV1().Pods(victim.Namespace).UpdateStatus(ctx, victim, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("mark victim %s/%s: %w", victim.Namespace, victim.Name, err)
			}
		}
		uid := victim.UID
		err := c.client.CoreV1().Pods(victim.Namespace).Delete(ctx, victim.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("delete victim %s/%s: %w", victim.Namespace, victim.Name, err)
		}
		c.recorder.Eventf(v, corev1.EventTypeNormal, EventPreempted, "Preempted by pod %s on node %s", pod.UID, plan.Node)
	}
	return nil
}

// markUnschedulable records PodScheduled=False/Unschedulable with message
// and the nominated node, writing only when something changed.
func (c *Controller) markUnschedulable(ctx context.Context, pod *corev1.Pod, message, nominated string) error {
	changed := setCondition(&pod.Status, corev1.PodCondition{
		Type:    corev1.PodScheduled,
		Status:  corev1.ConditionFalse,
		Reason:  corev1.PodReasonUnschedulable,
		Message: message,
	}, c.clock.Now())
	if pod.Status.NominatedNodeName != nominated {
		pod.Status.NominatedNodeName = nominated
		changed = true
	}
	if !changed {
		return nil
	}
	if _, err := c.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("update status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// setCondition sets cond in status and reports whether anything changed;
// the transition time moves only when the condition's status does.
func setCondition(status *corev1.PodStatus, cond corev1.PodCondition, now time.Time) bool {
	for i := range status.Conditions {
		cur := &status.Conditions[i]
		if cur.Type != cond.Type {
			continue
		}
		if cur.Status == cond.Status && cur.Reason == cond.Reason && cur.Message == cond.Message {
			return false
		}
		if cur.Status != cond.Status {
			cur.LastTransitionTime = metav1.NewTime(now)
		}
		cur.Status, cur.Reason, cur.Message = cond.Status, cond.Reason, cond.Message
		return true
	}
	cond.LastTransitionTime = metav1.NewTime(now)
	status.Conditions = append(status.Conditions, cond)
	return true
}
