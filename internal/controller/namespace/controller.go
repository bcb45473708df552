package namespace

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/everynode/everynode/internal/controller/worker"
)

// Config holds the controller's dependencies.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Clock stamps conditions and measures remaining grace periods;
	// defaults to the real clock.
	Clock clock.Clock
}

// Controller deletes the content of terminating namespaces.
type Controller struct {
	client      kubernetes.Interface
	lister      corelisters.NamespaceLister
	synced      cache.InformerSynced
	clock       clock.Clock
	collections []collection
	queue       workqueue.TypedRateLimitingInterface[string]
}

// collectionClient is the part of a typed client the controller uses.
type collectionClient[L runtime.Object] interface {
	DeleteCollection(ctx context.Context, opts metav1.DeleteOptions, listOpts metav1.ListOptions) error
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
}

// collection is one namespaced kind: delete all of it in a namespace, and
// list what is left.
type collection struct {
	resource  schema.GroupResource
	deleteAll func(ctx context.Context, ns string) error
	list      func(ctx context.Context, ns string) ([]metav1.Object, error)
}

func newCollection[L runtime.Object](gr schema.GroupResource, client func(ns string) collectionClient[L]) collection {
	return collection{
		resource: gr,
		deleteAll: func(ctx context.Context, ns string) error {
			bg := metav1.DeletePropagationBackground
			return client(ns).DeleteCollection(ctx, metav1.DeleteOptions{PropagationPolicy: &bg}, metav1.ListOptions{})
		},
		list: func(ctx context.Context, ns string) ([]metav1.Object, error) {
			l, err := client(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			items, err := meta.ExtractList(l)
			if err != nil {
				return nil, err
			}
			out := make([]metav1.Object, 0, len(items))
			for _, it := range items {
				m, err := meta.Accessor(it)
				if err != nil {
					return nil, err
				}
				out = append(out, m)
			}
			return out, nil
		},
	}
}

// servedCollections are the namespaced kinds everynode serves. Events are
// served under two groups from one storage; deleting them once suffices.
func servedCollections(cs kubernetes.Interface) []collection {
	return []collection{
		newCollection(schema.GroupResource{Resource: "pods"},
			func(ns string) collectionClient[*corev1.PodList] { return cs.CoreV1().Pods(ns) }),
		newCollection(schema.GroupResource{Group: "apps", Resource: "daemonsets"},
			func(ns string) collectionClient[*appsv1.DaemonSetList] { return cs.AppsV1().DaemonSets(ns) }),
		newCollection(schema.GroupResource{Group: "apps", Resource: "controllerrevisions"},
			func(ns string) collectionClient[*appsv1.ControllerRevisionList] {
				return cs.AppsV1().ControllerRevisions(ns)
			}),
		newCollection(schema.GroupResource{Resource: "events"},
			func(ns string) collectionClient[*corev1.EventList] { return cs.CoreV1().Events(ns) }),
		newCollection(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"},
			func(ns string) collectionClient[*coordinationv1.LeaseList] { return cs.CoordinationV1().Leases(ns) }),
		newCollection(schema.GroupResource{Resource: "serviceaccounts"},
			func(ns string) collectionClient[*corev1.ServiceAccountList] { return cs.CoreV1().ServiceAccounts(ns) }),
		newCollection(schema.GroupResource{Resource: "configmaps"},
			func(ns string) collectionClient[*corev1.ConfigMapList] { return cs.CoreV1().ConfigMaps(ns) }),
		newCollection(schema.GroupResource{Resource: "services"},
			func(ns string) collectionClient[*corev1.ServiceList] { return oneByOne{cs.CoreV1().Services(ns)} }),
	}
}

// oneByOne deletes Services one at a time: like upstream, their client
// offers no deletecollection.
type oneByOne struct {
	typedcorev1.ServiceInterface
}

func (s oneByOne) DeleteCollection(ctx context.Context, opts metav1.DeleteOptions, listOpts metav1.ListOptions) error {
	l, err := s.List(ctx, listOpts)
	if err != nil {
		return err
	}
	var errs []error
	for _, svc := range l.Items {
		if err := s.Delete(ctx, svc.Name, opts); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// New builds the controller and registers its handlers; the caller starts
// the factory.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("namespace: Client and Informers are required")
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	qcfg := workqueue.TypedRateLimitingQueueConfig[string]{Name: "namespace"}
	if c, ok := clk.(clock.WithTicker); ok {
		qcfg.Clock = c
	}
	inf := cfg.Informers.Core().V1().Namespaces()
	c := &Controller{
		client:      cfg.Client,
		lister:      inf.Lister(),
		synced:      inf.Informer().HasSynced,
		clock:       clk,
		collections: servedCollections(cfg.Client),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, 60*time.Second), qcfg),
	}
	_, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
	})
	if err != nil {
		return nil, fmt.Errorf("add namespace handler: %w", err)
	}
	return c, nil
}

