package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
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
const Name = "node-lifecycle-controller"

// Defaults, as upstream kube-controller-manager 1.37.
const (
	DefaultNodeMonitorPeriod         = 5 * time.Second
	DefaultNodeMonitorGracePeriod    = 50 * time.Second
	DefaultNodeStartupGracePeriod    = 60 * time.Second
	DefaultNodeEvictionRate          = 0.1
	DefaultSecondaryNodeEvictionRate = 0.01
	DefaultUnhealthyZoneThreshold    = 0.55
	DefaultLargeClusterSizeThreshold = 50
	// DefaultEvictionPeriod is how often the zone queues are drained.
	DefaultEvictionPeriod = 100 * time.Millisecond
)

// evictionBurst is the capacity of each zone's token bucket.
const evictionBurst = 1

// Event reasons, as upstream.
const (
	EventRegisteredNode = "RegisteredNode"
	EventRemovingNode   = "RemovingNode"
	EventNodeNotReady   = "NodeNotReady"
)

// Config holds the controller's dependencies and tunables; zero values
// mean upstream's defaults.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Recorder  record.EventRecorder
	// Clock is the controller clock of R61; defaults to the real clock.
	Clock clock.WithTicker

	NodeMonitorPeriod      time.Duration
	NodeMonitorGracePeriod time.Duration
	NodeStartupGracePeriod time.Duration
	// NodeEvictionRate and SecondaryNodeEvictionRate are NoExecute taints
	// per second per zone; a negative value means 0 (never).
	NodeEvictionRate          float64
	SecondaryNodeEvictionRate float64
	UnhealthyZoneThreshold    float64
	LargeClusterSizeThreshold int
	EvictionPeriod            time.Duration
}

// Controller watches node health and keeps the system taints in step.
type Controller struct {
	client   kubernetes.Interface
	recorder record.EventRecorder
	clock    clock.WithTicker

	monitorPeriod  time.Duration
	evictionPeriod time.Duration
	timing         Timing
	rates          Rates

	nodes  corelisters.NodeLister
	pods   corelisters.PodLister
	leases coordinationlisters.LeaseLister
	synced []cache.InformerSynced
	// queue holds node names whose condition taints need reconciling.
	queue workqueue.TypedRateLimitingInterface[string]

	// The rest belongs to the goroutine running monitor and taint passes.
	health     map[string]*Health
	known      map[string]types.UID
	zoneStates map[string]ZoneState
	zoneQueues map[string]*taintQueue
	retryPods  map[string]bool
}

// New creates the controller and registers its informer handlers; the
// caller starts cfg.Informers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil || cfg.Recorder == nil {
		return nil, errors.New("nodelifecycle: Client, Informers and Recorder are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	nodeInformer := cfg.Informers.Core().V1().Nodes()
	podInformer := cfg.Informers.Core().V1().Pods()
	leaseInformer := cfg.Informers.Coordination().V1().Leases()
	c := &Controller{
		client:         cfg.Client,
		recorder:       cfg.Recorder,
		clock:          cfg.Clock,
		monitorPeriod:  orDefault(cfg.NodeMonitorPeriod, DefaultNodeMonitorPeriod),
		evictionPeriod: orDefault(cfg.EvictionPeriod, DefaultEvictionPeriod),
		timing: Timing{
			MonitorGrace: orDefault(cfg.NodeMonitorGracePeriod, DefaultNodeMonitorGracePeriod),
			StartupGrace: orDefault(cfg.NodeStartupGracePeriod, DefaultNodeStartupGracePeriod),
		},
		rates: Rates{
			Primary:            rate(cfg.NodeEvictionRate, DefaultNodeEvictionRate),
			Secondary:          rate(cfg.SecondaryNodeEvictionRate, DefaultSecondaryNodeEvictionRate),
			LargeClusterSize:   orDefault(cfg.LargeClusterSizeThreshold, DefaultLargeClusterSizeThreshold),
			UnhealthyThreshold: orDefault(cfg.UnhealthyZoneThreshold, DefaultUnhealthyZoneThreshold),
		},
		nodes:  nodeInformer.Lister(),
		pods:   podInformer.Lister(),
		leases: leaseInformer.Lister(),
		synced: []cache.InformerSynced{
			nodeInformer.Informer().HasSynced, podInformer.Informer().HasSynced, leaseInformer.Informer().HasSynced,
		},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: Name, Clock: cfg.Clock}),
		health:     map[string]*Health{},
		known:      map[string]types.UID{},
		zoneStates: map[string]ZoneState{},
		zoneQueues: map[string]*taintQueue{},
		retryPods:  map[string]bool{},
	}
	if _, err := nodeInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueNode,
		UpdateFunc: func(_, obj any) { c.enqueueNode(obj) },
	}); err != nil {
		return nil, fmt.Errorf("register node handler: %w", err)
	}
	return c, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func rate(v, def float64) float64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

