package daemonset

import (
	"context"
	"errors"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// execute carries out a plan: events, backoff bookkeeping, then at most
// burstReplicas creations in slow-start batches and as many deletions in
// parallel, all covered by expectations (R81–R84).
func (c *Controller) execute(ctx context.Context, key string, ds *appsv1.DaemonSet, hash string, plan Plan) error {
	for _, e := range plan.Events {
		c.recorder.Event(ds, e.Type, e.Reason, e.Message)
	}
	now := c.clock.Now()
	for _, node := range plan.BackoffNodes {
		c.backoff.advance(ds, node, now)
	}
	if plan.RequeueAfter > 0 {
		c.queue.AddAfter(key, plan.RequeueAfter)
	}
	creates := plan.Creates[:min(len(plan.Creates), burstReplicas)]
	deletes := plan.Deletes[:min(len(plan.Deletes), burstReplicas)]
	if len(creates) == 0 && len(deletes) == 0 {
		return nil
	}
	c.expectations.expect(key, len(creates), len(deletes))
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for _, d := range deletes {
		wg.Go(func() {
			if err := c.deletePodFor(ctx, ds, d.Pod); err != nil {
				c.expectations.observe(key, 0, 1)
				if !apierrors.IsNotFound(err) {
					fail(err)
				}
			}
		})
	}
	for pos, batch := 0, 1; pos < len(creates); pos, batch = pos+batch, min(2*batch, len(creates)-pos-batch) {
		before := len(errs)
		var bw sync.WaitGroup
		for _, cr := range creates[pos : pos+batch] {
			bw.Go(func() {
				err := c.createPodFor(ctx, ds, cr.Node, hash)
				switch {
				case err == nil:
				case apierrors.IsTimeout(err):
					// The pod may well exist; its add event settles the expectation.
				case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
					c.expectations.observe(key, 1, 0)
				default:
					c.expectations.observe(key, 1, 0)
					fail(err)
				}
			})
		}
		bw.Wait()
		mu.Lock()
		failed := len(errs) > before
		mu.Unlock()
		if skipped := len(creates) - pos - batch; failed && skipped > 0 {
			klog.FromContext(ctx).V(2).Info("Slow-start failure, skipping remaining creations", "daemonset", key, "skipped", skipped)
			c.expectations.observe(key, skipped, 0)
			break
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Controller) createPodFor(ctx context.Context, ds *appsv1.DaemonSet, node, hash string) error {
	pod := newPod(ds, node, hash)
	created, err := c.client.CoreV1().Pods(ds.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		c.recorder.Eventf(ds, corev1.EventTypeWarning, EventFailedCreate, "Error creating: %v", err)
		return fmt.Errorf("create daemon pod on node %s for %s/%s: %w", node, ds.Namespace, ds.Name, err)
	}
	c.recorder.Eventf(ds, corev1.EventTypeNormal, EventSuccessfulCreate, "Created pod: %v", created.Name)
	return nil
}

func (c *Controller) deletePodFor(ctx context.Context, ds *appsv1.DaemonSet, name string) error {
	err := c.client.CoreV1().Pods(ds.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return err
	case err != nil:
		c.recorder.Eventf(ds, corev1.EventTypeWarning, EventFailedDelete, "Error deleting: %v", err)
		return fmt.Errorf("delete daemon pod %s/%s: %w", ds.Namespace, name, err)
	}
	c.recorder.Eventf(ds, corev1.EventTypeNormal, EventSuccessfulDelete, "Deleted pod: %v", name)
	return nil
}
