package garbagecollector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/everynode/everynode/internal/controller/worker"
)

// Config holds the collector's dependencies.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Recorder, when set, receives warnings about ownerReferences the
	// collector cannot resolve.
	Recorder record.EventRecorder
	// Clock drives the work queue's delays; defaults to the real clock.
	Clock clock.Clock
}

// Controller is the garbage collector.
type Controller struct {
	resources []*resource
	byName    map[string]*resource
	byKind    map[schema.GroupKind]*resource
	recorder  record.EventRecorder
	queue     workqueue.TypedRateLimitingInterface[objectKey]
	synced    []cache.InformerSynced
}

// objectKey names one watched object: the plural of its kind and its
// namespace/name cache key.
type objectKey struct {
	resource string
	key      string
}

// New builds the collector and registers its handlers and index on the
// informers; the caller starts the factory.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("garbagecollector: Client and Informers are required")
	}
	qcfg := workqueue.TypedRateLimitingQueueConfig[objectKey]{Name: "garbagecollector"}
	if c, ok := cfg.Clock.(clock.WithTicker); ok {
		qcfg.Clock = c
	}
	c := &Controller{
		byName:   map[string]*resource{},
		byKind:   map[schema.GroupKind]*resource{},
		recorder: cfg.Recorder,
		queue:    workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[objectKey](), qcfg),
	}
	c.resources = servedResources(cfg.Client, cfg.Informers)
	for _, r := range c.resources {
		c.byName[r.name] = r
		c.byKind[r.groupKind] = r
		if err := r.informer.AddIndexers(cache.Indexers{ownerIndex: ownerUIDs}); err != nil {
			return nil, fmt.Errorf("add owner index to %s informer: %w", r.name, err)
		}
		_, err := r.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { c.onChange(r, nil, obj) },
			UpdateFunc: func(old, obj any) { c.onChange(r, old, obj) },
			DeleteFunc: func(obj any) { c.onDelete(r, obj) },
		})
		if err != nil {
			return nil, fmt.Errorf("add %s handler: %w", r.name, err)
		}
		c.synced = append(c.synced, r.informer.HasSynced)
	}
	return c, nil
}

// Run handles the queue with workers goroutines until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) error {
	return worker.Run(ctx, "garbagecollector", c.queue, workers, c.synced, worker.NoRequeue(c.sync))
}

// --- event handlers: they only enqueue keys.

func (c *Controller) enqueue(r *resource, m metav1.Object) {
	c.queue.Add(objectKey{resource: r.name, key: cacheKey(m.GetNamespace(), m.GetName())})
}

func cacheKey(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func (c *Controller) onChange(r *resource, oldObj, obj any) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	if len(m.GetOwnerReferences()) > 0 || hasGCFinalizer(m) {
		c.enqueue(r, m)
	}
	if oldObj == nil {
		return
	}
	old, err := meta.Accessor(oldObj)
	if err != nil {
		return
	}
	// An owner deleting in the foreground waits for its dependents: tell it
	// when one starts terminating or changes its references.
	if !slices.EqualFunc(old.GetOwnerReferences(), m.GetOwnerReferences(), ownerRefEqual) ||
		(old.GetDeletionTimestamp() == nil) != (m.GetDeletionTimestamp() == nil) {
		c.enqueueOwners(r, old)
		c.enqueueOwners(r, m)
	}
}

func (c *Controller) onDelete(r *resource, obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	for _, d := range c.dependentsOf(r, m) {
		c.enqueue(d.res, d.obj)
	}
	c.enqueueOwners(r, m)
}

func (c *Controller) enqueueOwners(r *resource, m metav1.Object) {
	for _, ref := range m.GetOwnerReferences() {
		gk, err := groupKindOf(ref)
		if err != nil {
			continue
		}
		owner, ok := c.byKind[gk]
		if !ok {
			continue
		}
		ns := ""
		if owner.namespaced {
			ns = m.GetNamespace()
		}
		c.queue.Add(objectKey{resource: owner.name, key: cacheKey(ns, ref.Name)})
	}
}

func ownerRefEqual(a, b metav1.OwnerReference) bool {
	return a.UID == b.UID && ptrEqual(a.BlockOwnerDeletion, b.BlockOwnerDeletion)
}

func ptrEqual(a, b *bool) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func hasGCFinalizer(m metav1.Object) bool {
	return m.GetDeletionTimestamp() != nil &&
		(slices.Contains(m.GetFinalizers(), metav1.FinalizerOrphanDependents) ||
			slices.Contains(m.GetFinalizers(), metav1.FinalizerDeleteDependents))
}