func (c *Controller) enqueue(obj any) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok || ns.DeletionTimestamp == nil {
		return
	}
	c.queue.Add(ns.Name)
}

// Run handles the queue with workers goroutines until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) error {
	return worker.Run(ctx, "namespace", c.queue, workers, []cache.InformerSynced{c.synced}, c.sync)
}

// sync runs one deletion pass over a terminating namespace. It returns when
// to look again while content remains.
func (c *Controller) sync(ctx context.Context, name string) (time.Duration, error) {
	cached, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("get namespace %s from cache: %w", name, err)
	}
	if cached.DeletionTimestamp == nil {
		return 0, nil
	}
	if _, ok := WithoutKubernetesFinalizer(cached.Spec.Finalizers); !ok {
		return 0, nil
	}
	content := c.deleteContent(ctx, name)
	if err := c.updateConditions(ctx, cached, Conditions(content)); err != nil {
		return 0, err
	}
	next := Decide(content)
	logger := klog.FromContext(ctx)
	switch {
	case next.Finalize:
		return 0, c.finalize(ctx, name)
	case next.RetryAfter > 0:
		logger.V(2).Info("Namespace content remains", "namespace", name, "reason", next.Reason, "retryAfter", next.RetryAfter)
		return next.RetryAfter, nil
	default:
		return 0, fmt.Errorf("delete content of namespace %s: %w", name, errors.Join(contentErrors(content)...))
	}
}

func contentErrors(content []Content) []error {
	var errs []error
	for _, c := range content {
		if c.DeleteErr != nil {
			errs = append(errs, c.DeleteErr)
		}
	}
	return errs
}

// deleteContent deletes every collection in the namespace and reports
// what each left behind.
func (c *Controller) deleteContent(ctx context.Context, ns string) []Content {
	now := c.clock.Now()
	out := make([]Content, 0, len(c.collections))
	for _, col := range c.collections {
		res := Content{Resource: col.resource}
		if err := col.deleteAll(ctx, ns); err != nil && !apierrors.IsNotFound(err) {
			res.DeleteErr = fmt.Errorf("delete %s: %w", col.resource, err)
			out = append(out, res)
			continue
		}
		left, err := col.list(ctx, ns)
		if err != nil {
			res.DeleteErr = fmt.Errorf("list %s: %w", col.resource, err)
			out = append(out, res)
			continue
		}
		res.Remaining = len(left)
		for _, m := range left {
			for _, f := range m.GetFinalizers() {
				if res.Finalizers == nil {
					res.Finalizers = map[string]int{}
				}
				res.Finalizers[f]++
			}
			if dt := m.GetDeletionTimestamp(); dt != nil {
				res.GraceLeft = max(res.GraceLeft, dt.Sub(now))
			}
		}
		out = append(out, res)
	}
	return out
}

// updateConditions writes the deletion conditions when they changed.
func (c *Controller) updateConditions(ctx context.Context, cached *corev1.Namespace, desired []corev1.NamespaceCondition) error {
	conds, changed := MergeConditions(cached.Status.Conditions, desired, metav1.NewTime(c.clock.Now()))
	if !changed {
		return nil
	}
	ns := cached.DeepCopy()
	ns.Status.Conditions = conds
	_, err := c.client.CoreV1().Namespaces().UpdateStatus(ctx, ns, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("update conditions of namespace %s: %w", ns.Name, err)
	}
	return nil
}

// finalize removes the "kubernetes" finalizer from a fresh copy of the
// namespace; the API server then deletes it.
func (c *Controller) finalize(ctx context.Context, name string) error {
	ns, err := c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", name, err)
	}
	fins, ok := WithoutKubernetesFinalizer(ns.Spec.Finalizers)
	if !ok {
		return nil
	}
	ns.Spec.Finalizers = fins
	klog.FromContext(ctx).V(2).Info("Finalizing namespace", "namespace", name, "reason", ReasonEmpty)
	if _, err := c.client.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("finalize namespace %s: %w", name, err)
	}
	return nil
}
