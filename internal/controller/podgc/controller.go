package podgc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Defaults, as upstream kube-controller-manager.
const (
	DefaultTerminatedPodThreshold = 12500
	DefaultQuarantine             = 40 * time.Second
	DefaultPeriod                 = 20 * time.Second
)

// Config holds the collector's dependencies and knobs.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Clock drives the pass period and the quarantine; defaults to the
	// real clock.
	Clock clock.Clock
	// TerminatedPodThreshold is how many terminated pods to keep
	// (--terminated-pod-gc-threshold); 0 means DefaultTerminatedPodThreshold,
	// a negative value disables the collection of terminated pods.
	TerminatedPodThreshold int
	// Quarantine is how long a node must be missing from the cache before a
	// live read decides its pods are orphans; 0 means DefaultQuarantine.
	Quarantine time.Duration
	// Period is the time between passes; 0 means DefaultPeriod.
	Period time.Duration
}

// Controller is the pod garbage collector.
type Controller struct {
	client     kubernetes.Interface
	pods       corelisters.PodLister
	nodes      corelisters.NodeLister
	synced     []cache.InformerSynced
	clock      clock.Clock
	threshold  int
	quarantine time.Duration
	period     time.Duration
	// missing is only touched by the goroutine running passes.
	missing Quarantine
}

// New builds the collector; the caller starts the factory.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("podgc: Client and Informers are required")
	}
	c := &Controller{
		client:     cfg.Client,
		pods:       cfg.Informers.Core().V1().Pods().Lister(),
		nodes:      cfg.Informers.Core().V1().Nodes().Lister(),
		clock:      cfg.Clock,
		threshold:  cfg.TerminatedPodThreshold,
		quarantine: cfg.Quarantine,
		period:     cfg.Period,
	}
	c.synced = []cache.InformerSynced{
		cfg.Informers.Core().V1().Pods().Informer().HasSynced,
		cfg.Informers.Core().V1().Nodes().Informer().HasSynced,
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	if c.threshold == 0 {
		c.threshold = DefaultTerminatedPodThreshold
	}
	if c.quarantine == 0 {
		c.quarantine = DefaultQuarantine
	}
	if c.period == 0 {
		c.period = DefaultPeriod
	}
	return c, nil
}

// Run waits for the caches and runs a pass every period until ctx is done.
// Passes are sequential, so workers is ignored.
func (c *Controller) Run(ctx context.Context, workers int) error {
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithName("podgc"))
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return fmt.Errorf("podgc: wait for caches: %w", ctx.Err())
	}
	for {
		if err := c.Pass(ctx); err != nil {
			klog.FromContext(ctx).Error(err, "Pod garbage collection pass failed")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.clock.After(c.period):
		}
	}
}

// Pass runs one collection: snapshot the caches, verify quarantined nodes
// with live reads, plan, apply.
func (c *Controller) Pass(ctx context.Context) error {
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	nodeList, err := c.nodes.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	nodes := make(map[string]*corev1.Node, len(nodeList))
	for _, n := range nodeList {
		nodes[n.Name] = n
	}
	deleted := map[string]bool{}
	var errs []error
	for _, name := range c.missing.Due(pods, nodes, c.clock.Now(), c.quarantine) {
		c.missing.Forget(name)
		_, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			deleted[name] = true
		case err != nil:
			errs = append(errs, fmt.Errorf("get node %s: %w", name, err))
		}
	}
	plan := Plan(Snapshot{Pods: pods, Nodes: nodes, DeletedNodes: deleted, TerminatedThreshold: c.threshold})
	errs = append(errs, c.apply(ctx, plan))
	return errors.Join(errs...)
}

// apply executes the deletions in parallel, at most 16 at a time.
func (c *Controller) apply(ctx context.Context, plan []Deletion) error {
	var g errgroup.Group
	g.SetLimit(16)
	errs := make([]error, len(plan))
	for i, d := range plan {
		g.Go(func() error {
			errs[i] = c.forceDelete(ctx, d)
			return nil
		})
	}
	_ = g.Wait()
	return errors.Join(errs...)
}

// forceDelete marks the pod Failed when the plan says so, then deletes it
// with grace period 0.
func (c *Controller) forceDelete(ctx context.Context, d Deletion) error {
	logger := klog.FromContext(ctx)
	logger.Info("Force deleting pod", "pod", klog.KRef(d.Namespace, d.Name), "reason", d.Reason)
	if d.MarkFailed {
		cached, err := c.pods.Pods(d.Namespace).Get(d.Name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("get pod %s/%s from cache: %w", d.Namespace, d.Name, err)
		}
		pod := cached.DeepCopy()
		pod.Status.Phase = corev1.PodFailed
		if d.Condition != nil {
			setCondition(&pod.Status, *d.Condition, metav1.NewTime(c.clock.Now()))
		}
		if _, err := c.client.CoreV1().Pods(d.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("mark pod %s/%s failed: %w", d.Namespace, d.Name, err)
		}
	}
	uid := d.UID
	err := c.client.CoreV1().Pods(d.Namespace).Delete(ctx, d.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64),
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s/%s: %w", d.Namespace, d.Name, err)
	}
	return nil
}

// setCondition adds or replaces a pod condition, moving its transition
// time only when its status changes.
func setCondition(st *corev1.PodStatus, cond corev1.PodCondition, now metav1.Time) {
	cond.LastTransitionTime = now
	for i, c := range st.Conditions {
		if c.Type == cond.Type {
			if c.Status == cond.Status {
				cond.LastTransitionTime = c.LastTransitionTime
			}
			st.Conditions[i] = cond
			return
		}
	}
	st.Conditions = append(st.Conditions, cond)
}
