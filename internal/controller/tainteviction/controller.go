package tainteviction

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
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/everynode/everynode/internal/controller/worker"
)

// Name is the controller's name, as upstream.
const Name = "taint-eviction-controller"

// EventReason is the reason of every event this controller records.
const EventReason = "TaintManagerEviction"

// Condition written on a pod before it is deleted (R70).
const (
	ConditionReason  = "DeletionByTaintManager"
	ConditionMessage = "Taint manager: deleting due to NoExecute taint"
)

// nodeIndex indexes pods by spec.nodeName. The name is ours so that it
// cannot collide with an index another controller adds to the shared
// informer.
const nodeIndex = "tainteviction.everynode.io/nodeName"

// Config holds the controller's dependencies.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Recorder  record.EventRecorder
	// Clock times the evictions; defaults to the real clock. It needs
	// tickers because the work queue's delays run on it.
	Clock clock.WithTicker
}

// Controller deletes pods that no longer tolerate their node's NoExecute
// taints.
type Controller struct {
	client   kubernetes.Interface
	recorder record.EventRecorder
	clock    clock.WithTicker

	pods     corelisters.PodLister
	podIndex cache.Indexer
	nodes    corelisters.NodeLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]

	mu sync.Mutex
	// pending holds the scheduled deletions by pod key.
	pending map[string]Pending
}

// New creates the controller and registers its informer handlers; the
// caller starts cfg.Informers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil || cfg.Recorder == nil {
		return nil, errors.New("tainteviction: Client, Informers and Recorder are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	podInformer := cfg.Informers.Core().V1().Pods()
	nodeInformer := cfg.Informers.Core().V1().Nodes()
	c := &Controller{
		client:   cfg.Client,
		recorder: cfg.Recorder,
		clock:    cfg.Clock,
		pods:     podInformer.Lister(),
		podIndex: podInformer.Informer().GetIndexer(),
		nodes:    nodeInformer.Lister(),
		synced:   []cache.InformerSynced{podInformer.Informer().HasSynced, nodeInformer.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: Name, Clock: cfg.Clock}),
		pending: map[string]Pending{},
	}
	if err := podInformer.Informer().AddIndexers(cache.Indexers{nodeIndex: func(obj any) ([]string, error) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.Spec.NodeName == "" {
			return nil, nil
		}
		return []string{pod.Spec.NodeName}, nil
	}}); err != nil {
		return nil, fmt.Errorf("add pod index: %w", err)
	}
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueuePod,
		UpdateFunc: func(_, obj any) { c.enqueuePod(obj) },
		DeleteFunc: c.enqueuePod,
	}); err != nil {
		return nil, fmt.Errorf("register pod handler: %w", err)
	}
	if _, err := nodeInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueNode,
		UpdateFunc: c.updateNode,
		DeleteFunc: c.enqueueNode,
	}); err != nil {
		return nil, fmt.Errorf("register node handler: %w", err)
	}
	return c, nil
}

// Run handles the queue with workers goroutines until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) error {
	return worker.Run(ctx, Name, c.queue, workers, c.synced, worker.NoRequeue(c.sync))
}

// Scheduled reports when the pod ns/name is due to be deleted, if a
// deletion is scheduled.
func (c *Controller) Scheduled(namespace, name string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pending[namespace+"/"+name]
	return p.At, ok
}

func (c *Controller) enqueuePod(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	c.queue.Add(pod.Namespace + "/" + pod.Name)
}

// updateNode reacts only to a change of the NoExecute taints: status
// heartbeats would otherwise re-examine every pod of the node.
func (c *Controller) updateNode(oldObj, newObj any) {
	oldNode, ok1 := oldObj.(*corev1.Node)
	newNode, ok2 := newObj.(*corev1.Node)
	if !ok1 || !ok2 {
		return
	}
	if equality.Semantic.DeepEqual(noExecuteTaints(oldNode.Spec.Taints), noExecuteTaints(newNode.Spec.Taints)) {
		return
	}
	c.enqueueNode(newNode)
}

func (c *Controller) enqueueNode(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	pods, err := c.podIndex.ByIndex(nodeIndex, node.Name)
	if err != nil {
		utilruntime.HandleError(fmt.Errorf("list pods of node %s: %w", node.Name, err))
		return
	}
	for _, obj := range pods {
		c.enqueuePod(obj)
	}
}

func noExecuteTaints(taints []corev1.Taint) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			// timeAdded does not matter to the decision (R72).
			t.TimeAdded = nil
			out = append(out, t)
		}
	}
	return out
}

