package daemonset

import (
	"context"
	"maps"
	"slices"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// arrivals lets a node that joins, or newly matches, get its daemon pod
// without waiting for a full sync. A full sync is O(nodes + pods) — tens of
// milliseconds on a large fleet, and paced when it runs often — while
// creating the pod of a node that has none needs only that node, the
// DaemonSet and its current revision hash. Node handlers record such nodes;
// the next sync of the DaemonSet places them first (placeArrivals), then
// syncs in full as usual, which checks everything else.
type arrivals struct {
	mu    sync.Mutex
	nodes map[string]map[string]struct{}
	revs  map[string]knownRevision
}

// knownRevision is the current revision hash a full sync found for one
// DaemonSet generation; the template cannot have changed while the
// generation stays.
type knownRevision struct {
	uid        types.UID
	generation int64
	hash       string
}

func newArrivals() *arrivals {
	return &arrivals{nodes: map[string]map[string]struct{}{}, revs: map[string]knownRevision{}}
}

// add records that node may need a pod of the DaemonSet key.
func (a *arrivals) add(key, node string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	set, ok := a.nodes[key]
	if !ok {
		set = map[string]struct{}{}
		a.nodes[key] = set
	}
	set[node] = struct{}{}
}

// take returns the nodes recorded for key since the last take, sorted and
// without repeats, and forgets them.
func (a *arrivals) take(key string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	nodes := slices.Sorted(maps.Keys(a.nodes[key]))
	delete(a.nodes, key)
	return nodes
}

// remember records the revision hash a full sync of ds used.
func (a *arrivals) remember(key string, ds *appsv1.DaemonSet, hash string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.revs[key] = knownRevision{uid: ds.UID, generation: ds.Generation, hash: hash}
}

// hash returns the current revision hash of ds if a full sync has seen this
// generation of it.
func (a *arrivals) hash(key string, ds *appsv1.DaemonSet) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.revs[key]
	if !ok || r.uid != ds.UID || r.generation != ds.Generation || r.hash == "" {
		return "", false
	}
	return r.hash, true
}

func (a *arrivals) forget(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.nodes, key)
	delete(a.revs, key)
}

// placeArrivals creates the daemon pods of the arrived nodes that have none.
// It does nothing unless the last full sync saw this generation of the
// DaemonSet, and waits until earlier writes have been observed; a node with
// any pod the DaemonSet controls or would adopt is left to the full sync
// (adoption, duplicates, failed pods). What it plans for the nodes it keeps
// is what the manage step of a full sync would plan for them.
func (c *Controller) placeArrivals(ctx context.Context, key string, ds *appsv1.DaemonSet, selector labels.Selector, names []string) error {
	hash, ok := c.arrivals.hash(key, ds)
	if !ok {
		return nil // the full sync that follows sees this generation first
	}
	if !c.expectations.satisfied(key) {
		// Writes of an earlier sync are in flight; observing them queues
		// the DaemonSet again, and the nodes are looked at then.
		for _, n := range names {
			c.arrivals.add(key, n)
		}
		return nil
	}
	// Pods the full sync would see as this DaemonSet's: controlled, or
	// orphans it adopts (R90).
	ours := func(pod *corev1.Pod) bool {
		return metav1.IsControlledBy(pod, ds) ||
			(pod.Namespace == ds.Namespace && classifyOwnership(ds, selector, pod) == adopt)
	}
	var nodes []*corev1.Node
	for _, name := range names {
		node, err := c.nodeLister.Get(name)
		if err != nil || c.anyPodOn(name, ours) {
			continue
		}
		nodes = append(nodes, node)
	}
	if len(nodes) == 0 {
		return nil
	}
	now := c.clock.Now()
	plan := planManage(&Snapshot{DS: ds, Hash: hash, Nodes: nodes, Now: now, Backoff: c.backoff.entries(ds, now)})
	return c.execute(ctx, key, ds, hash, plan)
}
