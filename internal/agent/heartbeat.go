package agent

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// every runs f now and then every d of the agent's clock until ctx ends.
func (a *Agent) every(ctx context.Context, d time.Duration, f func(context.Context)) {
	for {
		f(ctx)
		t := a.cfg.Clock.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// leaseLoop renews the node's Lease every quarter of its duration (R60).
func (a *Agent) leaseLoop(ctx context.Context) {
	a.every(ctx, a.cfg.LeaseDuration/4, func(ctx context.Context) {
		if err := a.renewLease(ctx); err != nil && ctx.Err() == nil {
			klog.FromContext(ctx).Error(err, "renew lease", "node", a.cfg.NodeName)
		}
	})
}

// renewLease creates or renews kube-node-lease/<node>. The last written
// Lease is reused so a renewal is one request.
func (a *Agent) renewLease(ctx context.Context) error {
	leases := a.cfg.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(a.cfg.Clock.Now())
	if a.lease != nil {
		l := a.lease.DeepCopy()
		l.Spec.RenewTime = &now
		l.Spec.HolderIdentity = &a.cfg.NodeName
		l.Spec.LeaseDurationSeconds = new(int32(a.cfg.LeaseDuration / time.Second))
		updated, err := leases.Update(ctx, l, metav1.UpdateOptions{})
		if err == nil {
			a.lease = updated
			return nil
		}
		a.lease = nil
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return fmt.Errorf("renew lease %s: %w", a.cfg.NodeName, err)
		}
	}
	l, err := leases.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName, Namespace: corev1.NamespaceNodeLease}}
		if node, err := a.cfg.Client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{}); err == nil {
			// As the kubelet: the Lease goes away with its Node.
			l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
		}
		l.Spec = coordinationv1.LeaseSpec{HolderIdentity: &a.cfg.NodeName,
			LeaseDurationSeconds: new(int32(a.cfg.LeaseDuration / time.Second)), RenewTime: &now}
		created, err := leases.Create(ctx, l, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create lease %s: %w", a.cfg.NodeName, err)
		}
		a.lease = created
		return nil
	case err != nil:
		return fmt.Errorf("get lease %s: %w", a.cfg.NodeName, err)
	}
	a.lease = l
	return a.renewLease(ctx)
}

// statusLoop computes the node status every StatusUpdateFrequency and
// writes it when it changed or StatusReportFrequency has passed since the
// last write (R60).
func (a *Agent) statusLoop(ctx context.Context) {
	a.every(ctx, a.cfg.StatusUpdateFrequency, func(ctx context.Context) {
		if err := a.syncNodeStatus(ctx); err != nil && ctx.Err() == nil {
			klog.FromContext(ctx).Error(err, "sync node status", "node", a.cfg.NodeName)
		}
	})
}

func (a *Agent) syncNodeStatus(ctx context.Context) error {
	node, err := a.cfg.Client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		// Deleted under us: register again, as the kubelet does.
		return a.register(ctx)
	}
	if err != nil {
		return fmt.Errorf("get node %s: %w", a.cfg.NodeName, err)
	}
	a.mu.Lock()
	due := a.cfg.Clock.Since(a.lastStatusWrite) >= a.cfg.StatusReportFrequency
	a.mu.Unlock()
	if !due && !statusChanged(node.Status, a.nodeStatus(&node.Status)) {
		return nil
	}
	return a.writeNodeStatus(ctx, node)
}
