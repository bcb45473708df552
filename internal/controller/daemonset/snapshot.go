package daemonset

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/everynode/everynode/internal/placement"
)

// templateGenerationAnnotation carries the DaemonSet's template generation;
// the API server maintains it (R147).
const templateGenerationAnnotation = "deprecated.daemonset.template.generation"

// templateGenerationLabel is the pod label carrying the template generation
// a daemon pod was created from (R85).
const templateGenerationLabel = "pod-template-generation"

// Snapshot is everything one sync decides on, read from informer caches.
// Planners never modify it.
type Snapshot struct {
	DS *appsv1.DaemonSet
	// Hash is the current revision's controller-revision-hash (R140).
	Hash string
	// Nodes is the node cache, sorted by name.
	Nodes []*corev1.Node
	// Pods are the pods this DaemonSet controls (after adoption/release).
	Pods []*corev1.Pod
	Now  time.Time
	// Backoff holds the failed-pod backoff state per node name (R94).
	Backoff map[string]BackoffEntry

	// decided memoizes decisions and byNode podsByNode: manage, rolling
	// update and status of one sync all need them; a snapshot does not
	// change once taken.
	decided map[string]placement.Decision
	byNode  map[string][]*corev1.Pod
}

// BackoffEntry is the failed-pod deletion backoff of one (DaemonSet, node).
type BackoffEntry struct {
	Delay      time.Duration
	LastUpdate time.Time
}

// decisions evaluates placement for every node of the snapshot.
func (s *Snapshot) decisions() map[string]placement.Decision {
	if s.decided != nil {
		return s.decided
	}
	d := placement.NewDecider(s.DS)
	out := make(map[string]placement.Decision, len(s.Nodes))
	for _, n := range s.Nodes {
		out[n.Name] = d.Decide(n)
	}
	s.decided = out
	return out
}

// withPods returns a copy of the snapshot that holds pods instead; the
// decisions, which depend only on the DaemonSet and the nodes, carry over.
func (s *Snapshot) withPods(pods []*corev1.Pod) *Snapshot {
	c := *s
	c.Pods = pods
	c.byNode = nil
	return &c
}

// podsByNode maps pods to their target node (R91). Pods without a target
// are ignored, and so are terminal pods already being deleted (R92); each
// node's list is in R96 order. Callers must not modify the result.
func (s *Snapshot) podsByNode() map[string][]*corev1.Pod {
	if s.byNode != nil {
		return s.byNode
	}
	out := map[string][]*corev1.Pod{}
	for _, p := range s.Pods {
		node, ok := placement.TargetNode(p)
		if !ok {
			continue
		}
		if p.DeletionTimestamp != nil && terminal(p) {
			continue
		}
		out[node] = append(out[node], p)
	}
	for _, pods := range out {
		if len(pods) > 1 {
			sortPods(pods)
		}
	}
	s.byNode = out
	return out
}

// templateGeneration returns the DaemonSet's template generation, or nil if
// the annotation is missing or malformed (then only the hash counts, R146).
func templateGeneration(ds *appsv1.DaemonSet) *int64 {
	v, ok := ds.Annotations[templateGenerationAnnotation]
	if !ok {
		return nil
	}
	g, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil
	}
	return &g
}

// updated reports whether pod runs the current template (R146).
func updated(pod *corev1.Pod, hash string, generation *int64) bool {
	if hash != "" && pod.Labels[appsv1.ControllerRevisionHashLabelKey] == hash {
		return true
	}
	return generation != nil && pod.Labels[templateGenerationLabel] == fmt.Sprint(*generation)
}

func terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded
}

// sortPods orders pods as R96 does: bound before unbound, then older, then
// by name.
func sortPods(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if (a.Spec.NodeName != "") != (b.Spec.NodeName != "") {
			return a.Spec.NodeName != ""
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

func podReadyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func podReady(p *corev1.Pod) bool {
	c := podReadyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

// podAvailable implements R121: Ready, and Ready for at least
// minReadySeconds by the controller's clock (boundary inclusive since 1.34).
func podAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	c := podReadyCondition(p)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	since := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second)
	return !c.LastTransitionTime.IsZero() && !since.After(now)
}