func (c *Controller) enqueueNode(obj any) {
	if node, ok := obj.(*corev1.Node); ok {
		c.queue.Add(node.Name)
	}
}

// Run handles the queue with workers goroutines until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) error {
	return worker.Run(ctx, Name, c.queue, workers, c.synced, worker.NoRequeue(c.syncConditionTaints), c.loop)
}

// loop runs a monitor pass every monitor period and a tainting pass every
// eviction period, in one goroutine so that both own the same state.
func (c *Controller) loop(ctx context.Context) {
	monitor := c.clock.NewTicker(c.monitorPeriod)
	defer monitor.Stop()
	evict := c.clock.NewTicker(c.evictionPeriod)
	defer evict.Stop()
	c.monitor(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-monitor.C():
			c.monitor(ctx)
		case <-evict.C():
			c.taintPass(ctx)
		}
	}
}

// syncConditionTaints makes the node's condition NoSchedule taints match
// its conditions (R63, R64: no rate limit).
func (c *Controller) syncConditionTaints(ctx context.Context, name string) error {
	node, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get node %s from cache: %w", name, err)
	}
	add, remove := ReconcileConditionTaints(node)
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	klog.FromContext(ctx).V(2).Info("Updating condition taints", "node", klog.KObj(node), "add", add, "remove", remove)
	return c.swapTaints(ctx, node, add, remove)
}

// swapTaints writes the node's taints with add put in and remove taken
// out, retrying on conflicts with a fresh read.
func (c *Controller) swapTaints(ctx context.Context, cached *corev1.Node, add, remove []corev1.Taint) error {
	stamp := metav1.NewTime(c.clock.Now())
	stamped := make([]corev1.Taint, len(add))
	for i, t := range add {
		t.TimeAdded = &stamp
		stamped[i] = t
	}
	node := cached
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		if node == nil {
			fresh, err := c.client.CoreV1().Nodes().Get(ctx, cached.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			node = fresh
		}
		taints, changed := SwapTaints(node.Spec.Taints, stamped, remove)
		if !changed {
			return nil
		}
		update := node.DeepCopy()
		update.Spec.Taints = taints
		node = nil
		_, err := c.client.CoreV1().Nodes().Update(ctx, update, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("update taints of node %s: %w", cached.Name, err)
	}
	return nil
}

// monitor is one pass of R61–R67 over all nodes.
func (c *Controller) monitor(ctx context.Context) {
	logger := klog.FromContext(ctx)
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		utilruntime.HandleErrorWithContext(ctx, err, "List nodes")
		return
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	c.trackMembership(ctx, nodes)

	zones := map[string][]*corev1.NodeCondition{}
	for _, cached := range nodes {
		a, node, err := c.assess(ctx, cached)
		if err != nil {
			utilruntime.HandleErrorWithContext(ctx, err, "Updating node health failed, skipping", "node", klog.KObj(cached))
			continue
		}
		if !ExcludedFromDisruption(node) {
			zone := ZoneKey(node)
			zones[zone] = append(zones[zone], a.Current)
		}
		if a.Current == nil {
			continue
		}
		c.processNoExecute(ctx, node, a.Observed.Status)

		lost := a.Current.Status != corev1.ConditionTrue && a.Observed.Status == corev1.ConditionTrue
		if lost {
			c.recorder.Eventf(nodeRef(node), corev1.EventTypeNormal, EventNodeNotReady, "Node %s status is now: %s", node.Name, EventNodeNotReady)
		}
		if lost || (c.retryPods[node.Name] && a.Observed.Status != corev1.ConditionTrue) {
			if err := c.markPodsNotReady(ctx, node.Name); err != nil {
				utilruntime.HandleErrorWithContext(ctx, err, "Marking pods not ready failed, will retry", "node", klog.KObj(node))
				c.retryPods[node.Name] = true
				continue
			}
		}
		delete(c.retryPods, node.Name)
	}

	plan := PlanDisruption(c.zoneStates, zones, c.rates)
	now := c.clock.Now()
	if plan.MarkAllReachable {
		logger.Info("All nodes are not ready: entering master disruption mode, removing NoExecute taints")
		for _, n := range nodes {
			c.markReachable(ctx, n)
		}
	}
	if plan.ResetProbes {
		logger.Info("Some nodes are ready again: leaving master disruption mode")
		for _, h := range c.health {
			h.ProbeTime, h.ReadyTransitionTime = now, now
		}
	}
	for zone, r := range plan.Rates {
		logger.Info("Zone changed state", "zone", zone, "state", plan.States[zone], "rate", r)
		c.zoneQueue(zone).setRate(r, now)
	}
	c.zoneStates = plan.States
}

// trackMembership notices nodes that appeared or disappeared.
func (c *Controller) trackMembership(ctx context.Context, nodes []*corev1.Node) {
	seen := map[string]bool{}
	for _, n := range nodes {
		seen[n.Name] = true
		if _, ok := c.known[n.Name]; ok {
			continue
		}
		klog.FromContext(ctx).V(1).Info("Observed a new node", "node", klog.KObj(n))
		c.recorder.Eventf(nodeRef(n), corev1.EventTypeNormal, EventRegisteredNode, "Registered Node %s in Controller", n.Name)
		c.known[n.Name] = n.UID
		c.zoneQueue(ZoneKey(n))
		c.markReachable(ctx, n)
	}
	for name, uid := range c.known {
		if seen[name] {
			continue
		}
		klog.FromContext(ctx).V(1).Info("Node disappeared", "node", name)
		c.recorder.Eventf(&corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: name, UID: uid}, corev1.EventTypeNormal, EventRemovingNode, "Removing Node %s from Controller", name)
		delete(c.known, name)
		delete(c.health, name)
		delete(c.retryPods, name)
		for _, q := range c.zoneQueues {
			q.remove(name)
		}
	}
}

