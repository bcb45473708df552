package daemonset

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Counters are the seven DaemonSet status counters (R150–R155).
type Counters struct {
	Desired, Current, Misscheduled, Ready, Available, Unavailable, Updated int32
}

// computeStatus derives the counters from the snapshot. Pods on nodes missing
// from the cache are not counted (R151, T10 d).
func computeStatus(s *Snapshot) Counters {
	var c Counters
	decisions := s.decisions()
	byNode := s.podsByNode()
	generation := templateGeneration(s.DS)
	for _, node := range s.Nodes {
		pods := byNode[node.Name]
		if !decisions[node.Name].ShouldRun {
			if len(pods) > 0 {
				c.Misscheduled++
			}
			continue
		}
		c.Desired++
		if len(pods) == 0 {
			continue
		}
		c.Current++
		first := pods[0] // R96 order: during surge the old pod is first
		if podReady(first) {
			c.Ready++
			if podAvailable(first, s.DS.Spec.MinReadySeconds, s.Now) {
				c.Available++
			}
		}
		if updated(first, s.Hash, generation) {
			c.Updated++
		}
	}
	c.Unavailable = c.Desired - c.Available
	return c
}

func countersOf(st appsv1.DaemonSetStatus) Counters {
	return Counters{
		Desired: st.DesiredNumberScheduled, Current: st.CurrentNumberScheduled,
		Misscheduled: st.NumberMisscheduled, Ready: st.NumberReady, Available: st.NumberAvailable,
		Unavailable: st.NumberUnavailable, Updated: st.UpdatedNumberScheduled,
	}
}

func (c Counters) apply(st *appsv1.DaemonSetStatus) {
	st.DesiredNumberScheduled = c.Desired
	st.CurrentNumberScheduled = c.Current
	st.NumberMisscheduled = c.Misscheduled
	st.NumberReady = c.Ready
	st.NumberAvailable = c.Available
	st.NumberUnavailable = c.Unavailable
	st.UpdatedNumberScheduled = c.Updated
}

// statusNeedsWrite implements the skip rule of R159.
func statusNeedsWrite(ds *appsv1.DaemonSet, c Counters) bool {
	return countersOf(ds.Status) != c || ds.Status.ObservedGeneration < ds.Generation
}

// writeStatus stores the counters, and observedGeneration when the sync was
// a full one (R156), retrying once on a fresh copy (R159).
func (c *Controller) writeStatus(ctx context.Context, ds *appsv1.DaemonSet, counters Counters, observeGeneration bool) error {
	if !statusNeedsWrite(ds, counters) {
		return nil
	}
	client := c.client.AppsV1().DaemonSets(ds.Namespace)
	toUpdate := ds.DeepCopy()
	var err error
	for attempt := 0; ; attempt++ {
		if observeGeneration {
			toUpdate.Status.ObservedGeneration = ds.Generation
		}
		counters.apply(&toUpdate.Status)
		if _, err = client.UpdateStatus(ctx, toUpdate, metav1.UpdateOptions{}); err == nil {
			return nil
		}
		if attempt >= 1 {
			return fmt.Errorf("update status of daemonset %s/%s: %w", ds.Namespace, ds.Name, err)
		}
		fresh, getErr := client.Get(ctx, ds.Name, metav1.GetOptions{})
		if getErr != nil {
			return fmt.Errorf("re-read daemonset %s/%s for status update: %w", ds.Namespace, ds.Name, getErr)
		}
		toUpdate = fresh
	}
}
