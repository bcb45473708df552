package daemonset

import (
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/everynode/everynode/internal/placement"
)

// Event handlers only decide which DaemonSet keys to enqueue (R40–R42, D1)
// and settle expectations (R81).

func (c *Controller) enqueue(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		c.queue.Add(key)
	}
}

func keyOf(ds *appsv1.DaemonSet) string { return ds.Namespace + "/" + ds.Name }

// resolve returns the DaemonSet a controller reference points at, if it is
// in the cache with the same UID.
func (c *Controller) resolve(ns string, ref *metav1.OwnerReference) *appsv1.DaemonSet {
	if ref == nil || ref.Kind != "DaemonSet" || ref.APIVersion != appsv1.SchemeGroupVersion.String() {
		return nil
	}
	ds, err := c.dsLister.DaemonSets(ns).Get(ref.Name)
	if err != nil || ds.UID != ref.UID {
		return nil
	}
	return ds
}

// matching returns the DaemonSets whose selector selects an object with
// these labels; used for orphans that might be adopted.
func (c *Controller) matching(ns string, objLabels map[string]string) []*appsv1.DaemonSet {
	all, err := c.dsLister.DaemonSets(ns).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*appsv1.DaemonSet
	for _, ds := range all {
		sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		if sel.Matches(labels.Set(objLabels)) {
			out = append(out, ds)
		}
	}
	return out
}

func (c *Controller) addPod(obj any) {
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil {
		c.deletePod(pod)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if ds := c.resolve(pod.Namespace, ref); ds != nil {
			c.expectations.observe(keyOf(ds), 1, 0)
			c.queue.Add(keyOf(ds))
		}
		return
	}
	for _, ds := range c.matching(pod.Namespace, pod.Labels) {
		c.queue.Add(keyOf(ds))
	}
}

func (c *Controller) updatePod(oldObj, curObj any) {
	old, cur := oldObj.(*corev1.Pod), curObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	if cur.DeletionTimestamp != nil {
		// The pod is on its way out: count the deletion now so that a
		// replacement is not held back by a long grace period.
		c.deletePod(cur)
		return
	}
	oldRef, curRef := metav1.GetControllerOfNoCopy(old), metav1.GetControllerOfNoCopy(cur)
	refChanged := !reflect.DeepEqual(oldRef, curRef)
	if refChanged && oldRef != nil {
		if ds := c.resolve(old.Namespace, oldRef); ds != nil {
			c.queue.Add(keyOf(ds))
		}
	}
	if curRef != nil {
		ds := c.resolve(cur.Namespace, curRef)
		if ds == nil {
			return
		}
		c.queue.Add(keyOf(ds))
		if ds.Spec.MinReadySeconds > 0 && !podReady(old) && podReady(cur) {
			// R121: look again once the pod can have become available.
			c.queue.AddAfter(keyOf(ds), time.Duration(ds.Spec.MinReadySeconds)*time.Second+time.Second)
		}
		return
	}
	if refChanged || !reflect.DeepEqual(old.Labels, cur.Labels) {
		for _, ds := range c.matching(cur.Namespace, cur.Labels) {
			c.queue.Add(keyOf(ds))
		}
	}
}

func (c *Controller) deletePod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if pod, ok = tomb.Obj.(*corev1.Pod); !ok {
			return
		}
	}
	if ds := c.resolve(pod.Namespace, metav1.GetControllerOfNoCopy(pod)); ds != nil {
		c.expectations.observe(keyOf(ds), 0, 1)
		c.queue.Add(keyOf(ds))
	}
}

func (c *Controller) addRevision(obj any) {
	rev := obj.(*appsv1.ControllerRevision)
	if ref := metav1.GetControllerOfNoCopy(rev); ref != nil {
		if ds := c.resolve(rev.Namespace, ref); ds != nil {
			c.queue.Add(keyOf(ds))
		}
		return
	}
	for _, ds := range c.matching(rev.Namespace, rev.Labels) {
		c.queue.Add(keyOf(ds))
	}
}

