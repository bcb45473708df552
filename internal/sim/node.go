package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/utils/clock"
)

// requestTimeout bounds every request but the watch.
const requestTimeout = 30 * time.Second

// node is one simulated node. Everything but the channels is owned by the
// node's own goroutine (loop), so a node needs no lock: events, timers and
// churn are handled one at a time.
type node struct {
	s        *Sim
	name, ip string
	core     corev1client.CoreV1Interface
	leases   coordinationv1client.LeaseInterface
	selector string // spec.nodeName=<name>

	uid   types.UID             // of the registered Node
	lease *coordinationv1.Lease // last written, reused for the next renewal

	pods map[types.UID]*podState
	rv   string // resume point of the pod watch; "" relists
	w    watch.Interface

	// wake is one timer for everything deferred: pods whose start delay
	// runs out, retries, restarting the watch.
	wake      clock.Timer
	wakeArmed bool
	wakeDue   time.Time

	churn chan struct{}
	// closeIdle drops the node's connection when it stops.
	closeIdle func()
}

// podState is what a node remembers of one of its pods. pod is the latest
// version seen while the node still has something to do for it (report it
// Running, or finish its deletion); nil otherwise, to keep memory small.
type podState struct {
	pod     *corev1.Pod
	seen    time.Time
	deleted bool
}

func newNode(s *Sim, name, ip string, core corev1client.CoreV1Interface, coord coordinationv1client.CoordinationV1Interface) *node {
	return &node{
		s: s, name: name, ip: ip, core: core,
		leases:   coord.Leases(corev1.NamespaceNodeLease),
		selector: fields.OneTermEqualSelector("spec.nodeName", name).String(),
		pods:     map[types.UID]*podState{},
		churn:    make(chan struct{}, 1),
	}
}

func (n *node) now() time.Time { return n.s.cfg.Clock.Now() }

// register creates the Node with its status, or takes over the existing one
// and posts a fresh status (the kubelet's behaviour when it restarts).
func (n *node) register(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	created, err := n.core.Nodes().Create(rctx, nodeObject(n.name, n.ip, n.s.cfg.Labels, n.s.cfg.Taints, n.now()), metav1.CreateOptions{})
	if err == nil {
		n.uid = created.UID
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register node %s: %w", n.name, err)
	}
	return n.postStatus(ctx)
}

// postStatus writes the node's status with a fresh heartbeat.
func (n *node) postStatus(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	cur, err := n.core.Nodes().Get(rctx, n.name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get node %s: %w", n.name, err)
	}
	cur.Status = nodeStatus(n.name, n.ip, n.now(), &cur.Status)
	updated, err := n.core.Nodes().UpdateStatus(rctx, cur, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update status of node %s: %w", n.name, err)
	}
	n.uid = updated.UID
	return nil
}

// renewLease renews kube-node-lease/<node>, creating it when there is none
// (owned by the Node, so that it goes away with it, as the kubelet's).
func (n *node) renewLease(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	now := metav1.NewMicroTime(n.now())
	if n.lease != nil {
		n.lease.Spec.RenewTime = &now
		updated, err := n.leases.Update(rctx, n.lease, metav1.UpdateOptions{})
		if err == nil {
			n.lease = updated
			n.s.stats.leaseRenewals.Add(1)
			return nil
		}
		n.lease = nil
		if !apierrors.IsConflict(err) {
			// NotFound included: the Node may be gone with its Lease, and
			// a new Lease must not be owned by the old Node.
			return fmt.Errorf("renew lease %s: %w", n.name, err)
		}
	}
	l, err := n.leases.Get(rctx, n.name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: n.name, Namespace: corev1.NamespaceNodeLease,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.name, UID: n.uid}}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &n.name, LeaseDurationSeconds: new(int32(n.s.cfg.LeaseDuration / time.Second)), RenewTime: &now},
		}
		created, err := n.leases.Create(rctx, l, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create lease %s: %w", n.name, err)
		}
		n.lease = created
		n.s.stats.leaseRenewals.Add(1)
		return nil
	case err != nil:
		return fmt.Errorf("get lease %s: %w", n.name, err)
	}
	l.Spec.HolderIdentity = &n.name
	l.Spec.LeaseDurationSeconds = new(int32(n.s.cfg.LeaseDuration / time.Second))
	n.lease = l
	return n.renewLease(ctx)
}