// assess runs Assess and writes the status it asks for, retrying with a
// fresh read when the write fails; it returns the node as written.
func (c *Controller) assess(ctx context.Context, node *corev1.Node) (Assessment, *corev1.Node, error) {
	lease := c.lease(node.Name)
	var lastErr error
	for range 5 {
		a := Assess(node, lease, c.health[node.Name], c.clock.Now(), c.timing)
		if a.Status == nil {
			c.health[node.Name] = &a.Health
			return a, node, nil
		}
		update := node.DeepCopy()
		update.Status = *a.Status
		klog.FromContext(ctx).V(2).Info("Node stopped posting status", "node", klog.KObj(node), "grace", a.Grace)
		written, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, update, metav1.UpdateOptions{})
		if err == nil {
			c.health[node.Name] = &a.Health
			return a, written, nil
		}
		lastErr = fmt.Errorf("update status of node %s: %w", node.Name, err)
		node, err = c.client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
		if err != nil {
			return Assessment{}, nil, fmt.Errorf("get node %s: %w", update.Name, err)
		}
	}
	return Assessment{}, nil, lastErr
}

func (c *Controller) lease(name string) *coordinationv1.Lease {
	l, err := c.leases.Leases(corev1.NamespaceNodeLease).Get(name)
	if err != nil {
		return nil
	}
	return l
}

// processNoExecute queues, swaps or removes the NoExecute taints after
// the Ready status the node posted (R65).
func (c *Controller) processNoExecute(ctx context.Context, node *corev1.Node, ready corev1.ConditionStatus) {
	logger := klog.FromContext(ctx)
	switch ready {
	case corev1.ConditionFalse:
		if hasTaint(node.Spec.Taints, UnreachableNoExecute) {
			if err := c.swapTaints(ctx, node, []corev1.Taint{NotReadyNoExecute}, []corev1.Taint{UnreachableNoExecute}); err != nil {
				utilruntime.HandleErrorWithContext(ctx, err, "Swapping unreachable for not-ready taint failed, will retry", "node", klog.KObj(node))
			}
		} else if c.markForTainting(node, NotReadyNoExecute) {
			logger.V(2).Info("Node is not ready, queued for NoExecute taint", "node", klog.KObj(node))
		}
	case corev1.ConditionUnknown:
		if hasTaint(node.Spec.Taints, NotReadyNoExecute) {
			if err := c.swapTaints(ctx, node, []corev1.Taint{UnreachableNoExecute}, []corev1.Taint{NotReadyNoExecute}); err != nil {
				utilruntime.HandleErrorWithContext(ctx, err, "Swapping not-ready for unreachable taint failed, will retry", "node", klog.KObj(node))
			}
		} else if c.markForTainting(node, UnreachableNoExecute) {
			logger.V(2).Info("Node is unreachable, queued for NoExecute taint", "node", klog.KObj(node))
		}
	case corev1.ConditionTrue:
		c.markReachable(ctx, node)
	}
}

// markForTainting queues the node in its zone; a node still lacking the
// wanted taint goes to the back of the queue again.
func (c *Controller) markForTainting(node *corev1.Node, want corev1.Taint) bool {
	q := c.zoneQueue(ZoneKey(node))
	if !hasTaint(node.Spec.Taints, want) {
		q.remove(node.Name)
	}
	return q.add(node.Name, c.clock.Now())
}