// --- sync

// sync handles one object in both of its roles: as an owner being deleted
// with the orphan or foregroundDeletion finalizer, and as a dependent whose
// owners may be gone.
func (c *Controller) sync(ctx context.Context, k objectKey) error {
	r := c.byName[k.resource]
	obj, exists, err := r.informer.GetIndexer().GetByKey(k.key)
	if err != nil {
		return fmt.Errorf("read %s %s from cache: %w", r.name, k.key, err)
	}
	if !exists {
		return nil
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if m.GetDeletionTimestamp() != nil {
		switch fins := m.GetFinalizers(); {
		case slices.Contains(fins, metav1.FinalizerOrphanDependents):
			return c.orphanDependents(ctx, r, m)
		case slices.Contains(fins, metav1.FinalizerDeleteDependents):
			return c.deleteDependentsFirst(ctx, r, m)
		}
		// Already going away; its dependents are handled once it is gone.
		return nil
	}
	if len(m.GetOwnerReferences()) == 0 {
		return nil
	}
	return c.collectDependent(ctx, r, m)
}

// dependent is a cached object that references an owner.
type dependent struct {
	res *resource
	obj metav1.Object
}

// dependentsOf lists the cached objects referencing owner by UID. A
// namespaced owner can only own objects of its namespace.
func (c *Controller) dependentsOf(r *resource, owner metav1.Object) []dependent {
	var out []dependent
	for _, dr := range c.resources {
		if !dr.namespaced && r.namespaced {
			continue
		}
		objs, err := dr.informer.GetIndexer().ByIndex(ownerIndex, string(owner.GetUID()))
		if err != nil {
			continue
		}
		for _, o := range objs {
			m, err := meta.Accessor(o)
			if err != nil {
				continue
			}
			if r.namespaced && m.GetNamespace() != owner.GetNamespace() {
				continue
			}
			out = append(out, dependent{res: dr, obj: m})
		}
	}
	return out
}

// orphanDependents removes the ownerReference to owner from each dependent,
// then the orphan finalizer from owner.
func (c *Controller) orphanDependents(ctx context.Context, r *resource, owner metav1.Object) error {
	var errs []error
	for _, d := range c.dependentsOf(r, owner) {
		plan := DependentPlan{Action: ActionPatch, Remove: []types.UID{owner.GetUID()}}
		if err := c.patchOwnerReferences(ctx, d.res, d.obj, RewriteOwnerReferences(d.obj.GetOwnerReferences(), plan)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return c.removeFinalizer(ctx, r, owner, metav1.FinalizerOrphanDependents)
}

// deleteDependentsFirst drives foreground deletion: while dependents block
// the owner they are queued (their own sync deletes them); once none
// blocks, the finalizer goes and the API server deletes the owner.
func (c *Controller) deleteDependentsFirst(ctx context.Context, r *resource, owner metav1.Object) error {
	blocking := 0
	for _, d := range c.dependentsOf(r, owner) {
		if BlocksOwner(d.obj.GetOwnerReferences(), owner.GetUID()) {
			blocking++
			c.enqueue(d.res, d.obj)
		}
	}
	if blocking > 0 {
		klog.FromContext(ctx).V(4).Info("Waiting for dependents", "resource", r.name, "owner", klog.KObj(owner), "blocking", blocking)
		return nil
	}
	return c.removeFinalizer(ctx, r, owner, metav1.FinalizerDeleteDependents)
}

// collectDependent verifies the owners of m and applies PlanDependent.
func (c *Controller) collectDependent(ctx context.Context, r *resource, m metav1.Object) error {
	owners := make([]Owner, 0, len(m.GetOwnerReferences()))
	for _, ref := range m.GetOwnerReferences() {
		st, err := c.ownerState(ctx, r, m, ref)
		if err != nil {
			return err
		}
		owners = append(owners, Owner{Ref: ref, State: st})
	}
	plan := PlanDependent(Dependent{Finalizers: m.GetFinalizers(), HasDependents: len(c.dependentsOf(r, m)) > 0}, owners)
	logger := klog.FromContext(ctx)
	switch plan.Action {
	case ActionPatch:
		logger.V(2).Info("Updating ownerReferences", "resource", r.name, "object", klog.KObj(m), "reason", plan.Reason,
			"remove", plan.Remove, "unblock", plan.Unblock)
		return c.patchOwnerReferences(ctx, r, m, RewriteOwnerReferences(m.GetOwnerReferences(), plan))
	case ActionDelete:
		logger.V(2).Info("Deleting dependent", "resource", r.name, "object", klog.KObj(m), "reason", plan.Reason,
			"propagationPolicy", plan.Propagation)
		uid, rv := m.GetUID(), m.GetResourceVersion()
		err := r.delete(ctx, m.GetNamespace(), m.GetName(), metav1.DeleteOptions{
			PropagationPolicy: &plan.Propagation,
			// The decision was made on this version: if the object changed
			// (adopted, recreated) the delete fails and the next sync decides
			// again on fresh data.
			Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s %s: %w", r.name, klog.KObj(m), err)
		}
	}
	return nil
}

// ownerState verifies one owner of dependent m. The cache answers when it
// holds the owner with the referenced UID; otherwise a live read decides,
// because a cache lagging behind a fresh owner must not get its dependents
// deleted.
func (c *Controller) ownerState(ctx context.Context, r *resource, m metav1.Object, ref metav1.OwnerReference) (OwnerState, error) {
	gk, err := groupKindOf(ref)
	if err != nil {
		// An unparsable reference can never be resolved, so it never
		// lets the dependent go.
		return OwnerPresent, nil
	}
	owner, ok := c.byKind[gk]
	if !ok {
		// A kind this server does not serve cannot be verified absent.
		return OwnerPresent, nil
	}
	if owner.namespaced && !r.namespaced {
		// A cluster-scoped object cannot be owned by a namespaced one: the
		// reference is unresolvable and keeps the dependent, as upstream.
		if c.recorder != nil {
			if ro, ok := m.(runtime.Object); ok {
				c.recorder.Eventf(ro, corev1.EventTypeWarning, "OwnerRefInvalidNamespace",
					"ownerRef %s/%s, name: %s, uid: %s does not exist in namespace %q", ref.APIVersion, ref.Kind, ref.Name, ref.UID, m.GetNamespace())
			}
		}
		return OwnerPresent, nil
	}
	ns := ""
	if owner.namespaced {
		ns = m.GetNamespace()
	}
	if obj, exists, err := owner.informer.GetIndexer().GetByKey(cacheKey(ns, ref.Name)); err == nil && exists {
		if om, err := meta.Accessor(obj); err == nil && om.GetUID() == ref.UID {
			return stateOf(om), nil
		}
	}
	live, err := owner.get(ctx, ns, ref.Name)
	switch {
	case apierrors.IsNotFound(err):
		return OwnerAbsent, nil
	case err != nil:
		return "", fmt.Errorf("get owner %s %s: %w", owner.name, cacheKey(ns, ref.Name), err)
	case live.GetUID() != ref.UID:
		return OwnerAbsent, nil
	}
	return stateOf(live), nil
}

func stateOf(owner metav1.Object) OwnerState {
	if owner.GetDeletionTimestamp() != nil && slices.Contains(owner.GetFinalizers(), metav1.FinalizerDeleteDependents) {
		return OwnerDeletingDependents
	}
	return OwnerPresent
}

// patchOwnerReferences replaces m's ownerReferences, guarded by its UID and
// resourceVersion.
func (c *Controller) patchOwnerReferences(ctx context.Context, r *resource, m metav1.Object, refs []metav1.OwnerReference) error {
	patch := map[string]any{"metadata": map[string]any{
		"uid": m.GetUID(), "resourceVersion": m.GetResourceVersion(), "ownerReferences": refs,
	}}
	return c.mergePatch(ctx, r, m, patch, "ownerReferences")
}

// removeFinalizer drops f from owner, guarded by its UID and
// resourceVersion. When it was the last finalizer the API server deletes
// the owner.
func (c *Controller) removeFinalizer(ctx context.Context, r *resource, owner metav1.Object, f string) error {
	fins, ok := WithoutFinalizer(owner.GetFinalizers(), f)
	if !ok {
		return nil
	}
	klog.FromContext(ctx).V(2).Info("Removing finalizer", "resource", r.name, "object", klog.KObj(owner), "finalizer", f)
	patch := map[string]any{"metadata": map[string]any{
		"uid": owner.GetUID(), "resourceVersion": owner.GetResourceVersion(), "finalizers": fins,
	}}
	return c.mergePatch(ctx, r, owner, patch, "finalizer "+f)
}

func (c *Controller) mergePatch(ctx context.Context, r *resource, m metav1.Object, patch map[string]any, what string) error {
	data, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("encode %s patch: %w", what, err)
	}
	err = r.patch(ctx, m.GetNamespace(), m.GetName(), types.MergePatchType, data)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("patch %s of %s %s: %w", what, r.name, klog.KObj(m), err)
	}
	return nil
}