// sync decides about one pod from the caches and acts on the decision.
func (c *Controller) sync(ctx context.Context, key string) error {
	logger := klog.FromContext(ctx)
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	prev, scheduled := c.pending[key]
	c.mu.Unlock()
	var pending *Pending
	if scheduled {
		pending = &prev
	}

	pod, err := c.pods.Pods(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		c.cancel(ctx, namespace, name, "PodGone")
		return nil
	}
	if err != nil {
		return fmt.Errorf("get pod %s from cache: %w", key, err)
	}
	if pod.Spec.NodeName == "" {
		c.cancel(ctx, namespace, name, "NotBound")
		return nil
	}
	if pod.DeletionTimestamp != nil {
		// Being deleted already: another delete would change nothing.
		c.forget(key)
		return nil
	}
	var taints []corev1.Taint
	node, err := c.nodes.Get(pod.Spec.NodeName)
	switch {
	case apierrors.IsNotFound(err):
		// No node, no taints; PodGC takes care of the pod (R74).
	case err != nil:
		return fmt.Errorf("get node %s from cache: %w", pod.Spec.NodeName, err)
	default:
		taints = node.Spec.Taints
	}

	now := c.clock.Now()
	d := Decide(taints, pod.Spec.Tolerations, now, pending)
	switch d.Action {
	case Nothing, Keep:
		return nil
	case Cancel:
		c.cancel(ctx, namespace, name, d.Reason)
		return nil
	case Schedule:
		c.mu.Lock()
		c.pending[key] = Pending{Since: now, At: d.At}
		c.mu.Unlock()
		logger.V(2).Info("Scheduled pod deletion", "pod", klog.KObj(pod), "node", pod.Spec.NodeName, "at", d.At, "reason", d.Reason)
		c.queue.AddAfter(key, d.At.Sub(now))
		return nil
	case DeleteNow:
		if d.Reason == ReasonUntolerated {
			// Whatever was scheduled is void: the pod goes now.
			c.cancel(ctx, namespace, name, d.Reason)
			logger.V(2).Info("Pod does not tolerate a NoExecute taint of its node", "pod", klog.KObj(pod), "node", pod.Spec.NodeName, "taint", d.Taint.ToString())
		}
		if err := c.evict(ctx, pod); err != nil {
			return err
		}
		c.forget(key)
		return nil
	}
	return fmt.Errorf("unknown action %q", d.Action)
}

// cancel drops a scheduled deletion and says so, as upstream does.
func (c *Controller) cancel(ctx context.Context, namespace, name, reason string) {
	key := namespace + "/" + name
	if !c.forget(key) {
		return
	}
	klog.FromContext(ctx).Info("Cancelling deletion of pod", "pod", klog.KRef(namespace, name), "reason", reason)
	c.recorder.Eventf(podRef(namespace, name), corev1.EventTypeNormal, EventReason, "Cancelling deletion of Pod %s", key)
}

func (c *Controller) forget(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pending[key]
	delete(c.pending, key)
	return ok
}

// evict records the event, marks the pod as a disruption target and
// deletes it with its own grace period (R70, R74).
func (c *Controller) evict(ctx context.Context, cached *corev1.Pod) error {
	key := cached.Namespace + "/" + cached.Name
	klog.FromContext(ctx).Info("Deleting pod for NoExecute taint", "pod", klog.KObj(cached), "node", cached.Spec.NodeName)
	c.recorder.Eventf(podRef(cached.Namespace, cached.Name), corev1.EventTypeNormal, EventReason, "Marking for deletion Pod %s", key)
	pods := c.client.CoreV1().Pods(cached.Namespace)
	// The first attempt writes over the cached copy (mostly current: a
	// round trip saved on every eviction); a conflict reads the pod anew.
	next := cached.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod := next
		next = nil // a retry reads the pod anew
		if pod == nil {
			var err error
			if pod, err = pods.Get(ctx, cached.Name, metav1.GetOptions{}); err != nil {
				return err
			}
		}
		if pod.UID != cached.UID {
			return apierrors.NewNotFound(corev1.Resource("pods"), cached.Name)
		}
		if !setDisruptionTarget(&pod.Status, metav1.NewTime(c.clock.Now())) {
			return nil
		}
		_, err := pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark pod %s as disruption target: %w", key, err)
	}
	uid := cached.UID
	err = pods.Delete(ctx, cached.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete pod %s: %w", key, err)
	}
	return nil
}

// setDisruptionTarget sets DisruptionTarget=True with our reason and
// reports whether anything changed.
func setDisruptionTarget(st *corev1.PodStatus, now metav1.Time) bool {
	want := corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: ConditionReason, Message: ConditionMessage, LastTransitionTime: now,
	}
	for i, cond := range st.Conditions {
		if cond.Type != want.Type {
			continue
		}
		if cond.Status == want.Status && cond.Reason == want.Reason && cond.Message == want.Message {
			return false
		}
		if cond.Status == want.Status {
			want.LastTransitionTime = cond.LastTransitionTime
		}
		st.Conditions[i] = want
		return true
	}
	st.Conditions = append(st.Conditions, want)
	return true
}

func podRef(namespace, name string) *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: namespace, Name: name}
}