// markReachable removes both NoExecute taints and takes the node out of
// its zone queue.
func (c *Controller) markReachable(ctx context.Context, node *corev1.Node) {
	var remove []corev1.Taint
	for _, t := range []corev1.Taint{UnreachableNoExecute, NotReadyNoExecute} {
		if hasTaint(node.Spec.Taints, t) {
			remove = append(remove, t)
		}
	}
	if len(remove) > 0 {
		if err := c.swapTaints(ctx, node, nil, remove); err != nil {
			utilruntime.HandleErrorWithContext(ctx, err, "Removing NoExecute taints failed", "node", klog.KObj(node))
		}
	}
	c.zoneQueue(ZoneKey(node)).remove(node.Name)
}

func (c *Controller) zoneQueue(zone string) *taintQueue {
	q, ok := c.zoneQueues[zone]
	if !ok {
		q = newTaintQueue(c.rates.Primary, c.clock.Now())
		c.zoneQueues[zone] = q
	}
	return q
}

// taintPass drains the zone queues at their rates, adding the NoExecute
// taint matching each node's current Ready status (R65, R67).
func (c *Controller) taintPass(ctx context.Context) {
	now := c.clock.Now()
	zones := make([]string, 0, len(c.zoneQueues))
	for z := range c.zoneQueues {
		zones = append(zones, z)
	}
	sort.Strings(zones)
	for _, z := range zones {
		c.zoneQueues[z].try(now, func(name string) (bool, time.Duration) {
			node, err := c.nodes.Get(name)
			if err != nil {
				return true, 0
			}
			add, remove, ok := NoExecuteFor(node)
			if !ok {
				return true, 0
			}
			if err := c.swapTaints(ctx, node, []corev1.Taint{add}, []corev1.Taint{remove}); err != nil {
				utilruntime.HandleErrorWithContext(ctx, err, "Adding NoExecute taint failed, will retry", "node", klog.KObj(node))
				return false, 0
			}
			klog.FromContext(ctx).Info("Added NoExecute taint", "node", klog.KObj(node), "taint", add.ToString())
			return true, 0
		})
	}
}

// NoExecuteFor returns the NoExecute taint a queued node gets now and the
// one it loses, after its Ready condition; false when Ready is True or
// missing (R65: the two taints are mutually exclusive).
func NoExecuteFor(node *corev1.Node) (add, remove corev1.Taint, ok bool) {
	ready := findCondition(node.Status.Conditions, corev1.NodeReady)
	if ready == nil {
		return corev1.Taint{}, corev1.Taint{}, false
	}
	switch ready.Status {
	case corev1.ConditionFalse:
		return NotReadyNoExecute, UnreachableNoExecute, true
	case corev1.ConditionUnknown:
		return UnreachableNoExecute, NotReadyNoExecute, true
	}
	return corev1.Taint{}, corev1.Taint{}, false
}

// markPodsNotReady sets Ready=False on every pod bound to the node (R66).
func (c *Controller) markPodsNotReady(ctx context.Context, nodeName string) error {
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	var errs []error
	for _, cached := range pods {
		if cached.Spec.NodeName != nodeName {
			continue
		}
		if err := c.markPodNotReady(ctx, cached); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Controller) markPodNotReady(ctx context.Context, cached *corev1.Pod) error {
	pod := cached
	changed := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if pod == nil {
			fresh, err := c.client.CoreV1().Pods(cached.Namespace).Get(ctx, cached.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			pod = fresh
		}
		update := pod.DeepCopy()
		pod = nil
		if !SetPodNotReady(&update.Status, metav1.NewTime(c.clock.Now())) {
			return nil
		}
		klog.FromContext(ctx).V(2).Info("Marking pod not ready", "pod", klog.KObj(update))
		_, err := c.client.CoreV1().Pods(update.Namespace).UpdateStatus(ctx, update, metav1.UpdateOptions{})
		changed = err == nil
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark pod %s/%s not ready: %w", cached.Namespace, cached.Name, err)
	}
	if changed {
		c.recorder.Event(cached, corev1.EventTypeWarning, EventNodeNotReady, "Node is not ready")
	}
	return nil
}

// SetPodNotReady turns an existing Ready condition False and reports
// whether it changed. Pods without a Ready condition are left alone.
func SetPodNotReady(st *corev1.PodStatus, now metav1.Time) bool {
	for i := range st.Conditions {
		cond := &st.Conditions[i]
		if cond.Type != corev1.PodReady {
			continue
		}
		if cond.Status == corev1.ConditionFalse {
			return false
		}
		cond.Status = corev1.ConditionFalse
		cond.LastTransitionTime = now
		return true
	}
	return false
}

func nodeRef(node *corev1.Node) *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}
}