func (c *Controller) updateRevision(oldObj, curObj any) {
	old, cur := oldObj.(*appsv1.ControllerRevision), curObj.(*appsv1.ControllerRevision)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	if ref := metav1.GetControllerOfNoCopy(old); ref != nil {
		if ds := c.resolve(old.Namespace, ref); ds != nil {
			c.queue.Add(keyOf(ds))
		}
	}
	c.addRevision(cur)
}

func (c *Controller) deleteRevision(obj any) {
	rev, ok := obj.(*appsv1.ControllerRevision)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if rev, ok = tomb.Obj.(*appsv1.ControllerRevision); !ok {
			return
		}
	}
	if ds := c.resolve(rev.Namespace, metav1.GetControllerOfNoCopy(rev)); ds != nil {
		c.queue.Add(keyOf(ds))
	}
}

// hasPodOn reports whether the DaemonSet controls a pod targeting node.
func (c *Controller) hasPodOn(ds *appsv1.DaemonSet, node string) bool {
	return c.anyPodOn(node, func(pod *corev1.Pod) bool { return metav1.IsControlledBy(pod, ds) })
}

// anyPodOn reports whether a pod targeting node satisfies match.
func (c *Controller) anyPodOn(node string, match func(*corev1.Pod) bool) bool {
	objs, err := c.podIndexer.ByIndex(podsByTargetNode, node)
	if err != nil {
		return false
	}
	for _, o := range objs {
		if pod, ok := o.(*corev1.Pod); ok && match(pod) {
			return true
		}
	}
	return false
}

func (c *Controller) allDaemonSets() []*appsv1.DaemonSet {
	all, err := c.dsLister.List(labels.Everything())
	if err != nil {
		return nil
	}
	return all
}

func (c *Controller) addNode(obj any) { c.nodeAddedOrDeleted(obj.(*corev1.Node), true) }

// nodeAddedOrDeleted queues the DaemonSets that should run on node or have a
// pod there; a node that was added is recorded as an arrival.
func (c *Controller) nodeAddedOrDeleted(node *corev1.Node, added bool) {
	for _, ds := range c.allDaemonSets() {
		shouldRun := placement.Decide(node, ds).ShouldRun
		if shouldRun && added && ds.DeletionTimestamp == nil {
			c.arrivals.add(keyOf(ds), node.Name)
		}
		if shouldRun || c.hasPodOn(ds, node.Name) {
			c.queue.Add(keyOf(ds))
		}
	}
}

// updateNode implements D1: only label and taint changes matter (R40), and
// then every DaemonSet whose decision for the node changed is re-synced, so
// desired and misscheduled counts never go stale. The R41 conditions are
// kept as a safety net for work an earlier event left undone.
func (c *Controller) updateNode(oldObj, curObj any) {
	old, cur := oldObj.(*corev1.Node), curObj.(*corev1.Node)
	if reflect.DeepEqual(old.Labels, cur.Labels) && reflect.DeepEqual(old.Spec.Taints, cur.Spec.Taints) {
		return
	}
	for _, ds := range c.allDaemonSets() {
		before, after := placement.Decide(old, ds), placement.Decide(cur, ds)
		changed := before.ShouldRun != after.ShouldRun || before.ShouldContinueRunning != after.ShouldContinueRunning
		if changed {
			if after.ShouldRun && !before.ShouldRun && ds.DeletionTimestamp == nil {
				c.arrivals.add(keyOf(ds), cur.Name)
			}
			c.queue.Add(keyOf(ds))
			continue
		}
		has := c.hasPodOn(ds, cur.Name)
		if (after.ShouldRun && !has) || (!after.ShouldContinueRunning && has) {
			c.queue.Add(keyOf(ds))
		}
	}
}

func (c *Controller) deleteNode(obj any) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		tomb, ok := obj.(cache.DeletedFinalStateUnknown)
		if !ok {
			return
		}
		if node, ok = tomb.Obj.(*corev1.Node); !ok {
			return
		}
	}
	// Counters drop the node (T10 d), and unbound pods targeting it go (R93).
	c.nodeAddedOrDeleted(node, false)
}
