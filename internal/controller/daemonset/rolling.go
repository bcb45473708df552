package daemonset

import (
	"fmt"
	"maps"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// surgeAllowed implements R106.
func surgeAllowed(ds *appsv1.DaemonSet) bool {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil || ru.MaxSurge == nil {
		return false
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, 1, true)
	return err == nil && n > 0
}

// budgets scales maxUnavailable and maxSurge against desired (R104–R105).
func budgets(ds *appsv1.DaemonSet, desired int) (maxUnavailable, maxSurge int, err error) {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	unavailable := intstr.FromInt32(1)
	surge := intstr.FromInt32(0)
	if ru != nil {
		if ru.MaxUnavailable != nil {
			unavailable = *ru.MaxUnavailable
		}
		if ru.MaxSurge != nil {
			surge = *ru.MaxSurge
		}
	}
	if maxUnavailable, err = intstr.GetScaledValueFromIntOrPercent(&unavailable, desired, true); err != nil {
		return 0, 0, fmt.Errorf("maxUnavailable: %w", err)
	}
	if surgeAllowed(ds) {
		if maxSurge, err = intstr.GetScaledValueFromIntOrPercent(&surge, desired, true); err != nil {
			return 0, 0, fmt.Errorf("maxSurge: %w", err)
		}
	}
	if desired > 0 && maxUnavailable == 0 && maxSurge == 0 {
		maxUnavailable = 1
	}
	return maxUnavailable, maxSurge, nil
}

// nodeRevisions splits a node's non-terminating pods into the one new and
// the one old pod; ok is false when there is more than one of either.
func nodeRevisions(pods []*corev1.Pod, hash string, generation *int64) (newPod, oldPod *corev1.Pod, ok bool) {
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		if updated(pod, hash, generation) {
			if newPod != nil {
				return nil, nil, false
			}
			newPod = pod
		} else {
			if oldPod != nil {
				return nil, nil, false
			}
			oldPod = pod
		}
	}
	return newPod, oldPod, true
}

// planRolling is the RollingUpdate step (R103–R121). Nodes are visited in
// name order (D2) instead of upstream's random map order.
func planRolling(s *Snapshot) (Plan, error) {
	decisions := s.decisions()
	byNode := maps.Clone(s.podsByNode()) // nodes without pods are added below
	desired := 0
	for _, n := range s.Nodes {
		if decisions[n.Name].ShouldRun {
			desired++
			if _, ok := byNode[n.Name]; !ok {
				byNode[n.Name] = nil
			}
		}
	}
	names := make([]string, 0, len(byNode))
	for name := range byNode {
		names = append(names, name)
	}
	sort.Strings(names)
	maxUnavailable, maxSurge, err := budgets(s.DS, desired)
	if err != nil {
		return Plan{}, fmt.Errorf("scale rolling update budgets: %w", err)
	}
	var p Plan
	if maxSurge == 0 {
		p = planRollingNoSurge(s, names, byNode, maxUnavailable)
	} else {
		// A node missing from the cache cannot run anything (upstream
		// fails the sync there; we treat it as SR=false).
		shouldRun := func(node string) bool { return decisions[node].ShouldRun }
		p = planRollingSurge(s, names, byNode, maxSurge, desired, shouldRun)
	}
	p.sort()
	return p, nil
}

// planRollingNoSurge implements R110–R115.
func planRollingNoSurge(s *Snapshot, names []string, byNode map[string][]*corev1.Pod, maxUnavailable int) Plan {
	var p Plan
	generation := templateGeneration(s.DS)
	minReady := s.DS.Spec.MinReadySeconds
	unavailable := 0
	var candidates []Delete
	for _, node := range names {
		newPod, oldPod, ok := nodeRevisions(byNode[node], s.Hash, generation)
		switch {
		case !ok:
			unavailable++ // R110: manage prunes the duplicates
		case (newPod == nil) == (oldPod == nil):
			unavailable++ // R111
		case newPod != nil:
			if !podAvailable(newPod, minReady, s.Now) {
				unavailable++ // R112
			}
		case !podAvailable(oldPod, minReady, s.Now):
			p.delete(oldPod.Name, node, ReasonUpdateOldUnavailable) // R113
			unavailable++
		case unavailable >= maxUnavailable:
			// budget exhausted; no point collecting more candidates
		default:
			candidates = append(candidates, Delete{Pod: oldPod.Name, Node: node, Reason: ReasonUpdateOld})
		}
	}
	budget := max(0, maxUnavailable-unavailable)
	budget = min(budget, len(candidates))
	p.Deletes = append(p.Deletes, candidates[:budget]...)
	return p
}

// planRollingSurge implements R116–R120.
func planRollingSurge(s *Snapshot, names []string, byNode map[string][]*corev1.Pod, maxSurge, desired int, shouldRun func(string) bool) Plan {
	var p Plan
	generation := templateGeneration(s.DS)
	minReady := s.DS.Spec.MinReadySeconds
	surging, available := 0, 0
	var candidates []string
	var shouldNotRun []Delete
	for _, node := range names {
		newPod, oldPod, ok := nodeRevisions(byNode[node], s.Hash, generation)
		if !ok {
			surging++ // R116
			continue
		}
		if oldPod != nil && podAvailable(oldPod, minReady, s.Now) {
			available++
		} else if newPod != nil && podAvailable(newPod, minReady, s.Now) {
			available++
		}
		switch {
		case oldPod == nil:
			// R119: manage handles it
		case newPod == nil && !podAvailable(oldPod, minReady, s.Now):
			if !shouldRun(node) {
				p.delete(oldPod.Name, node, ReasonUpdateOldUnavailable)
				continue
			}
			p.create(node, ReasonSurgeReplacement) // R117, outside the budget
		case newPod == nil:
			if !shouldRun(node) {
				shouldNotRun = append(shouldNotRun, Delete{Pod: oldPod.Name, Node: node, Reason: ReasonSurgeShouldNotRunSpare})
				continue
			}
			if surging < maxSurge {
				candidates = append(candidates, node)
			}
		case !podAvailable(newPod, minReady, s.Now):
			surging++ // R118: waiting for the new pod
		default:
			p.delete(oldPod.Name, node, ReasonSurgeNewAvailable)
		}
	}
	if spare := available - desired; spare > 0 {
		p.Deletes = append(p.Deletes, shouldNotRun[:min(spare, len(shouldNotRun))]...)
	}
	budget := min(max(0, maxSurge-surging), len(candidates))
	for _, node := range candidates[:budget] {
		p.create(node, ReasonSurgeCandidate)
	}
	return p
}