// loop runs the registered node until ctx ends.
func (n *node) loop(ctx context.Context) {
	c := n.s.cfg.Clock
	// The first renewal lands anywhere in the renew interval so that nodes
	// registered together do not renew in lockstep.
	renew := n.s.cfg.LeaseDuration / 4
	leaseT := c.NewTimer(rand.N(renew) + 1)
	statusT := c.NewTimer(n.s.cfg.StatusReportFrequency)
	defer func() {
		leaseT.Stop()
		statusT.Stop()
		if n.wake != nil {
			n.wake.Stop()
		}
		n.stopWatch()
		if n.closeIdle != nil {
			n.closeIdle()
		}
	}()
	n.sync(ctx)
	for {
		var events <-chan watch.Event
		if n.w != nil {
			events = n.w.ResultChan()
		}
		var wake <-chan time.Time
		if n.wakeArmed {
			wake = n.wake.C()
		}
		select {
		case <-ctx.Done():
			return
		case <-leaseT.C():
			if err := n.renewLease(ctx); err != nil {
				n.s.fail(ctx, err)
				if apierrors.IsNotFound(err) && n.nodeGone(ctx) {
					n.reregister(ctx)
				}
			}
			leaseT.Reset(renew)
		case <-statusT.C():
			if err := n.postStatus(ctx); err != nil {
				n.s.fail(ctx, err)
				if apierrors.IsNotFound(err) {
					n.reregister(ctx)
				}
			}
			statusT.Reset(n.s.cfg.StatusReportFrequency)
		case ev, ok := <-events:
			if !ok {
				// The server ended the watch: resume from rv, spread out
				// in case it ended every node's watch at once.
				n.stopWatch()
				n.wakeIn(rand.N(time.Second))
				continue
			}
			n.handle(ctx, ev)
		case <-wake:
			n.wakeArmed = false
			n.sync(ctx)
		case <-n.churn:
			n.doChurn(ctx)
		}
	}
}

