package serviceaccount

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/everynode/everynode/internal/controller/worker"
)

// DefaultName is the ServiceAccount every namespace gets.
const DefaultName = "default"

// Config holds the controller's dependencies.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Clock drives the workqueue's retry delays; defaults to the real clock.
	Clock clock.Clock
}

// Controller creates the default ServiceAccount in every namespace.
type Controller struct {
	client     kubernetes.Interface
	namespaces corelisters.NamespaceLister
	accounts   corelisters.ServiceAccountLister
	synced     []cache.InformerSynced
	queue      workqueue.TypedRateLimitingInterface[string]
}

// New builds the controller and registers its handlers; the caller starts
// the factory.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("serviceaccount: Client and Informers are required")
	}
	qcfg := workqueue.TypedRateLimitingQueueConfig[string]{Name: "serviceaccount"}
	if c, ok := cfg.Clock.(clock.WithTicker); ok {
		qcfg.Clock = c
	}
	nsInf := cfg.Informers.Core().V1().Namespaces()
	saInf := cfg.Informers.Core().V1().ServiceAccounts()
	c := &Controller{
		client:     cfg.Client,
		namespaces: nsInf.Lister(),
		accounts:   saInf.Lister(),
		synced:     []cache.InformerSynced{nsInf.Informer().HasSynced, saInf.Informer().HasSynced},
		queue:      workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), qcfg),
	}
	// A namespace is looked at when it appears or changes (it may have
	// become active again after a failed create); a ServiceAccount only
	// matters when the default one goes away.
	if _, err := nsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueueNamespace(obj) },
		UpdateFunc: func(_, obj any) { c.enqueueNamespace(obj) },
	}); err != nil {
		return nil, fmt.Errorf("serviceaccount: namespace handler: %w", err)
	}
	if _, err := saInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: c.accountDeleted,
	}); err != nil {
		return nil, fmt.Errorf("serviceaccount: serviceaccount handler: %w", err)
	}
	return c, nil
}

func (c *Controller) enqueueNamespace(obj any) {
	if ns, ok := obj.(*corev1.Namespace); ok {
		c.queue.Add(ns.Name)
	}
}

func (c *Controller) accountDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok || sa.Name != DefaultName {
		return
	}
	c.queue.Add(sa.Namespace)
}

// Run handles the queue with workers goroutines until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) error {
	return worker.Run(ctx, "serviceaccount", c.queue, workers, c.synced, worker.NoRequeue(c.sync))
}

// sync makes sure namespace ns, if active, holds the default
// ServiceAccount.
func (c *Controller) sync(ctx context.Context, ns string) error {
	start := time.Now()
	defer func() {
		klog.FromContext(ctx).V(4).Info("Finished syncing namespace", "namespace", ns, "duration", time.Since(start))
	}()
	namespace, err := c.namespaces.Get(ns)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", ns, err)
	}
	if !NeedsDefault(namespace, c.hasDefault(ns)) {
		return nil
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DefaultName, Namespace: ns}}
	_, err = c.client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{})
	switch {
	case err == nil, apierrors.IsAlreadyExists(err):
		return nil
	case apierrors.IsNotFound(err), apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		// The namespace went away or started terminating after the
		// cache saw it; there is nothing to create any more.
		return nil
	default:
		return fmt.Errorf("create serviceaccount %s/%s: %w", ns, DefaultName, err)
	}
}

func (c *Controller) hasDefault(ns string) bool {
	_, err := c.accounts.ServiceAccounts(ns).Get(DefaultName)
	return err == nil
}

// NeedsDefault reports whether the default ServiceAccount must be created
// in namespace: only active namespaces get one, and only when it is
// missing.
func NeedsDefault(namespace *corev1.Namespace, hasDefault bool) bool {
	if hasDefault {
		return false
	}
	return namespace.DeletionTimestamp == nil && namespace.Status.Phase != corev1.NamespaceTerminating
}
