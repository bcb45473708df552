package podgc

import (
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Reasons a pod is collected; they appear in logs.
const (
	ReasonTerminated              = "TerminatedPodThreshold"
	ReasonTerminatingOutOfService = "TerminatingOnOutOfServiceNode"
	ReasonOrphaned                = "NodeDeleted"
	ReasonUnscheduledTerminating  = "TerminatingUnscheduled"
)

// Deletion is one planned force deletion.
type Deletion struct {
	Namespace string
	Name      string
	UID       types.UID
	Reason    string
	// MarkFailed: the pod is not terminal and is set to Failed first.
	MarkFailed bool
	// Condition, when set, is added to the pod's status with MarkFailed.
	Condition *corev1.PodCondition
}

// Snapshot is what one pass looks at.
type Snapshot struct {
	Pods []*corev1.Pod
	// Nodes are the nodes in the cache, by name.
	Nodes map[string]*corev1.Node
	// DeletedNodes are nodes verified gone by a live read after quarantine.
	DeletedNodes map[string]bool
	// TerminatedThreshold is the number of terminated pods to keep; 0 or
	// less disables that collection.
	TerminatedThreshold int
}

// Plan lists the pods to force-delete, each once, in the order upstream's
// PodGC considers them: terminated pods beyond the threshold, terminating
// pods on out-of-service nodes, pods on deleted nodes, terminating pods
// that were never scheduled.
func Plan(s Snapshot) []Deletion {
	var out []Deletion
	seen := map[types.UID]bool{}
	add := func(p *corev1.Pod, reason string, cond *corev1.PodCondition) {
		if seen[p.UID] {
			return
		}
		seen[p.UID] = true
		out = append(out, Deletion{
			Namespace: p.Namespace, Name: p.Name, UID: p.UID, Reason: reason,
			MarkFailed: !isTerminated(p), Condition: cond,
		})
	}
	if s.TerminatedThreshold > 0 {
		var terminated []*corev1.Pod
		for _, p := range s.Pods {
			if isTerminated(p) {
				terminated = append(terminated, p)
			}
		}
		if excess := len(terminated) - s.TerminatedThreshold; excess > 0 {
			sortForDeletion(terminated)
			for _, p := range terminated[:excess] {
				add(p, ReasonTerminated, nil)
			}
		}
	}
	var outOfService []*corev1.Pod
	for _, p := range s.Pods {
		if p.DeletionTimestamp == nil || p.Spec.NodeName == "" {
			continue
		}
		if n, ok := s.Nodes[p.Spec.NodeName]; ok && OutOfService(n) {
			outOfService = append(outOfService, p)
		}
	}
	sortForDeletion(outOfService)
	for _, p := range outOfService {
		add(p, ReasonTerminatingOutOfService, nil)
	}
	for _, p := range s.Pods {
		if p.Spec.NodeName != "" && s.DeletedNodes[p.Spec.NodeName] {
			add(p, ReasonOrphaned, &corev1.PodCondition{
				Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
				Reason: "DeletionByPodGC", Message: "PodGC: node no longer exists",
			})
		}
	}
	for _, p := range s.Pods {
		if p.DeletionTimestamp != nil && p.Spec.NodeName == "" {
			add(p, ReasonUnscheduledTerminating, nil)
		}
	}
	return out
}

// isTerminated: the pod reached Succeeded or Failed (anything but
// Pending, Running and Unknown, as upstream counts it).
func isTerminated(p *corev1.Pod) bool {
	switch p.Status.Phase {
	case corev1.PodPending, corev1.PodRunning, corev1.PodUnknown:
		return false
	}
	return true
}

// OutOfService reports whether a node's pods may be force-deleted once
// terminating: the node is not Ready and carries the out-of-service taint.
func OutOfService(n *corev1.Node) bool {
	ready := false
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ready = c.Status == corev1.ConditionTrue
		}
	}
	tainted := slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool {
		return t.Key == corev1.TaintNodeOutOfService
	})
	return !ready && tainted
}

// sortForDeletion orders pods evicted first (they are least likely to be
// what a controller still looks at), then oldest first, then by name.
func sortForDeletion(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if ea, eb := evicted(a), evicted(b); ea != eb {
			return ea
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

func evicted(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted"
}

// Quarantine tracks nodes that bound pods name but the cache does not hold.
// A node is only checked with a live read once it has been missing for the
// whole quarantine, so that a node the cache has not caught up with yet does
// not lose its pods.
type Quarantine struct {
	// MissingSince is when each node was first seen missing.
	MissingSince map[string]time.Time
}

// Due records the nodes missing now and returns, sorted, those missing for
// at least the quarantine. Nodes that came back or that no pod names any
// more are forgotten.
func (q *Quarantine) Due(pods []*corev1.Pod, nodes map[string]*corev1.Node, now time.Time, quarantine time.Duration) []string {
	missing := map[string]bool{}
	for _, p := range pods {
		if n := p.Spec.NodeName; n != "" && nodes[n] == nil {
			missing[n] = true
		}
	}
	if q.MissingSince == nil {
		q.MissingSince = map[string]time.Time{}
	}
	for n := range q.MissingSince {
		if !missing[n] {
			delete(q.MissingSince, n)
		}
	}
	var due []string
	for n := range missing {
		since, ok := q.MissingSince[n]
		if !ok {
			q.MissingSince[n] = now
			since = now
		}
		if now.Sub(since) >= quarantine {
			due = append(due, n)
		}
	}
	sort.Strings(due)
	return due
}

// Forget restarts the quarantine of a node (after it was verified, either
// way).
func (q *Quarantine) Forget(node string) {
	delete(q.MissingSince, node)
}