// nodeGone reports whether the Node no longer exists.
func (n *node) nodeGone(ctx context.Context) bool {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := n.core.Nodes().Get(rctx, n.name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

// reregister registers the node again after its Node was deleted: its
// pods went with it, so it starts over with a fresh list.
func (n *node) reregister(ctx context.Context) {
	n.stopWatch()
	n.pods = map[types.UID]*podState{}
	n.rv = ""
	n.lease = nil
	if err := n.register(ctx); err != nil {
		n.s.fail(ctx, err)
		n.wakeIn(time.Second)
		return
	}
	if err := n.renewLease(ctx); err != nil {
		n.s.fail(ctx, err)
	}
	n.sync(ctx)
}

// doChurn removes the node (Node and Lease, as an administrator draining a
// machine out of the fleet would) and adds it back as a fresh registration.
func (n *node) doChurn(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	uid := n.uid
	err := n.core.Nodes().Delete(rctx, n.name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err == nil || apierrors.IsNotFound(err) {
		err = n.leases.Delete(rctx, n.name, metav1.DeleteOptions{})
	}
	cancel()
	if err != nil && !apierrors.IsNotFound(err) {
		n.s.fail(ctx, fmt.Errorf("churn node %s: %w", n.name, err))
	}
	n.s.stats.churned.Add(1)
	n.reregister(ctx)
}

// wakeIn arranges for sync to run within d.
func (n *node) wakeIn(d time.Duration) {
	due := n.now().Add(d)
	if n.wakeArmed && !due.Before(n.wakeDue) {
		return
	}
	if n.wake == nil {
		n.wake = n.s.cfg.Clock.NewTimer(d)
	} else {
		n.wake.Stop()
		n.wake.Reset(d)
	}
	n.wakeArmed, n.wakeDue = true, due
}

func (n *node) stopWatch() {
	if n.w != nil {
		n.w.Stop()
		n.w = nil
	}
}

// sync (re)starts the pod watch if needed, then acts on every pod.
func (n *node) sync(ctx context.Context) {
	if n.w == nil {
		if err := n.startWatch(ctx); err != nil {
			if ctx.Err() == nil {
				n.s.fail(ctx, err)
			}
			n.wakeIn(time.Second + rand.N(time.Second))
			return
		}
	}
	n.syncPods(ctx)
}

// startWatch watches the node's pods from rv, listing first when there is
// no resume point (at the start, or after 410 Gone).
func (n *node) startWatch(ctx context.Context) error {
	if n.rv == "" {
		if err := n.relist(ctx); err != nil {
			return err
		}
	}
	w, err := n.core.Pods(metav1.NamespaceAll).Watch(ctx, metav1.ListOptions{
		FieldSelector: n.selector, ResourceVersion: n.rv, AllowWatchBookmarks: true,
	})
	if err != nil {
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			n.rv = ""
		}
		return fmt.Errorf("watch pods of %s: %w", n.name, err)
	}
	n.w = w
	return nil
}

// relist replaces what the node knows of its pods with a fresh list.
func (n *node) relist(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	list, err := n.core.Pods(metav1.NamespaceAll).List(rctx, metav1.ListOptions{FieldSelector: n.selector})
	if err != nil {
		return fmt.Errorf("list pods of %s: %w", n.name, err)
	}
	present := map[types.UID]bool{}
	for i := range list.Items {
		present[list.Items[i].UID] = true
		n.observe(&list.Items[i])
	}
	for uid := range n.pods {
		if !present[uid] {
			delete(n.pods, uid)
		}
	}
	n.rv = list.ResourceVersion
	return nil
}

// handle applies one watch event.
func (n *node) handle(ctx context.Context, ev watch.Event) {
	switch ev.Type {
	case watch.Error:
		err := apierrors.FromObject(ev.Object)
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			n.rv = ""
		} else {
			n.s.fail(ctx, fmt.Errorf("watch pods of %s: %w", n.name, err))
		}
		n.stopWatch()
		n.wakeIn(rand.N(time.Second))
		return
	case watch.Bookmark:
		if m, err := meta.Accessor(ev.Object); err == nil {
			n.rv = m.GetResourceVersion()
		}
		return
	}
	pod, ok := ev.Object.(*corev1.Pod)
	if !ok {
		return
	}
	n.rv = pod.ResourceVersion
	if ev.Type == watch.Deleted {
		delete(n.pods, pod.UID)
		return
	}
	n.observe(pod)
	n.syncPods(ctx)
}

// observe records the latest version of one of the node's pods.
func (n *node) observe(pod *corev1.Pod) {
	if pod.Spec.NodeName != n.name {
		return
	}
	p := n.pods[pod.UID]
	if p == nil {
		p = &podState{seen: n.now()}
		n.pods[pod.UID] = p
	}
	terminal := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
	if pod.DeletionTimestamp == nil && (terminal || podRunningReady(pod)) {
		p.pod = nil // nothing left to do until it is deleted
		return
	}
	p.pod = pod
}

// syncPods reports pods whose start delay ran out Running and Ready, and
// finishes the deletion of terminating ones: their containers "stop" at
// once, so the node deletes them for good, as the kubelet does once a
// pod's containers are gone.
func (n *node) syncPods(ctx context.Context) {
	now := n.now()
	for uid, p := range n.pods {
		if p.pod == nil {
			continue
		}
		if p.pod.DeletionTimestamp != nil {
			if p.deleted {
				continue
			}
			if err := n.finishDeletion(ctx, p.pod); err != nil {
				n.s.fail(ctx, err)
				n.wakeIn(time.Second)
				continue
			}
			p.deleted = true
			continue
		}
		if due := p.seen.Add(n.s.cfg.PodStartDelay); now.Before(due) {
			n.wakeIn(due.Sub(now))
			continue
		}
		pod := *p.pod
		pod.Status = runningStatus(p.pod, n.ip, now)
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		_, err := n.core.Pods(pod.Namespace).UpdateStatus(rctx, &pod, metav1.UpdateOptions{})
		cancel()
		switch {
		case err == nil:
			p.pod = nil
			n.s.stats.podsReady.Add(1)
		case apierrors.IsConflict(err):
			// A newer version exists; its watch event brings it here again.
		case apierrors.IsNotFound(err):
			delete(n.pods, uid)
		default:
			n.s.fail(ctx, fmt.Errorf("update status of pod %s/%s: %w", pod.Namespace, pod.Name, err))
			n.wakeIn(time.Second)
		}
	}
}

// finishDeletion removes a terminating pod for good: grace period 0,
// guarded by its UID so that a pod recreated under the same name survives.
func (n *node) finishDeletion(ctx context.Context, pod *corev1.Pod) error {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	uid := pod.UID
	err := n.core.Pods(pod.Namespace).Delete(rctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	n.s.stats.podsDeleted.Add(1)
	return nil
}
