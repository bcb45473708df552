package scheduler

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// Preemption outcome reasons, worded as upstream's DefaultPreemption.
const (
	// ReasonPreemptionNotHelpful: the node failed a filter that removing
	// pods cannot fix (taints, affinity, cordon, a request above allocatable).
	ReasonPreemptionNotHelpful = "Preemption is not helpful for scheduling"
	// ReasonNoVictims: the node has no pod of lower priority to remove.
	ReasonNoVictims = "No preemption victims found for incoming pod"
	// msgPreemptNever: the pod's preemptionPolicy forbids preempting.
	msgPreemptNever = "not eligible due to preemptionPolicy=Never."
	// msgTerminatingVictim: earlier victims on the nominated node are still
	// terminating; preempting again would remove more pods than needed.
	msgTerminatingVictim = "not eligible due to a terminating pod on the nominated node."
)

// Preemption is the plan to make room for a pod: delete Victims, then the
// pod waits nominated to Node until they are gone.
type Preemption struct {
	Node    string
	Victims []*corev1.Pod
}

// Preempt decides whether pod, which fit on no node (fit is Schedule's
// answer for the same cluster), can make room by removing lower-priority
// pods. It returns the plan, or nil and the "preemption: ..." message that
// upstream appends to the FitError.
//
// On each node whose failure is resolvable (resources, host ports) it takes
// every pod of lower priority that is not already terminating as a potential
// victim; if the pod fits without all of them it reprieves them one by one,
// most important first (higher priority, then older), and keeps as victims
// only those it cannot reprieve. Among the nodes where this works it picks
// the one whose most important victim has the lowest priority, then the
// fewest victims, then the lowest sum of victim priorities, then the
// smallest name.
//
// Differences from upstream: no PodDisruptionBudgets, no preemption of
// pods on other nodes for inter-pod affinity, no extenders, no asynchronous
// preemption, and nodes are evaluated exhaustively instead of a sampled
// subset.
func Preempt(pod *corev1.Pod, c Cluster, fit *FitError) (*Preemption, string) {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever {
		return nil, "preemption: " + msgPreemptNever
	}
	if nominated := pod.Status.NominatedNodeName; nominated != "" {
		for _, p := range c.PodsByNode[nominated] {
			if p.DeletionTimestamp != nil && priority(p) < priority(pod) {
				return nil, "preemption: " + msgTerminatingVictim
			}
		}
	}
	req := podRequests(pod)
	statuses := map[string]NodeStatus{}
	var best *Preemption
	var bestKey victimsKey
	for _, node := range c.Nodes {
		st, failed := fit.Statuses[node.Name]
		if !failed || !st.Resolvable {
			statuses[node.Name] = NodeStatus{Reasons: []string{ReasonPreemptionNotHelpful}}
			continue
		}
		victims, st, ok := victimsOn(pod, req, node, c)
		if !ok {
			statuses[node.Name] = st
			continue
		}
		key := keyOf(node.Name, victims)
		if best == nil || key.less(bestKey) {
			best, bestKey = &Preemption{Node: node.Name, Victims: victims}, key
		}
	}
	if best != nil {
		return best, ""
	}
	msg := (&FitError{NumAllNodes: len(c.Nodes), Statuses: statuses}).Error()
	return nil, "preemption: " + msg
}

// victimsOn finds the fewest lower-priority pods on node whose removal lets
// pod fit, or the status saying why there are none.
func victimsOn(pod *corev1.Pod, req corev1.ResourceList, node *corev1.Node, c Cluster) ([]*corev1.Pod, NodeStatus, bool) {
	var keep, potential []*corev1.Pod
	for _, p := range c.PodsByNode[node.Name] {
		if priority(p) < priority(pod) && p.DeletionTimestamp == nil {
			potential = append(potential, p)
		} else {
			keep = append(keep, p)
		}
	}
	if len(potential) == 0 {
		return nil, NodeStatus{Reasons: []string{ReasonNoVictims}}, false
	}
	nominated := occupants(pod, node.Name, Cluster{NominatedByNode: c.NominatedByNode})
	fits := func(pods []*corev1.Pod) (NodeStatus, bool) {
		return filterNode(pod, req, node, append(append([]*corev1.Pod(nil), pods...), nominated...))
	}
	if st, ok := fits(keep); !ok {
		return nil, st, false
	}
	sort.SliceStable(potential, func(i, j int) bool { return moreImportant(potential[i], potential[j]) })
	var victims []*corev1.Pod
	for _, p := range potential {
		if _, ok := fits(append(append([]*corev1.Pod(nil), keep...), p)); ok {
			keep = append(keep, p)
			continue
		}
		victims = append(victims, p)
	}
	return victims, NodeStatus{}, true
}

// moreImportant orders pods as upstream reprieves them: higher priority
// first, then the older one, then by name for determinism.
func moreImportant(a, b *corev1.Pod) bool {
	if pa, pb := priority(a), priority(b); pa != pb {
		return pa > pb
	}
	if ta, tb := a.CreationTimestamp, b.CreationTimestamp; !ta.Equal(&tb) {
		return ta.Before(&tb)
	}
	return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
}

// victimsKey ranks a candidate node; smaller is better.
type victimsKey struct {
	highest int32
	count   int
	sum     int64
	node    string
}

func keyOf(node string, victims []*corev1.Pod) victimsKey {
	k := victimsKey{count: len(victims), node: node}
	for i, v := range victims {
		p := priority(v)
		if i == 0 || p > k.highest {
			k.highest = p
		}
		k.sum += int64(p)
	}
	return k
}

func (k victimsKey) less(o victimsKey) bool {
	if k.highest != o.highest {
		return k.highest < o.highest
	}
	if k.count != o.count {
		return k.count < o.count
	}
	if k.sum != o.sum {
		return k.sum < o.sum
	}
	return k.node < o.node
}

// String prints the plan for logs and tests.
func (p *Preemption) String() string {
	names := make([]string, 0, len(p.Victims))
	for _, v := range p.Victims {
		names = append(names, v.Namespace+"/"+v.Name)
	}
	return fmt.Sprintf("node %s, victims %v", p.Node, names)
}
