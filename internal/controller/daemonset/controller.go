package daemonset

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/everynode/everynode/internal/controller/worker"
	"github.com/everynode/everynode/internal/placement"
)

// Config holds the controller's dependencies.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder records events on DaemonSets; nil drops them.
	Recorder record.EventRecorder
	// Clock drives availability (minReadySeconds), backoff and
	// expectations; nil means the real clock.
	Clock clock.Clock
}

// Controller is the DaemonSet controller.
type Controller struct {
	client   kubernetes.Interface
	recorder record.EventRecorder
	clock    clock.Clock

	dsLister   appslisters.DaemonSetLister
	revLister  appslisters.ControllerRevisionLister
	podLister  corelisters.PodLister
	nodeLister corelisters.NodeLister
	podIndexer cache.Indexer
	synced     []cache.InformerSynced

	queue        workqueue.TypedRateLimitingInterface[string]
	expectations *expectations
	backoff      *failedPodBackoff
	pace         *pacer
	arrivals     *arrivals
}

// podsByTargetNode indexes pods by the node they are meant for (R91), so a
// node event finds the daemon pods on it without a full list.
const podsByTargetNode = "everynode.io/daemonset-target-node"

// burstReplicas caps creations and deletions per sync (R82).
const burstReplicas = 250

// New builds the controller and registers its informer handlers; the caller
// starts the informer factory.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("daemonset controller: Client and Informers are required")
	}
	c := &Controller{
		client:   cfg.Client,
		recorder: cfg.Recorder,
		clock:    cfg.Clock,
		backoff:  newFailedPodBackoff(),
		pace:     newPacer(),
		arrivals: newArrivals(),
	}
	if c.recorder == nil {
		c.recorder = &record.FakeRecorder{}
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	c.expectations = newExpectations(c.clock)
	queueCfg := workqueue.TypedRateLimitingQueueConfig[string]{Name: "daemonset"}
	if ticker, ok := c.clock.(clock.WithTicker); ok {
		// Delayed re-syncs (backoff, minReadySeconds) follow the injected clock.
		queueCfg.Clock = ticker
	}
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), queueCfg)

	dsInf := cfg.Informers.Apps().V1().DaemonSets()
	revInf := cfg.Informers.Apps().V1().ControllerRevisions()
	podInf := cfg.Informers.Core().V1().Pods()
	nodeInf := cfg.Informers.Core().V1().Nodes()
	c.dsLister, c.revLister = dsInf.Lister(), revInf.Lister()
	c.podLister, c.nodeLister = podInf.Lister(), nodeInf.Lister()

	err := podInf.Informer().AddIndexers(cache.Indexers{podsByTargetNode: indexByTargetNode})
	if err != nil {
		return nil, fmt.Errorf("add pod index: %w", err)
	}
	c.podIndexer = podInf.Informer().GetIndexer()
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandlerFuncs
	}{
		{dsInf.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueue,
			UpdateFunc: func(_, cur any) { c.enqueue(cur) },
			DeleteFunc: c.enqueue,
		}},
		{podInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.addPod, UpdateFunc: c.updatePod, DeleteFunc: c.deletePod}},
		{revInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.addRevision, UpdateFunc: c.updateRevision, DeleteFunc: c.deleteRevision}},
		{nodeInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.addNode, UpdateFunc: c.updateNode, DeleteFunc: c.deleteNode}},
	}
	for _, h := range handlers {
		reg, err := h.inf.AddEventHandler(h.h)
		if err != nil {
			return nil, fmt.Errorf("register event handler: %w", err)
		}
		c.synced = append(c.synced, reg.HasSynced)
	}
	return c, nil
}

func indexByTargetNode(obj any) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	if node, ok := placement.TargetNode(pod); ok {
		return []string{node}, nil
	}
	return nil, nil
}

// Run handles the queue with workers goroutines until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) error {
	return worker.Run(ctx, "daemonset", c.queue, workers, c.synced, worker.NoRequeue(c.sync))
}

