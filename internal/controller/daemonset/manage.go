package daemonset

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Failed-pod backoff bounds (R94).
const (
	backoffInitial = time.Second
	backoffMax     = 15 * time.Minute
)

// Event reasons emitted by the controller; the wording follows upstream.
const (
	EventFailedDaemonPod    = "FailedDaemonPod"
	EventSucceededDaemonPod = "SucceededDaemonPod"
	EventSelectingAll       = "SelectingAll"
	EventSuccessfulCreate   = "SuccessfulCreate"
	EventFailedCreate       = "FailedCreate"
	EventSuccessfulDelete   = "SuccessfulDelete"
	EventFailedDelete       = "FailedDelete"
)

// planManage is the manage step (R38, R93–R97): for every node, create the
// missing daemon pod, or clean up failed, succeeded, duplicate and
// unwanted pods.
func planManage(s *Snapshot) Plan {
	var p Plan
	decisions := s.decisions()
	byNode := s.podsByNode()
	surge := surgeAllowed(s.DS)
	backoff := make(map[string]BackoffEntry, len(s.Backoff))
	for k, v := range s.Backoff {
		backoff[k] = v
	}
	for _, node := range s.Nodes {
		d := decisions[node.Name]
		pods, exists := byNode[node.Name]
		switch {
		case d.ShouldRun && !exists:
			p.create(node.Name, ReasonNoPod)
		case d.ShouldContinueRunning:
			var live []*corev1.Pod
			for _, pod := range pods {
				switch {
				case pod.DeletionTimestamp != nil:
				case pod.Status.Phase == corev1.PodFailed:
					planFailedPod(&p, s, backoff, pod, node.Name)
				case pod.Status.Phase == corev1.PodSucceeded:
					p.Events = append(p.Events, Event{Type: corev1.EventTypeNormal, Reason: EventSucceededDaemonPod,
						Message: fmt.Sprintf("Found succeeded daemon pod %s/%s on node %s, will try to delete it", pod.Namespace, pod.Name, node.Name)})
					p.delete(pod.Name, node.Name, ReasonSucceeded)
				default:
					live = append(live, pod)
				}
			}
			if surge {
				planSurgeNode(&p, s, node.Name, d.ShouldRun, live)
				continue
			}
			// live is in R96 order: keep the first.
			for i := 1; i < len(live); i++ {
				p.delete(live[i].Name, node.Name, ReasonDuplicate)
			}
		case exists:
			for _, pod := range pods {
				if pod.DeletionTimestamp == nil {
					p.delete(pod.Name, node.Name, ReasonShouldNotRun)
				}
			}
		}
	}
	// R93: unbound pods waiting for a node that no longer exists. Terminating
	// ones are already on their way out.
	known := make(map[string]bool, len(s.Nodes))
	for _, n := range s.Nodes {
		known[n.Name] = true
	}
	for node, pods := range byNode {
		if known[node] {
			continue
		}
		for _, pod := range pods {
			if pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil {
				p.delete(pod.Name, node, ReasonNodeGone)
			}
		}
	}
	p.sort()
	return p
}

// planFailedPod deletes a failed pod unless the node's backoff forbids it
// for now, in which case the DaemonSet is re-queued for the rest of the
// delay (R94). backoff is the planner's working copy: a second failed pod on
// the same node in the same sync sees the first deletion.
func planFailedPod(p *Plan, s *Snapshot, backoff map[string]BackoffEntry, pod *corev1.Pod, node string) {
	e, ok := backoff[node]
	if ok && s.Now.Sub(e.LastUpdate) < e.Delay {
		p.requeue(e.Delay - s.Now.Sub(e.LastUpdate))
		return
	}
	backoff[node] = nextBackoff(e, ok, s.Now)
	p.BackoffNodes = append(p.BackoffNodes, node)
	p.Events = append(p.Events, Event{Type: corev1.EventTypeWarning, Reason: EventFailedDaemonPod,
		Message: fmt.Sprintf("Found failed daemon pod %s/%s on node %s, will try to kill it", pod.Namespace, pod.Name, node)})
	p.delete(pod.Name, node, ReasonFailed)
}

// nextBackoff doubles the delay, starting over at the initial delay when the
// entry is missing or has been idle for more than twice the maximum.
func nextBackoff(e BackoffEntry, exists bool, now time.Time) BackoffEntry {
	if !exists || now.Sub(e.LastUpdate) > 2*backoffMax {
		return BackoffEntry{Delay: backoffInitial, LastUpdate: now}
	}
	return BackoffEntry{Delay: min(2*e.Delay, backoffMax), LastUpdate: now}
}

// planSurgeNode handles a node's live pods when surge is allowed (R97): keep
// the oldest new-hash pod and the oldest other pod, drop the rest, and drop
// the old one as soon as it is not Ready or the new one is available.
func planSurgeNode(p *Plan, s *Snapshot, node string, shouldRun bool, live []*corev1.Pod) {
	if len(live) == 0 {
		if shouldRun {
			p.create(node, ReasonNoPod)
		}
		return
	}
	var oldestNew, oldestOld *corev1.Pod
	for _, pod := range live {
		if pod.Labels[appsv1.ControllerRevisionHashLabelKey] == s.Hash {
			if oldestNew == nil {
				oldestNew = pod
				continue
			}
		} else if oldestOld == nil {
			oldestOld = pod
			continue
		}
		p.delete(pod.Name, node, ReasonDuplicate)
	}
	if oldestNew == nil || oldestOld == nil {
		return
	}
	switch {
	case !podReady(oldestOld):
		p.delete(oldestOld.Name, node, ReasonSurgeOldNotReady)
	case podAvailable(oldestNew, s.DS.Spec.MinReadySeconds, s.Now):
		p.delete(oldestOld.Name, node, ReasonSurgeNewAvailable)
	}
}
