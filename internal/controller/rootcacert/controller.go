package rootcacert

import (
	"context"
	"errors"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/everynode/everynode/internal/controller/worker"
)

// Names and the annotation upstream uses, so clients that look for the
// ConfigMap find the same object they would on any cluster.
const (
	ConfigMapName         = "kube-root-ca.crt"
	DataKey               = "ca.crt"
	DescriptionAnnotation = "kubernetes.io/description"
	Description           = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
		"No other usage is guaranteed across distributions of Kubernetes clusters."
)

// Config holds the controller's dependencies.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Clock drives the workqueue's retry delays; defaults to the real clock.
	Clock clock.Clock
	// CAPEM is the cluster CA certificate, PEM encoded, as published.
	CAPEM []byte
}

// Controller publishes the root CA ConfigMap into every namespace.
type Controller struct {
	client     kubernetes.Interface
	namespaces corelisters.NamespaceLister
	configMaps corelisters.ConfigMapLister
	synced     []cache.InformerSynced
	queue      workqueue.TypedRateLimitingInterface[string]
	caPEM      string
}

// New builds the controller and registers its handlers; the caller starts
// the factory.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("rootcacert: Client and Informers are required")
	}
	if len(cfg.CAPEM) == 0 {
		return nil, errors.New("rootcacert: CAPEM is required")
	}
	qcfg := workqueue.TypedRateLimitingQueueConfig[string]{Name: "root_ca_cert_publisher"}
	if c, ok := cfg.Clock.(clock.WithTicker); ok {
		qcfg.Clock = c
	}
	nsInf := cfg.Informers.Core().V1().Namespaces()
	cmInf := cfg.Informers.Core().V1().ConfigMaps()
	c := &Controller{
		client:     cfg.Client,
		namespaces: nsInf.Lister(),
		configMaps: cmInf.Lister(),
		synced:     []cache.InformerSynced{nsInf.Informer().HasSynced, cmInf.Informer().HasSynced},
		queue:      workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), qcfg),
		caPEM:      string(cfg.CAPEM),
	}
	if _, err := nsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueueNamespace(obj) },
		UpdateFunc: func(_, obj any) { c.enqueueNamespace(obj) },
	}); err != nil {
		return nil, fmt.Errorf("rootcacert: namespace handler: %w", err)
	}
	if _, err := cmInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { c.enqueueConfigMap(obj) },
		DeleteFunc: c.enqueueConfigMap,
	}); err != nil {
		return nil, fmt.Errorf("rootcacert: configmap handler: %w", err)
	}
	return c, nil
}

func (c *Controller) enqueueNamespace(obj any) {
	if ns, ok := obj.(*corev1.Namespace); ok {
		c.queue.Add(ns.Name)
	}
}

// enqueueConfigMap looks again at the namespace of a published ConfigMap
// that changed or went away; other ConfigMaps are none of its business.
func (c *Controller) enqueueConfigMap(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok || cm.Name != ConfigMapName {
		return
	}
	c.queue.Add(cm.Namespace)
}

// Run handles the queue with workers goroutines until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) error {
	return worker.Run(ctx, "rootcacert", c.queue, workers, c.synced, worker.NoRequeue(c.sync))
}

// sync creates or corrects the ConfigMap in namespace ns.
func (c *Controller) sync(ctx context.Context, ns string) error {
	namespace, err := c.namespaces.Get(ns)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", ns, err)
	}
	if namespace.DeletionTimestamp != nil || namespace.Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	cached, err := c.configMaps.ConfigMaps(ns).Get(ConfigMapName)
	if apierrors.IsNotFound(err) {
		cached = nil
	} else if err != nil {
		return fmt.Errorf("get configmap %s/%s: %w", ns, ConfigMapName, err)
	}
	want := Desired(cached, ns, c.caPEM)
	switch {
	case want == nil:
		return nil
	case cached == nil:
		_, err = c.client.CoreV1().ConfigMaps(ns).Create(ctx, want, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			// Someone else created it (the update event will bring us
			// back if it is wrong), or the namespace is going away.
			return nil
		}
	default:
		_, err = c.client.CoreV1().ConfigMaps(ns).Update(ctx, want, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) {
			// Deleted meanwhile; the delete event requeues the namespace.
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("publish configmap %s/%s: %w", ns, ConfigMapName, err)
	}
	return nil
}

// Desired returns the ConfigMap to write into namespace ns given the one
// there now (nil when there is none), or nil when the current one already
// carries exactly the CA as its data and has a description annotation.
// Data other than the CA is dropped; binary data, labels and other
// annotations are kept, as upstream does.
func Desired(current *corev1.ConfigMap, ns, caPEM string) *corev1.ConfigMap {
	data := map[string]string{DataKey: caPEM}
	if current == nil {
		return &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name: ConfigMapName, Namespace: ns,
				Annotations: map[string]string{DescriptionAnnotation: Description},
			},
			Data: data,
		}
	}
	if maps.Equal(current.Data, data) && current.Annotations[DescriptionAnnotation] != "" {
		return nil
	}
	out := current.DeepCopy()
	out.Data = data
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[DescriptionAnnotation] = Description
	return out
}