// sync reconciles one DaemonSet in the order of R80.
func (c *Controller) sync(ctx context.Context, key string) error {
	logger := klog.FromContext(ctx)
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // malformed keys never heal
	}
	ds, err := c.dsLister.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.expectations.forget(key)
		c.pace.forget(key)
		c.arrivals.forget(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get daemonset %s from cache: %w", key, err)
	}
	if reflect.DeepEqual(ds.Spec.Selector, &metav1.LabelSelector{}) {
		c.recorder.Event(ds, corev1.EventTypeWarning, EventSelectingAll, "This daemon set is selecting all pods. A non-empty selector is required.")
		return nil
	}
	if ds.DeletionTimestamp != nil {
		return nil
	}
	selector, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		logger.Info("Skipping daemonset with an invalid selector", "daemonset", key, "reason", err.Error())
		return nil
	}
	var errs []error
	if nodes := c.arrivals.take(key); len(nodes) > 0 {
		if err := c.placeArrivals(ctx, key, ds, selector, nodes); err != nil {
			errs = append(errs, err)
		}
	}
	start := c.clock.Now()
	if wait := c.pace.wait(key, start); wait > 0 {
		c.queue.AddAfter(key, wait)
		return errors.Join(errs...)
	}
	defer func() { c.pace.done(key, start, c.clock.Now()) }()
	// Expectations are read before the pods are listed, as upstream does:
	// read after, a pod this controller just created could be missing from
	// the list and yet count as observed, and be created again.
	satisfied := c.expectations.satisfied(key)
	snap, old, claimed, err := c.snapshot(ctx, ds, selector)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	c.arrivals.remember(key, ds, snap.Hash)
	if !satisfied {
		return errors.Join(append(errs, c.updateStatus(ctx, key, snap, false, claimed))...)
	}
	manage := planManage(snap)
	if manage.HasWrites() {
		logger.V(4).Info("Manage plan", "daemonset", key, "plan", manage.String())
	}
	wrote := claimed || manage.HasWrites()
	if err := c.execute(ctx, key, ds, snap.Hash, manage); err != nil {
		errs = append(errs, err)
	} else if !manage.HasWrites() && ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		rolling, err := planRolling(snap)
		if err == nil {
			if rolling.HasWrites() {
				logger.V(4).Info("Rolling update plan", "daemonset", key, "plan", rolling.String())
				wrote = true
			}
			err = c.execute(ctx, key, ds, snap.Hash, rolling)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range planHistoryCleanup(ds, old, snap.Pods) {
		err := c.client.AppsV1().ControllerRevisions(ds.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete old revision %s/%s: %w", ds.Namespace, name, err))
		}
	}
	if err := c.updateStatus(ctx, key, snap, true, wrote); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// snapshot claims the DaemonSet's pods and revisions, reconciles revisions
// and returns what the planners need, the old revisions, and whether
// claiming changed the ownership of a pod.
func (c *Controller) snapshot(ctx context.Context, ds *appsv1.DaemonSet, selector labels.Selector) (*Snapshot, []*appsv1.ControllerRevision, bool, error) {
	nodes, err := c.nodeLister.List(labels.Everything())
	if err != nil {
		return nil, nil, false, fmt.Errorf("list nodes: %w", err)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	allPods, err := c.podLister.Pods(ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil, nil, false, fmt.Errorf("list pods: %w", err)
	}
	allRevs, err := c.revLister.ControllerRevisions(ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil, nil, false, fmt.Errorf("list controller revisions: %w", err)
	}
	cl := &claimer{c: c, ds: ds, selector: selector}
	pods, err := cl.claimPods(ctx, allPods)
	if err != nil {
		return nil, nil, false, err
	}
	revs, err := cl.claimRevisions(ctx, allRevs)
	if err != nil {
		return nil, nil, false, err
	}
	cur, old, err := c.syncRevisions(ctx, ds, revs, pods)
	if err != nil {
		return nil, nil, false, err
	}
	now := c.clock.Now()
	return &Snapshot{
		DS:      ds,
		Hash:    cur.Labels[appsv1.ControllerRevisionHashLabelKey],
		Nodes:   nodes,
		Pods:    pods,
		Now:     now,
		Backoff: c.backoff.entries(ds, now),
	}, old, cl.patched, nil
}

// updateStatus computes status and stores it. When the sync wrote pods
// (wrote), it recomputes from the cache, which by now may include those
// writes; otherwise the snapshot is as current as a second look would be,
// and any change since has queued another sync.
func (c *Controller) updateStatus(ctx context.Context, key string, snap *Snapshot, full, wrote bool) error {
	fresh := snap
	if wrote {
		fresh = snap.withPods(c.controlledPods(snap.DS))
		fresh.Now = c.clock.Now()
	}
	counters := computeStatus(fresh)
	if err := c.writeStatus(ctx, snap.DS, counters, full); err != nil {
		return err
	}
	// R121: re-check availability once minReadySeconds may have passed.
	if mrs := snap.DS.Spec.MinReadySeconds; mrs > 0 && counters.Ready != counters.Available {
		c.queue.AddAfter(key, time.Duration(mrs)*time.Second)
	}
	return nil
}

func (c *Controller) controlledPods(ds *appsv1.DaemonSet) []*corev1.Pod {
	all, err := c.podLister.Pods(ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*corev1.Pod
	for _, p := range all {
		if metav1.IsControlledBy(p, ds) {
			out = append(out, p)
		}
	}
	return out
}
